// `npm run eval` (issue 10): the online loop on generated impairment profiles, judged by PESQ and STOI
// against the offline best. A benchmark: it reports distributions, it asserts nothing.
import { hostname } from 'node:os';
import cliProgress from 'cli-progress';
import type { QualityJudge } from '../quality/index.ts';
import { generateProfile } from '../stations/sim/generate.ts';
import type { EvalArgs } from './args.ts';
import { type EvalOptions, evaluateProfile, type StationRecord } from './profile.ts';
import { type EvalSummary, summarize } from './summary.ts';

export interface EvalReport {
  started_at: string;
  machine: { host: string; node: string; cpus: number };
  args: Omit<EvalArgs, 'quiet'>;
  seconds: number;
  summary: EvalSummary;
  records: StationRecord[];
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
    ...extra,
  };
  const profiles = Array.from({ length: args.profiles }, (_, i) => generateProfile(args.seed, i));
  progress.start(profiles.reduce((a, p) => a + p.stations.length, 0));
  const records: StationRecord[] = [];
  for (const set of profiles) {
    records.push(
      ...(await evaluateProfile(set, judge, opts, (s) => progress.tick(`${set.name} station ${s}`))),
    );
  }
  progress.stop();
  const { quiet: _quiet, ...shown } = args;
  return {
    started_at: new Date(t0).toISOString(),
    machine: { host: hostname(), node: process.version, cpus: (await import('node:os')).cpus().length },
    args: shown,
    seconds: (Date.now() - t0) / 1000,
    summary: summarize(records),
    records,
  };
}
