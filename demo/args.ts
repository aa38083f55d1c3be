// Demo flags. Bad flags get a clear error naming the flag and exit code 2 (no partial run).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ArgError, intFlag, parseFlags } from '../lib/cli.ts';

export interface DemoArgs {
  impairments: string;
  calls: number;
  segments: number;
  seed: number;
  json: string | null;
  /** Offline search budget per station (evaluations). */
  searchBudget: number;
  quiet: boolean;
  /** Keep the API and the console serving after the run, until Ctrl-C. */
  serve: boolean;
}

export const DEFAULT_IMPAIRMENTS = join(import.meta.dirname, '..', 'stations', 'impairments', 'default.json');

export { ArgError };

const USAGE = `usage: npm run demo -- [--impairments FILE] [--calls N] [--segments N] [--seed S] [--json OUT] [--search-budget N] [--quiet] [--serve]
  --impairments FILE   impairment profiles (JSON, see stations/impairments/README.md); default: the demo's own
  --calls N            simulated calls, 1..50 (default 3)
  --segments N         segments (iterations) per call, 2..60 (default 8)
  --seed S             integer seed for speech, impairments and exploration (default 7)
  --json OUT           also write the summary as JSON to OUT
  --search-budget N    evaluations per station for the offline best-score search, 20..2000 (default 120)
  --quiet              no progress display, summary only
  --serve              keep the API and the console (its URL printed at the end) running until Ctrl-C`;

const int = (name: string, raw: string | undefined, def: number, min: number, max: number): number =>
  intFlag(name, raw, min, max) ?? def;

export function parseDemoArgs(argv: string[]): DemoArgs {
  const v = parseFlags(
    argv,
    {
      impairments: { type: 'string' },
      calls: { type: 'string' },
      segments: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'string' },
      'search-budget': { type: 'string' },
      quiet: { type: 'boolean' },
      serve: { type: 'boolean' },
    },
    USAGE,
  ) as Record<string, string | boolean | undefined>;
  const impairments = (v.impairments as string | undefined) ?? DEFAULT_IMPAIRMENTS;
  if (!existsSync(impairments)) throw new ArgError(`--impairments ${impairments}: no such file`);
  return {
    impairments,
    calls: int('calls', v.calls as string | undefined, 3, 1, 50),
    segments: int('segments', v.segments as string | undefined, 8, 2, 60),
    seed: int('seed', v.seed as string | undefined, 7, -(2 ** 31), 2 ** 31 - 1),
    json: (v.json as string | undefined) ?? null,
    searchBudget: int('search-budget', v['search-budget'] as string | undefined, 120, 20, 2000),
    quiet: Boolean(v.quiet),
    serve: Boolean(v.serve),
  };
}
