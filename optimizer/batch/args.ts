// Flags of `npm run batch`. They are turned into the same request body the HTTP API takes and checked
// by the same parseBatchRequest, so the two can never disagree; errors name the flag, not the field.
import { ArgError, parseFlags } from '../../lib/cli.ts';
import { VoiceloopError } from '../../lib/errors.ts';
import { type BatchRequest, DEFAULT_BUDGET, DEFAULT_MARGIN, parseBatchRequest } from './request.ts';

export { ArgError };

export const USAGE = `usage: npm run batch -- --from TIME --to TIME [--station N]... [--tenant T] [--budget N] [--margin P] [--seed S] [--json OUT] [--quiet]
  --from TIME     start of the replayed range: ISO 8601 (2025-01-31T12:00:00Z) or epoch milliseconds
  --to TIME       end of the range (exclusive), after --from, at most 7 days later
  --station N     learn for this station only; repeat or comma-separate for several (default: all in the range)
  --tenant T      tenant scope: that tenant's history and defaults (default: global, every tenant)
  --budget N      counterfactual evaluations per station and context, 6..200 (default ${DEFAULT_BUDGET})
  --margin P      score points a candidate must gain over the current defaults, 0..50 (default ${DEFAULT_MARGIN})
  --seed S        integer seed for sampling and the optimizer (default 1)
  --json OUT      also write the full result as JSON to OUT
  --quiet         no progress display, the summary only`;

const FLAG_OF: Record<string, string> = {
  from: '--from',
  to: '--to',
  'scope.tenant_id': '--tenant',
  'scope.station_ids': '--station',
  budget: '--budget',
  margin: '--margin',
  seed: '--seed',
};

function flagOf(field: string | undefined): string {
  if (!field) return 'arguments';
  const base = field.replace(/\[\d+\]$/, '');
  return FLAG_OF[base] ?? field;
}

export interface BatchArgs {
  request: BatchRequest;
  json: string | null;
  quiet: boolean;
}

function num(flag: string, raw: string | undefined, integer: boolean): number | undefined {
  if (raw === undefined) return undefined;
  const ok = integer ? /^-?\d+$/.test(raw) : /^-?\d+(\.\d+)?$/.test(raw);
  if (!ok) throw new ArgError(`${flag} must be ${integer ? 'an integer' : 'a number'}, got "${raw}"`);
  return Number(raw);
}

export function parseBatchArgs(argv: string[], now = Date.now()): BatchArgs {
  const v = parseFlags(
    argv,
    {
      from: { type: 'string' },
      to: { type: 'string' },
      station: { type: 'string', multiple: true },
      tenant: { type: 'string' },
      budget: { type: 'string' },
      margin: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'string' },
      quiet: { type: 'boolean' },
    },
    USAGE,
  ) as Record<string, string | string[] | boolean | undefined>;
  const time = (raw: string | undefined) => (raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : raw);
  const stations = (v.station as string[] | undefined)?.flatMap((s) => s.split(',')).map((s) => s.trim());
  const body: Record<string, unknown> = {
    from: time(v.from as string | undefined),
    to: time(v.to as string | undefined),
  };
  if (stations) {
    const bad = stations.find((s) => !/^\d+$/.test(s));
    if (bad !== undefined) throw new ArgError(`--station must be a station id (integer), got "${bad}"`);
  }
  if (v.tenant !== undefined || stations) {
    body.scope = {
      ...(v.tenant !== undefined ? { level: 'tenant', tenant_id: v.tenant } : { level: 'global' }),
      ...(stations ? { station_ids: stations.map(Number) } : {}),
    };
  }
  const budget = num('--budget', v.budget as string | undefined, true);
  const margin = num('--margin', v.margin as string | undefined, false);
  const seed = num('--seed', v.seed as string | undefined, true);
  if (budget !== undefined) body.budget = budget;
  if (margin !== undefined) body.margin = margin;
  if (seed !== undefined) body.seed = seed;
  let request: BatchRequest;
  try {
    request = parseBatchRequest(body, now);
  } catch (err) {
    if (!(err instanceof VoiceloopError)) throw err;
    const lines = err.details.map((d) => `${flagOf(d.field)}: ${d.reason}`);
    throw new ArgError(`${lines.join('\n')}\n${USAGE}`);
  }
  return { request, json: (v.json as string | undefined) ?? null, quiet: Boolean(v.quiet) };
}
