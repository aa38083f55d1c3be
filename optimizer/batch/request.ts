// What a batch run is asked to do, checked once for the HTTP API and the CLI alike: a time range of the
// snapshot topic, a scope (tenant or global, optionally some stations), and the learning budget. Pure.
// Every problem is reported at once, each naming its field, so a client fixes a request in one go.
import { loadCatalog, stationById } from '../../catalog/index.ts';
import { ID_RE } from '../../domain/snapshot.ts';
import { type ErrorDetail, validationError } from '../../lib/errors.ts';

export interface BatchScope {
  /** Batch runs propose tenant or global defaults; call scope is the online optimizer's. */
  readonly level: 'global' | 'tenant';
  readonly tenant_id: string | null;
  /** Stations to learn for; null = every station in the range. */
  readonly station_ids: readonly number[] | null;
}

export interface BatchRequest {
  /** Replay range on the snapshot topic's record timestamps, epoch ms, [from, to). */
  readonly from: number;
  readonly to: number;
  readonly scope: BatchScope;
  /** Counterfactual evaluations per (station, context) group. */
  readonly budget: number;
  /** Score points (0..100 scale) a candidate must gain over the current defaults to be kept. */
  readonly margin: number;
  readonly seed: number;
}

const DAY_MS = 86_400_000;
/**
 * Longest range one run replays: a week of history is plenty to learn defaults from, and the topic
 * keeps 14 days by default (SNAPSHOT_RETENTION_DAYS), so a longer range would silently read less.
 */
export const MAX_RANGE_MS = 7 * DAY_MS;
export const DEFAULT_BUDGET = 24;
export const BUDGET_RANGE = [6, 200] as const;
/** Two points on the 0..100 scorecard: above the segment-to-segment noise of a mean over a dozen segments. */
export const DEFAULT_MARGIN = 2;
export const MARGIN_RANGE = [0, 50] as const;
// A clock skew allowance: a `from` this far ahead of the server's clock is still accepted.
const FUTURE_SKEW_MS = 60_000;

const FIELDS = ['mode', 'from', 'to', 'scope', 'budget', 'margin', 'seed'] as const;
const SCOPE_FIELDS = ['level', 'tenant_id', 'station_ids'] as const;
const ISO_RE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A time as ISO 8601 text or epoch milliseconds; the reason when it is neither. */
export function parseTime(raw: unknown): { ok: true; ms: number } | { ok: false; reason: string } {
  if (typeof raw === 'number') {
    if (!Number.isInteger(raw) || raw < 0)
      return { ok: false, reason: `must be epoch milliseconds, got ${raw}` };
    return { ok: true, ms: raw };
  }
  if (typeof raw !== 'string')
    return {
      ok: false,
      reason: 'must be an ISO 8601 time (e.g. 2025-01-31T12:00:00Z) or epoch milliseconds',
    };
  const ms = ISO_RE.test(raw) ? Date.parse(raw) : Number.NaN;
  if (!Number.isFinite(ms))
    return { ok: false, reason: `"${raw}" is not an ISO 8601 time (e.g. 2025-01-31T12:00:00Z)` };
  return { ok: true, ms };
}

function int(
  out: ErrorDetail[],
  field: string,
  raw: unknown,
  def: number,
  [lo, hi]: readonly [number, number],
): number {
  if (raw === undefined) return def;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < lo || raw > hi) {
    out.push({ field, reason: `must be an integer in [${lo}, ${hi}], got ${JSON.stringify(raw)}` });
    return def;
  }
  return raw;
}

