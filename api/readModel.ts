// The read API's arithmetic (issue 12), without I/O: scores of persisted snapshots, the parameters in
// effect at a segment, which verdict judged which change, score distributions and where along the
// path quality is lost. The routes load rows through storage/*Reads.ts and hand them here.
import { defaultsForStation, loadCatalog, stationById } from '../catalog/index.ts';
import type { StationSnapshot } from '../contracts/generated.ts';
import { validationError } from '../lib/errors.ts';
import { scoreSnapshot } from '../optimizer/core/scorecard.ts';

/** A snapshot's blind scorecard score (what production sees: the metrics, no ground truth). */
export function scoreOf(s: StationSnapshot) {
  const sc = scoreSnapshot(s);
  return {
    score: round(sc.score),
    components: sc.components.map((c) => ({ name: c.name, score: round(c.score, 3), detail: c.detail })),
  };
}

export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function mean(xs: readonly number[]): number | null {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

// ---------------------------------------------------------------------------------------------------
// Cursors: opaque to clients, base64url JSON of the last row's sort key.

export function encodeCursor(key: readonly string[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** The sort key in a cursor; a cursor that is not one of ours is a 400 naming the field. */
export function decodeCursor(raw: string | undefined, parts: number): string[] | null {
  if (raw === undefined) return null;
  try {
    const v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === parts && v.every((x) => typeof x === 'string' && x.length < 200))
      return v as string[];
  } catch {
    // reported below
  }
  throw validationError('cursor is not a cursor this API returned', [
    { field: 'cursor', reason: 'pass the next_cursor of a previous page unchanged' },
  ]);
}

// ---------------------------------------------------------------------------------------------------
// Query-string numbers (the API does not coerce types: a query value arrives as a string).

export function intParam(raw: string | undefined, field: string, min: number, max: number, dflt: number) {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!/^-?[0-9]+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max)
    throw validationError(`${field} must be an integer from ${min} to ${max} (got "${raw}")`, [
      { field, reason: `must be an integer from ${min} to ${max}` },
    ]);
  return n;
}

export function numberParam(raw: string | undefined, field: string, min: number, max: number) {
  if (raw === undefined) return null;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max)
    throw validationError(`${field} must be a number from ${min} to ${max} (got "${raw}")`, [
      { field, reason: `must be a number from ${min} to ${max}` },
    ]);
  return n;
}

const MAX_TIME = Date.UTC(9999, 11, 31);

export function timeParam(raw: string | undefined, field: string): Date | null {
  if (raw === undefined) return null;
  const t = Date.parse(raw);
  // PostgreSQL's and JavaScript's calendars agree from 1970 on; earlier is no date this system has seen.
  if (!/^\d{4}-\d{2}-\d{2}T/.test(raw) || !Number.isFinite(t) || t < 0 || t > MAX_TIME)
    throw validationError(
      `${field} must be an ISO 8601 date-time such as 2026-12-02T10:00:00Z (got "${raw}")`,
      [{ field, reason: 'must be an ISO 8601 date-time' }],
    );
  return new Date(t);
}

export function stationParam(raw: string | undefined, field = 'station_id'): number | null {
  if (raw === undefined) return null;
  const id = intParam(raw, field, 0, 2_147_483_647, 0);
  if (!stationById(id))
    throw validationError(`${field}: unknown station ${id}`, [
      {
        field,
        reason: `unknown station; known: ${loadCatalog()
          .stations.map((s) => s.id)
          .join(', ')}`,
      },
    ]);
  return id;
}

// ---------------------------------------------------------------------------------------------------
// Parameters in effect at a segment.

/** An applied (or later rolled back) change at one of the scopes that reach a call. */
export interface VersionedChange {
  station_id: number;
  scope_level: 'global' | 'tenant' | 'call';
  config_version: number;
  after: Record<string, number>;
}

/**
 * The set a snapshot ran with: the agent stamps the highest config version in effect
 * (applied_config_version); per scope, the newest change at or below it is the record the agent held,
 * layered catalog defaults < global < tenant < call as the agent does (config/view.ts). TTL expiry is
 * not replayed: a record that had expired by then still counts.
 */
