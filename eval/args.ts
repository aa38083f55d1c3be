// `npm run eval` flags. A bad flag is an ArgError naming it (exit 2, nothing run).
import { availableParallelism } from 'node:os';
import { WARMUP_SEGMENTS } from '../demo/offline.ts';
import { ArgError, intFlag, parseFlags } from '../lib/cli.ts';

export interface EvalArgs {
  profiles: number;
  calls: number;
  segments: number;
  seed: number;
  json: string | null;
  searchBudget: number;
  randomSets: number;
  /** The last segments of each call the yardstick judges (score, PESQ, STOI), after a warm-up. */
  judgedSegments: number;
  /** Run the batch-priors comparison: learn each tenant's best region first, then rerun from it. */
  priors: boolean;
  /** Worker threads computing profiles (pool.ts); 1 computes them on the main thread. */
  workers: number;
  quiet: boolean;
}

export { ArgError };

/** The default worker count (pool.ts): one per core the process may use. */
export const defaultWorkers = (): number => availableParallelism();

/**
 * The eval's judged stretch: the last 5 segments (5 s) of each call, fewer on a call too short to
 * leave WARMUP_SEGMENTS before them, never fewer than 2. PESQ over 2 s (the demo's stretch) misranks
 * differences of a few hundredths (three seed-9 drops of 0.2-0.34 over 2 s were 0.00-0.02 over 5 s).
 */
export const EVAL_JUDGED_SEGMENTS = 5;

export const defaultJudgedSegments = (segments: number): number =>
  Math.max(2, Math.min(EVAL_JUDGED_SEGMENTS, segments - WARMUP_SEGMENTS));

const USAGE = `usage: npm run eval -- [--profiles N] [--calls N] [--segments N] [--seed S] [--json OUT] [--search-budget N] [--random-sets N] [--judged-segments N] [--priors] [--workers N] [--quiet]
  --profiles N         generated impairment profiles, 1..500 (default 20)
  --calls N            calls per profile, 1..20 (default 2)
  --segments N         segments (iterations) per call, 4..60 (default 8)
  --seed S             integer seed of the profile generator, speech and exploration (default 1)
  --json OUT           also write every station's record and the summary as JSON to OUT
  --search-budget N    evaluations per station for the offline best-score search, 20..2000 (default 80)
  --random-sets N      random catalog sets per station judged for score vs PESQ, 0..20 (default 4)
  --judged-segments N  the last N segments of each call the yardstick re-runs and judges (score, PESQ,
                       STOI), after a warm-up; 1..--segments (default 5, or --segments - 3 when
                       that is fewer, at least 2)
  --priors             also run new calls of each profile's tenant with the batch optimizer's learned region:
                       served from the defaults, and starting one safe step toward its centre (promoted)
  --workers N          worker threads computing profiles, 1..64 (default: one per core, ${defaultWorkers()}
                       here); the records are the same whatever the count, 1 runs on the main thread
  --quiet              no progress bar, summary only`;

export function parseEvalArgs(argv: string[]): EvalArgs {
  const v = parseFlags(
    argv,
    {
      profiles: { type: 'string' },
      calls: { type: 'string' },
      segments: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'string' },
      'search-budget': { type: 'string' },
      'random-sets': { type: 'string' },
      'judged-segments': { type: 'string' },
      priors: { type: 'boolean' },
      workers: { type: 'string' },
      quiet: { type: 'boolean' },
    },
    USAGE,
  ) as Record<string, string | boolean | undefined>;
  const int = (name: string, def: number, min: number, max: number) =>
    intFlag(name, v[name] as string | undefined, min, max) ?? def;
  const segments = int('segments', 8, 4, 60);
  const judged = int('judged-segments', defaultJudgedSegments(segments), 1, 60);
  if (judged > segments)
    throw new ArgError(`--judged-segments must be at most --segments (${segments}), got ${judged}`);
  return {
    profiles: int('profiles', 20, 1, 500),
    calls: int('calls', 2, 1, 20),
    segments,
    seed: int('seed', 1, -(2 ** 31), 2 ** 31 - 1),
    json: (v['json'] as string | undefined) ?? null,
    searchBudget: int('search-budget', 80, 20, 2000),
    randomSets: int('random-sets', 4, 0, 20),
    judgedSegments: judged,
    priors: Boolean(v['priors']),
    workers: int('workers', defaultWorkers(), 1, 64),
    quiet: Boolean(v['quiet']),
  };
}