function parseScope(out: ErrorDetail[], raw: unknown): BatchScope {
  const global: BatchScope = { level: 'global', tenant_id: null, station_ids: null };
  if (raw === undefined) return global;
  if (!isObject(raw)) {
    out.push({ field: 'scope', reason: 'must be an object {level, tenant_id, station_ids}' });
    return global;
  }
  for (const k of Object.keys(raw)) {
    if (!(SCOPE_FIELDS as readonly string[]).includes(k))
      out.push({ field: `scope.${k}`, reason: `is not a scope field (allowed: ${SCOPE_FIELDS.join(', ')})` });
  }
  let tenant: string | null = null;
  if (raw.tenant_id !== undefined && raw.tenant_id !== null) {
    if (typeof raw.tenant_id !== 'string' || !ID_RE.test(raw.tenant_id))
      out.push({ field: 'scope.tenant_id', reason: 'must be 1-64 characters of A-Z a-z 0-9 . _ -' });
    else tenant = raw.tenant_id;
  }
  let level: BatchScope['level'] = tenant === null ? 'global' : 'tenant';
  if (raw.level !== undefined) {
    if (raw.level === 'call') {
      out.push({
        field: 'scope.level',
        reason: 'call scope is the online optimizer’s; a batch run proposes tenant or global defaults',
      });
    } else if (raw.level !== 'global' && raw.level !== 'tenant') {
      out.push({
        field: 'scope.level',
        reason: `must be "global" or "tenant", got ${JSON.stringify(raw.level)}`,
      });
    } else {
      level = raw.level;
      if (level === 'tenant' && tenant === null && raw.tenant_id === undefined)
        out.push({ field: 'scope.tenant_id', reason: 'is required for tenant scope' });
      if (level === 'global' && tenant !== null)
        out.push({ field: 'scope.tenant_id', reason: 'must be absent or null for global scope' });
    }
  }
  let stations: number[] | null = null;
  if (raw.station_ids !== undefined && raw.station_ids !== null) {
    const ids = raw.station_ids;
    if (!Array.isArray(ids) || ids.length === 0) {
      out.push({ field: 'scope.station_ids', reason: 'must be a non-empty array of station ids' });
    } else {
      stations = [];
      for (const [i, id] of ids.entries()) {
        if (typeof id !== 'number' || !Number.isInteger(id) || !stationById(id)) {
          out.push({
            field: `scope.station_ids[${i}]`,
            reason: `unknown station ${JSON.stringify(id)} (known: ${loadCatalog()
              .stations.map((s) => s.id)
              .join(', ')})`,
          });
        } else if (!stations.includes(id)) stations.push(id);
      }
      stations.sort((a, b) => a - b);
    }
  }
  return { level, tenant_id: level === 'tenant' ? tenant : null, station_ids: stations };
}

/** Checks a batch request body (`mode` may be present and must be "batch"); throws VALIDATION. */
export function parseBatchRequest(body: unknown, now = Date.now()): BatchRequest {
  const out: ErrorDetail[] = [];
  if (!isObject(body)) throw validationError('invalid batch request: the body must be a JSON object');
  for (const k of Object.keys(body)) {
    if (!(FIELDS as readonly string[]).includes(k))
      out.push({ field: k, reason: `is not a batch request field (allowed: ${FIELDS.join(', ')})` });
  }
  if (body.mode !== undefined && body.mode !== 'batch')
    out.push({ field: 'mode', reason: `must be "batch" here, got ${JSON.stringify(body.mode)}` });

  const times: Record<'from' | 'to', number | null> = { from: null, to: null };
  for (const f of ['from', 'to'] as const) {
    if (body[f] === undefined) {
      out.push({ field: f, reason: 'is required (ISO 8601 time or epoch milliseconds)' });
      continue;
    }
    const t = parseTime(body[f]);
    if (t.ok) times[f] = t.ms;
    else out.push({ field: f, reason: t.reason });
  }
  const { from, to } = times;
  if (from !== null && from > now + FUTURE_SKEW_MS)
    out.push({ field: 'from', reason: `${new Date(from).toISOString()} is in the future` });
  if (from !== null && to !== null) {
    if (to <= from) {
      out.push({
        field: 'to',
        reason: `must be after from (from ${new Date(from).toISOString()}, to ${new Date(to).toISOString()})`,
      });
    } else if (to - from > MAX_RANGE_MS) {
      out.push({
        field: 'to',
        reason: `the range of ${((to - from) / DAY_MS).toFixed(1)} days exceeds the ${MAX_RANGE_MS / DAY_MS}-day maximum`,
      });
    }
  }
  const scope = parseScope(out, body.scope);
  const budget = int(out, 'budget', body.budget, DEFAULT_BUDGET, BUDGET_RANGE);
  let margin = DEFAULT_MARGIN;
  if (body.margin !== undefined) {
    const m = body.margin;
    if (typeof m !== 'number' || !Number.isFinite(m) || m < MARGIN_RANGE[0] || m > MARGIN_RANGE[1])
      out.push({
        field: 'margin',
        reason: `must be a number in [${MARGIN_RANGE.join(', ')}], got ${JSON.stringify(m)}`,
      });
    else margin = m;
  }
  const seed = int(out, 'seed', body.seed, 1, [0, 2 ** 31 - 1]);
  if (out.length > 0) {
    throw validationError(
      `invalid batch request: ${out.map((d) => `${d.field} ${d.reason}`).join('; ')}`,
      out,
    );
  }
  return { from: from!, to: to!, scope, budget, margin, seed };
}