export function paramsAtVersion(
  stationId: number,
  version: number,
  changes: readonly VersionedChange[],
): Record<string, number> {
  const params = stationById(stationId) ? defaultsForStation(stationId) : {};
  for (const level of ['global', 'tenant', 'call'] as const) {
    let best: VersionedChange | null = null;
    for (const c of changes) {
      if (c.station_id !== stationId || c.scope_level !== level || c.config_version > version) continue;
      if (!best || c.config_version > best.config_version) best = c;
    }
    if (best) Object.assign(params, best.after);
  }
  return params;
}

// ---------------------------------------------------------------------------------------------------
// Judgements: which verdict judged which change.

export interface ChangeAt {
  change_id: string;
  station_id: number;
  created_at: number;
  run_id: string | null;
}

export interface VerdictRun {
  run_id: string;
  station_id: number;
  at: number;
  verdict: { kind: string; before: number; after: number; detail: string };
}

/**
 * The controller judges the change in effect at its station on the snapshots that run it and records
 * the verdict on its next run; a run that also makes a change (a rollback, the next step) judged the
 * change before it. So a verdict belongs to the newest change of its station made before the run, not
 * counting the change the run itself made. The last verdict wins (a first look that waits for a second
 * snapshot is replaced by the confirmed one).
 */
export function assignVerdicts(
  changes: readonly ChangeAt[],
  runs: readonly VerdictRun[],
): Map<string, VerdictRun> {
  const out = new Map<string, VerdictRun>();
  const byStation = new Map<number, ChangeAt[]>();
  for (const c of changes) {
    const list = byStation.get(c.station_id) ?? [];
    list.push(c);
    byStation.set(c.station_id, list);
  }
  for (const list of byStation.values()) list.sort((a, b) => a.created_at - b.created_at);
  for (const r of [...runs].sort((a, b) => a.at - b.at)) {
    const list = byStation.get(r.station_id) ?? [];
    let judged: ChangeAt | undefined;
    for (const c of list) {
      if (c.run_id === r.run_id) break;
      if (c.created_at <= r.at) judged = c;
      else break;
    }
    if (judged) out.set(judged.change_id, r);
  }
  return out;
}

export function actorKind(actor: string): 'user' | 'optimizer' | 'experiment' | 'other' {
  if (actor.startsWith('user:')) return 'user';
  if (actor.startsWith('optimizer:')) return 'optimizer';
  if (actor.startsWith('ab:')) return 'experiment';
  return 'other';
}

/** The parameters a change moved, with their old and new values. */
export function changedParams(before: Record<string, number>, after: Record<string, number>) {
  return Object.keys(after)
    .filter((k) => Math.abs((before[k] ?? Number.NaN) - (after[k] ?? 0)) > 1e-9 || !(k in before))
    .map((name) => ({ name, before: before[name] ?? null, after: after[name] ?? null }));
}

// ---------------------------------------------------------------------------------------------------
// Station figures over a window.

export interface Scored {
  station_id: number;
  tenant_id: string;
  call_id: string;
  at: number;
  score: number;
  components: { name: string; score: number }[];
}

export const HISTOGRAM_BINS = 10;

export function distribution(scores: readonly number[]) {
  const bins = Array.from({ length: HISTOGRAM_BINS }, (_, i) => ({
    from: (i * 100) / HISTOGRAM_BINS,
    to: ((i + 1) * 100) / HISTOGRAM_BINS,
    count: 0,
  }));
  for (const s of scores) bins[Math.min(HISTOGRAM_BINS - 1, Math.max(0, Math.floor(s / 10)))]!.count++;
  const sorted = [...scores].sort((a, b) => a - b);
  const q = (p: number) =>
    sorted.length ? round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!) : null;
  const m = mean(scores);
  return {
    count: scores.length,
    mean: m === null ? null : round(m),
    p10: q(0.1),
    p50: q(0.5),
    p90: q(0.9),
    min: sorted.length ? round(sorted[0]!) : null,
    max: sorted.length ? round(sorted[sorted.length - 1]!) : null,
    histogram: bins,
  };
}

