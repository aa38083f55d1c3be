// `npm run eval` (issue 10): the online loop on generated impairment profiles, judged by PESQ and STOI
// against the offline best. A benchmark: it reports distributions, it asserts nothing.
import { hostname } from 'node:os';
import cliProgress from 'cli-progress';
import { defaultsForStation, parametersForStation } from '../catalog/index.ts';
import { type LearnedRegion, regionStart } from '../optimizer/core/prior.ts';
import type { QualityJudge } from '../quality/index.ts';
import { generateProfile } from '../stations/sim/generate.ts';
import { type ImpairmentSet, type SpeechSourceInfo, speechSourceInfo } from '../stations/sim/index.ts';
import type { EvalArgs } from './args.ts';
import type { LoopStart } from './loop.ts';
import { type EvalOptions, evaluateProfile, type StationRecord } from './profile.ts';
import { type EvalSummary, type PriorsArm, priorsArm, summarize } from './summary.ts';

export interface PriorsComparison {
  /** New calls of the same tenants, from the catalog defaults with and without the learned region. */
  without: PriorsArm;
  with: PriorsArm;
  /**
   * The same calls starting one safe step toward the region's centre (the batch's proposal promoted as
   * the tenant's config through an A/B experiment: regionStart), with the region served as in `with`.
   */
  started: PriorsArm;
}

export interface EvalReport {
  started_at: string;
  machine: { host: string; node: string; cpus: number };
  /** What the simulator spoke: a run on synthetic speech or without espeak-ng is not comparable. */
  speech: SpeechSourceInfo;
  args: Omit<EvalArgs, 'quiet'>;
  seconds: number;
  summary: EvalSummary;
  records: StationRecord[];
  priors: PriorsComparison | null;
}

export interface EvalProgress {
  start(total: number): void;
  tick(label: string): void;
  stop(): void;
}

export function createEvalProgress(quiet: boolean): EvalProgress {
  if (quiet) return { start() {}, tick() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      format:
        ' eval {bar} {value}/{total} stations | {label} | {duration_formatted} elapsed, ETA {eta_formatted}',
      barsize: 30,
      hideCursor: true,
      // Not a TTY (CI logs): a line now and then instead of redraws.
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 10_000,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    start: (total) => bar.start(total, 0, { label: '-' }),
    tick: (label) => bar.increment(1, { label }),
    stop: () => bar.stop(),
  };
}

export async function runEval(
  args: EvalArgs,
  judge: QualityJudge,
  progress: EvalProgress,
  extra: Pick<EvalOptions, 'start'> = {},
): Promise<EvalReport> {
  const t0 = Date.now();
  const opts: EvalOptions = {
    calls: args.calls,
    segments: args.segments,
    seed: args.seed,
    searchBudget: args.searchBudget,
    randomSets: args.randomSets,
    judgedSegments: args.judgedSegments,
    ...extra,
  };
  const profiles = Array.from({ length: args.profiles }, (_, i) => generateProfile(args.seed, i));
  const perPass = profiles.reduce((a, p) => a + p.stations.length, 0);
  progress.start(args.priors ? 4 * perPass : perPass);
  const records: StationRecord[] = [];
  for (const set of profiles) {
    records.push(
      ...(await evaluateProfile(set, judge, opts, (s) => progress.tick(`${set.name} station ${s}`))),
    );
  }
  let priors: PriorsComparison | null = null;
  if (args.priors) {
    priors = await priorsPass(profiles, records, judge, opts, progress);
  }
  progress.stop();
  const { quiet: _quiet, ...shown } = args;
  return {
    started_at: new Date(t0).toISOString(),
    machine: { host: hostname(), node: process.version, cpus: (await import('node:os')).cpus().length },
    speech: speechSourceInfo(),
    args: shown,
    seconds: (Date.now() - t0) / 1000,
    summary: summarize(records),
    records,
    priors,
  };
}

/**
 * What the batch optimizer would have learned for each tenant and station — here the offline search's
 * best on the first pass's audio, with half a max step of radius — served to new calls of the same
 * tenants, against the same new calls without it.
 */
async function priorsPass(
  profiles: ImpairmentSet[],
  seen: StationRecord[],
  judge: QualityJudge,
  opts: EvalOptions,
  progress: EvalProgress,
): Promise<PriorsComparison> {
  const regions = new Map<string, LearnedRegion>();
  for (const r of seen) {
    const radius = Object.fromEntries(
      parametersForStation(r.station_id).map((p) => [p.name, p.max_step / 2]),
    );
    regions.set(`${r.tenant}|${r.station_id}`, { version: 1, params: r.best_params, radius });
  }
  const later: EvalOptions = { ...opts, firstCall: opts.calls, randomSets: 0 };
  const without: StationRecord[] = [];
  const primed: StationRecord[] = [];
  const started: StationRecord[] = [];
  // The region served to the controller, the call starting on the defaults or on the promoted step.
  const startFrom =
    (promoted: boolean) =>
    (s: number, t: string): LoopStart => {
      const prior = regions.get(`${t}|${s}`);
      const params = defaultsForStation(s);
      if (!prior) return { params };
      return { params: promoted ? regionStart(prior, parametersForStation(s), params) : params, prior };
    };
  for (const set of profiles) {
    const tick = (s: number) => progress.tick(`${set.name} station ${s} (new calls)`);
    without.push(...(await evaluateProfile(set, judge, later, tick)));
    primed.push(...(await evaluateProfile(set, judge, { ...later, start: startFrom(false) }, tick)));
    started.push(...(await evaluateProfile(set, judge, { ...later, start: startFrom(true) }, tick)));
  }
  return {
    without: priorsArm(summarize(without)),
    with: priorsArm(summarize(primed)),
    started: priorsArm(summarize(started)),
  };
}
