// PostgreSQL access of the A/B experiments: ab_experiments, ab_calls (sql/0004_experiments.sql) and the
// experiment's run in optimizer_runs. Row shapes in, domain values out; no decisions here.
import type { Scope, StationSnapshot } from '../../contracts/generated.ts';
import type { Pool, PoolClient } from '../../storage/db.ts';
import * as runs from '../../storage/runs.ts';
import { type SnapshotDbRow, snapshotFromRow } from '../../storage/snapshots.ts';
import type { Arm } from './assign.ts';
import type { ExperimentDesign } from './design.ts';

export type ExperimentStatus =
  | 'running'
  | 'promoted'
  | 'not_promoted'
  | 'rolled_back'
  | 'no_verdict'
  | 'stopped';

export interface Experiment {
  id: string;
  stream: string;
  stationId: number;
  scope: Scope;
  status: ExperimentStatus;
  control: Record<string, number>;
  controlVersion: number;
  treatment: Record<string, number>;
  salt: string;
  design: ExperimentDesign;
  callTtlMs: number | null;
  createdBy: string;
  reason: string;
  startedAt: Date;
  endedAt: Date | null;
}

interface ExperimentRow {
  experiment_id: string;
  stream: string;
  station_id: number;
  scope_level: 'global' | 'tenant';
  tenant_id: string | null;
  status: ExperimentStatus;
  control: Record<string, number>;
  control_version: string;
  treatment: Record<string, number>;
  salt: string;
  design: ExperimentDesign;
  call_ttl_ms: string | null;
  created_by: string;
  reason: string;
  started_at: Date;
  ended_at: Date | null;
}

function toExperiment(r: ExperimentRow): Experiment {
  return {
    id: r.experiment_id,
    stream: r.stream,
    stationId: r.station_id,
    scope: { level: r.scope_level, tenant_id: r.tenant_id, call_id: null },
    status: r.status,
    control: r.control,
    controlVersion: Number(r.control_version),
    treatment: r.treatment,
    salt: r.salt,
    design: r.design,
    callTtlMs: r.call_ttl_ms === null ? null : Number(r.call_ttl_ms),
    createdBy: r.created_by,
    reason: r.reason,
    startedAt: r.started_at,
    endedAt: r.ended_at,
  };
}

type Q = Pool | PoolClient;

export async function loadExperiment(
  q: Q,
  stream: string,
  id: string,
  lock: '' | 'FOR UPDATE' | 'FOR SHARE' = '',
): Promise<Experiment | null> {
  const { rows } = await q.query<ExperimentRow>(
    `SELECT * FROM ab_experiments WHERE stream = $1 AND experiment_id = $2 ${lock}`,
    [stream, id],
  );
  return rows[0] ? toExperiment(rows[0]) : null;
}

export async function runningExperiments(q: Q, stream: string, stationId?: number): Promise<Experiment[]> {
  const { rows } = await q.query<ExperimentRow>(
    `SELECT * FROM ab_experiments WHERE stream = $1 AND status = 'running' AND ($2::int IS NULL OR station_id = $2)
      ORDER BY started_at`,
    [stream, stationId ?? null],
  );
  return rows.map(toExperiment);
}