/** The mean score in `buckets` equal slices of [from, to): the trend line (null where no snapshot). */
export function trend(scored: readonly Scored[], from: number, to: number, buckets: number) {
  const width = (to - from) / buckets;
  const sums = new Array<number>(buckets).fill(0);
  const counts = new Array<number>(buckets).fill(0);
  for (const s of scored) {
    const i = Math.floor((s.at - from) / width);
    if (i < 0 || i >= buckets) continue;
    sums[i]! += s.score;
    counts[i]!++;
  }
  return sums.map((sum, i) => ({
    at: new Date(from + i * width).toISOString(),
    score: counts[i] ? round(sum / counts[i]!) : null,
  }));
}

/** The lowest-scoring calls at a station over the window (mean of each call's snapshots there). */
export function worstCalls(scored: readonly Scored[], n: number) {
  const byCall = new Map<string, { tenant_id: string; call_id: string; scores: number[] }>();
  for (const s of scored) {
    const k = `${s.tenant_id}/${s.call_id}`;
    const e = byCall.get(k) ?? { tenant_id: s.tenant_id, call_id: s.call_id, scores: [] };
    e.scores.push(s.score);
    byCall.set(k, e);
  }
  return [...byCall.values()]
    .map((e) => ({
      tenant_id: e.tenant_id,
      call_id: e.call_id,
      score: round(mean(e.scores)!),
      snapshots: e.scores.length,
    }))
    .sort((a, b) => a.score - b.score)
    .slice(0, n);
}

/** Mean loss (weighted points off 100 is the scorecard's; here 1 - component score) per component. */
export function componentLosses(scored: readonly Scored[]) {
  const acc = new Map<string, number[]>();
  for (const s of scored)
    for (const c of s.components) {
      const list = acc.get(c.name) ?? [];
      list.push(1 - c.score);
      acc.set(c.name, list);
    }
  return [...acc.entries()]
    .map(([name, l]) => ({ name, mean_loss: round(mean(l)!, 3) }))
    .sort((a, b) => b.mean_loss - a.mean_loss);
}

export interface StationMean {
  station_id: number;
  mean: number | null;
}

/**
 * Where along the path quality is lost. Each station's loss is what its score falls short of 100; its
 * share is that loss over the pipeline's total. Its drop is the fall from the station before it on
 * its leg (A: 1 -> 2 -> 3 -> 4, B: 9 -> 10; 11 takes the A leg from 2 beside 3), null for the first of a leg.
 */
export function pathLoss(means: readonly StationMean[]) {
  const known = means.filter((m): m is { station_id: number; mean: number } => m.mean !== null);
  const total = known.reduce((a, m) => a + (100 - m.mean), 0);
  const byId = new Map(known.map((m) => [m.station_id, m.mean]));
  const out = means.map((m) => {
    const prev = PREVIOUS[m.station_id];
    const prevMean = prev === undefined ? undefined : byId.get(prev);
    return {
      station_id: m.station_id,
      loss: m.mean === null ? null : round(100 - m.mean),
      loss_share: m.mean === null || total <= 0 ? null : round((100 - m.mean) / total, 3),
      input_station_id: prev ?? null,
      drop_from_input: m.mean === null || prevMean === undefined ? null : round(prevMean - m.mean),
    };
  });
  const drops = out.filter((o) => o.drop_from_input !== null);
  const worst = drops.sort((a, b) => b.drop_from_input! - a.drop_from_input!)[0];
  return {
    stations: out,
    largest_drop_station_id: worst && worst.drop_from_input! > 0 ? worst.station_id : null,
  };
}

/** The station feeding each one on the path (DESIGN §2); the first of each leg has none. */
export const PREVIOUS: Readonly<Record<number, number>> = { 2: 1, 3: 2, 4: 3, 11: 2, 10: 9 };
