// `npm run eval` (issue 10): the online loop on generated impairment profiles, judged by PESQ and STOI
// against the offline best. A benchmark: it reports distributions, it asserts nothing.
import { hostname } from 'node:os';
import cliProgress from 'cli-progress';
import { parametersForStation } from '../catalog/index.ts';
import type { LearnedRegion } from '../optimizer/core/prior.ts';
import type { QualityJudge } from '../quality/index.ts';
import { generateProfile } from '../stations/sim/generate.ts';
import { type SpeechSourceInfo, speechSourceInfo } from '../stations/sim/index.ts';
import type { EvalArgs } from './args.ts';
import { type ProfileJob, runJobs, type StartSpec } from './pool.ts';
import type { StationRecord } from './profile.ts';
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
): Promise<EvalReport> {
  const t0 = Date.now();
  const plain: ProfileJob['opts'] = {
    calls: args.calls,
    segments: args.segments,
    seed: args.seed,
    searchBudget: args.searchBudget,
    randomSets: args.randomSets,
    judgedSegments: args.judgedSegments,
  };
  const profiles = Array.from({ length: args.profiles }, (_, i) => generateProfile(args.seed, i));
  const perPass = profiles.reduce((a, p) => a + p.stations.length, 0);
  progress.start(args.priors ? 4 * perPass : perPass);
  const workers = Math.min(args.workers, args.profiles);
  const jobs = (o: ProfileJob['opts'], start: StartSpec | null): ProfileJob[] =>
    profiles.map((_, index) => ({ seed: args.seed, index, opts: o, start }));
  const tick = (suffix: string) => (label: string) => progress.tick(`${label}${suffix}`);
  const records = (await runJobs(jobs(plain, null), workers, judge, tick(''))).flat();
  let priors: PriorsComparison | null = null;
  if (args.priors) {
    priors = await priorsPass(records, plain, (o, start) =>
      runJobs(jobs(o, start), workers, judge, tick(' (new calls)')),
    );
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
  seen: StationRecord[],
  opts: ProfileJob['opts'],
  run: (o: ProfileJob['opts'], start: StartSpec | null) => Promise<StationRecord[][]>,
): Promise<PriorsComparison> {
  const regions: [string, LearnedRegion][] = seen.map((r) => [
    `${r.tenant}|${r.station_id}`,
    {
      version: 1,
      params: r.best_params,
      radius: Object.fromEntries(parametersForStation(r.station_id).map((p) => [p.name, p.max_step / 2])),
    },
  ]);
  const later = { ...opts, firstCall: opts.calls, randomSets: 0 };
  // The region served to the controller, the call starting on the defaults or on the promoted step.
  const without = (await run(later, null)).flat();
  const primed = (await run(later, { regions, promoted: false })).flat();
  const started = (await run(later, { regions, promoted: true })).flat();
  return {
    without: priorsArm(summarize(without)),
    with: priorsArm(summarize(primed)),
    started: priorsArm(summarize(started)),
  };
}