export async function insertExperiment(c: PoolClient, e: Experiment, request: unknown): Promise<void> {
  await runs.insertRunningRun(c, {
    runId: e.id,
    stream: e.stream,
    mode: 'experiment',
    scope: e.scope,
    stationId: e.stationId,
    requestedBy: e.createdBy,
    request,
    progress: { phase: 'enrolling', arms: emptyCounts(), looks: [] },
    analysis: `A/B experiment started: ${e.reason}`,
    startedAt: e.startedAt,
  });
  await c.query(
    `INSERT INTO ab_experiments (experiment_id, stream, station_id, scope_level, tenant_id, status, control,
       control_version, treatment, salt, design, call_ttl_ms, created_by, reason, started_at)
     VALUES ($1, $2, $3, $4, $5, 'running', $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    [
      e.id,
      e.stream,
      e.stationId,
      e.scope.level,
      e.scope.tenant_id,
      JSON.stringify(e.control),
      e.controlVersion,
      JSON.stringify(e.treatment),
      e.salt,
      JSON.stringify(e.design),
      e.callTtlMs,
      e.createdBy,
      e.reason,
      e.startedAt,
    ],
  );
}

export interface ArmCounts {
  enrolled: number;
  scored: number;
  excluded: number;
}

export function emptyCounts(): Record<Arm, ArmCounts> {
  return {
    control: { enrolled: 0, scored: 0, excluded: 0 },
    treatment: { enrolled: 0, scored: 0, excluded: 0 },
  };
}

export async function armCounts(q: Q, id: string): Promise<Record<Arm, ArmCounts>> {
  const { rows } = await q.query<{ arm: Arm; status: keyof ArmCounts; n: number }>(
    'SELECT arm, status, count(*)::int AS n FROM ab_calls WHERE experiment_id = $1 GROUP BY arm, status',
    [id],
  );
  const out = emptyCounts();
  for (const r of rows) out[r.arm][r.status] = r.n;
  return out;
}

export interface PendingCall {
  call_id: string;
  tenant_id: string;
  arm: Arm;
  enrolled_segment: number;
  config_version: string | null;
}

/** Enrolled calls not yet scored, in enrollment order. */
export async function pendingCalls(c: PoolClient, id: string, limit = 5000): Promise<PendingCall[]> {
  const { rows } = await c.query<PendingCall>(
    `SELECT call_id, tenant_id, arm, enrolled_segment, config_version FROM ab_calls
      WHERE experiment_id = $1 AND status = 'enrolled' ORDER BY enrolled_at, call_id LIMIT $2`,
    [id, limit],
  );
  return rows;
}

const SNAPSHOT_COLUMNS = `s.snapshot_id, s.captured_at, s.tenant_id, s.call_id, s.channel, s.segment_index,
  s.station_id, s.schema_version, s.applied_config_version, s.metrics, s.audio, s.constraints, s.targets, s.codec, s.labels`;

/**
 * The snapshots that count for pending calls: at the experiment's station, after the enrolling
 * segment, and for a treatment call only those that ran the treatment's config version or later.
 */
export async function armSnapshots(
  c: PoolClient,
  stationId: number,
  since: Date,
  calls: readonly PendingCall[],
): Promise<Map<string, StationSnapshot[]>> {
  const out = new Map<string, StationSnapshot[]>(); // by callKey(tenant, call)
  if (calls.length === 0) return out;
  const { rows } = await c.query<SnapshotDbRow>(
    `SELECT ${SNAPSHOT_COLUMNS} FROM station_snapshots s
       JOIN unnest($2::text[], $3::text[], $4::int[], $5::bigint[]) AS p(call_id, tenant_id, seg, ver)
         ON s.call_id = p.call_id AND s.tenant_id = p.tenant_id
      WHERE s.station_id = $1 AND s.captured_at >= $6 AND s.segment_index > p.seg
        AND (p.ver IS NULL OR s.applied_config_version >= p.ver)`,
    [
      stationId,
      calls.map((x) => x.call_id),
      calls.map((x) => x.tenant_id),
      calls.map((x) => x.enrolled_segment),
      calls.map((x) => (x.arm === 'treatment' ? x.config_version : null)),
      since,
    ],
  );
  for (const r of rows) {
    const key = callKey(r.tenant_id, r.call_id);
    const list = out.get(key);
    const s = snapshotFromRow(r);
    if (list) list.push(s);
    else out.set(key, [s]);
  }
  return out;
}

/** A call is known by its tenant and id together: two tenants may use the same call id. */
export const callKey = (tenant: string, callId: string) => `${tenant}\u0000${callId}`;

/** Snapshots by (tenant, snapshot id): snapshot ids are unique per tenant only. */
export async function snapshotsById(
  q: Q,
  ids: readonly { tenant_id: string; snapshot_id: string }[],
): Promise<StationSnapshot[]> {
  if (ids.length === 0) return [];
  const { rows } = await q.query<SnapshotDbRow>(
    `SELECT ${SNAPSHOT_COLUMNS} FROM station_snapshots s
       JOIN unnest($1::text[], $2::text[]) AS p(tenant_id, snapshot_id)
         ON s.tenant_id = p.tenant_id AND s.snapshot_id = p.snapshot_id`,
    [ids.map((x) => x.tenant_id), ids.map((x) => x.snapshot_id)],
  );
  return rows.map(snapshotFromRow);
}

export async function markScored(
  c: PoolClient,
  id: string,
  call: CallRef,
  score: number,
  snapshotIds: string[],
): Promise<void> {
  await c.query(
    `UPDATE ab_calls SET status = 'scored', score = $4, snapshot_ids = $5, observation_seq = nextval('ab_observation_seq'),
       scored_at = now() WHERE experiment_id = $1 AND tenant_id = $2 AND call_id = $3 AND status = 'enrolled'`,
    [id, call.tenant_id, call.call_id, score, snapshotIds],
  );
}

/** Calls that never produced enough segments within the call TTL: they ended too short to count. */
export async function excludeStale(
  c: PoolClient,
  id: string,
  ttlMs: number,
  segments: number,
): Promise<number> {
  const res = await c.query(
    `UPDATE ab_calls SET status = 'excluded',
        excluded_reason = 'fewer than ' || $3::int || ' segment(s) after enrollment within the call TTL'
      WHERE experiment_id = $1 AND status = 'enrolled' AND enrolled_at < now() - ($2::bigint * interval '1 millisecond')`,
    [id, ttlMs, segments],
  );
  return res.rowCount ?? 0;
}

/** A call of an experiment: tenant and call id (ab_calls is keyed by both, sql/0009). */
export interface CallRef {
  tenant_id: string;
  call_id: string;
}

export interface Observation {
  tenant_id: string;
  call_id: string;
  arm: Arm;
  score: number;
  snapshot_ids: string[];
}

/** Scored observations of both arms, each in the order they were scored. */
export async function observations(q: Q, id: string): Promise<Record<Arm, Observation[]>> {
  const { rows } = await q.query<Observation>(
    `SELECT tenant_id, call_id, arm, score, snapshot_ids FROM ab_calls
      WHERE experiment_id = $1 AND status = 'scored' ORDER BY observation_seq`,
    [id],
  );
  return {
    control: rows.filter((r) => r.arm === 'control'),
    treatment: rows.filter((r) => r.arm === 'treatment'),
  };
}

export async function updateProgress(q: Q, id: string, progress: unknown): Promise<void> {
  await runs.saveProgress(q, id, progress);
}

export async function finishExperiment(
  c: PoolClient,
  id: string,
  status: ExperimentStatus,
  run: {
    status: 'completed' | 'stopped';
    verdict: unknown;
    scorecard: unknown;
    newParameters: unknown;
    analysis: string;
    nextIteration: unknown;
    progress: unknown;
  },
): Promise<void> {
  await c.query(`UPDATE ab_experiments SET status = $2, ended_at = now() WHERE experiment_id = $1`, [
    id,
    status,
  ]);
  await runs.finishRun(c, id, run);
}

export interface TreatmentChange {
  call_id: string;
  tenant_id: string;
  change_id: string;
  before: Record<string, number>;
  /** The change in effect at the call's key now (null: none). */
  current_change: string | null;
  expires_at: Date | null;
  tombstoned_at: Date | null;
}

/** The applied treatment changes of an experiment's calls, with what is in effect at each call now. */
export async function treatmentChanges(
  c: Q,
  experimentId: string,
  stream: string,
  stationId: number,
): Promise<TreatmentChange[]> {
  const { rows } = await c.query<TreatmentChange>(
    `SELECT a.call_id, a.tenant_id, a.change_id, pc.before, cs.change_id AS current_change, cs.expires_at, cs.tombstoned_at
       FROM ab_calls a JOIN parameter_changes pc ON pc.change_id = a.change_id
       LEFT JOIN config_state cs ON cs.stream = $2 AND cs.config_key = $3 || '/call/' || a.tenant_id || '/' || a.call_id
      WHERE a.experiment_id = $1 AND a.arm = 'treatment' AND pc.status = 'applied'
      ORDER BY a.enrolled_at`,
    [experimentId, stream, String(stationId)],
  );
  return rows;
}

/** One creation at a time per station, so an overlap check cannot race. */
export async function lockCreation(c: Q, stream: string, stationId: number): Promise<void> {
  await c.query("SELECT pg_advisory_xact_lock(hashtext('ab:create:' || $1 || ':' || $2))", [
    stream,
    stationId,
  ]);
}

export async function lockEnrollment(c: Q, experimentId: string, call: CallRef): Promise<void> {
  await c.query("SELECT pg_advisory_xact_lock(hashtext('ab:enroll:' || $1 || ':' || $2 || ':' || $3))", [
    experimentId,
    call.tenant_id,
    call.call_id,
  ]);
}

/** One evaluation at a time per experiment: false when another holds it. */
export async function tryLockEvaluation(c: Q, experimentId: string): Promise<boolean> {
  const r = await c.query<{ ok: boolean }>(
    "SELECT pg_try_advisory_xact_lock(hashtext('ab:eval:' || $1)) AS ok",
    [experimentId],
  );
  return r.rows[0]?.ok === true;
}

export async function isEnrolled(c: Q, experimentId: string, call: CallRef): Promise<boolean> {
  const r = await c.query(
    'SELECT 1 FROM ab_calls WHERE experiment_id = $1 AND tenant_id = $2 AND call_id = $3',
    [experimentId, call.tenant_id, call.call_id],
  );
  return (r.rowCount ?? 0) > 0;
}

export async function insertCall(
  c: Q,
  e: {
    experimentId: string;
    snap: Pick<StationSnapshot, 'call_id' | 'tenant_id' | 'segment'>;
    arm: Arm;
    bucket: number;
    status: 'enrolled' | 'excluded';
    reason: string | null;
  },
): Promise<void> {
  await c.query(
    `INSERT INTO ab_calls (experiment_id, call_id, tenant_id, arm, bucket, enrolled_segment, status, excluded_reason)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      e.experimentId,
      e.snap.call_id,
      e.snap.tenant_id,
      e.arm,
      e.bucket,
      e.snap.segment.index,
      e.status,
      e.reason,
    ],
  );
}

export async function setCallChange(
  c: Q,
  experimentId: string,
  call: CallRef,
  changeId: string,
  version: number | null,
): Promise<void> {
  await c.query(
    'UPDATE ab_calls SET change_id = $4, config_version = $5 WHERE experiment_id = $1 AND tenant_id = $2 AND call_id = $3',
    [experimentId, call.tenant_id, call.call_id, changeId, version],
  );
}

export async function excludeCall(
  c: Q,
  experimentId: string,
  call: CallRef,
  reason: string,
  changeId: string,
): Promise<void> {
  await c.query(
    `UPDATE ab_calls SET status = 'excluded', excluded_reason = $4, change_id = $5
      WHERE experiment_id = $1 AND tenant_id = $2 AND call_id = $3`,
    [experimentId, call.tenant_id, call.call_id, reason, changeId],
  );
}

export interface ExperimentRunRow {
  run_id: string;
  mode: string;
  status: string;
  analysis: string | null;
  new_parameters: unknown;
  progress: unknown;
  verdict: unknown;
}

/** The experiment's row in optimizer_runs (its verdict, progress and analysis). */
export async function experimentRun(c: Q, experimentId: string): Promise<ExperimentRunRow | undefined> {
  const { rows } = await c.query<ExperimentRunRow>(
    'SELECT run_id, mode, status, analysis, new_parameters, progress, verdict FROM optimizer_runs WHERE run_id = $1',
    [experimentId],
  );
  return rows[0];
}
