// The statements of retention and erasure (sql/0010_retention.sql): what the maintenance role deletes, counted first
// for a dry run, and the tables that record sweeps, the object-deletion journal, tenant retention and
// the admin audit. Every delete here is one statement or one transaction: a killed sweep leaves each
// unit either done or untouched.
import type pg from 'pg';
import { advisoryUnlock, tryAdvisoryLock } from './leaderLock.ts';

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

export interface TaskOutcome {
  task: string;
  count: number;
  ms: number;
  /** A few of the things counted (keys, partition names), for the dry run's listing. */
  sample?: string[];
  error?: string;
}

// ---- sweeps -------------------------------------------------------------------------------------

/** Sweeps left 'running' by a process that died: marked interrupted (only the lock holder calls this). */
export async function markInterrupted(c: Queryable): Promise<number> {
  const r = await c.query(
    `UPDATE maintenance_sweeps SET status = 'interrupted', finished_at = clock_timestamp()
      WHERE status = 'running'`,
  );
  return r.rowCount ?? 0;
}

export async function beginSweep(c: Queryable, clockAt: number, dryRun: boolean): Promise<string> {
  const r = await c.query<{ id: string }>(
    `INSERT INTO maintenance_sweeps (clock_at, status, dry_run) VALUES (to_timestamp($1::float8 / 1000), 'running', $2)
     RETURNING id::text`,
    [clockAt, dryRun],
  );
  return r.rows[0]!.id;
}

/** Records a task's outcome as soon as it ends, so an interrupted sweep still says what it did. */
export async function recordTask(c: Queryable, id: string, t: TaskOutcome): Promise<void> {
  const { sample: _omit, ...entry } = t;
  await c.query('UPDATE maintenance_sweeps SET tasks = tasks || $2::jsonb WHERE id = $1::bigint', [
    id,
    JSON.stringify([entry]),
  ]);
}

export async function endSweep(
  c: Queryable,
  id: string,
  status: 'completed' | 'failed' | 'interrupted',
  error: string | null,
): Promise<void> {
  await c.query(
    `UPDATE maintenance_sweeps SET status = $2, error = $3, finished_at = clock_timestamp() WHERE id = $1::bigint`,
    [id, status, error],
  );
}

export interface SweepRow {
  id: string;
  clock_at: Date;
  started_at: Date;
  finished_at: Date | null;
  status: string;
  dry_run: boolean;
  tasks: Omit<TaskOutcome, 'sample'>[];
  error: string | null;
}

export async function recentSweeps(c: Queryable, limit = 20): Promise<SweepRow[]> {
  const r = await c.query<SweepRow>(
    'SELECT id::text, clock_at, started_at, finished_at, status, dry_run, tasks, error FROM maintenance_sweeps ORDER BY id DESC LIMIT $1',
    [limit],
  );
  return r.rows;
}

/** Session advisory lock: one maintenance leader per database (partitions and the bucket are shared). */
export const MAINTENANCE_LOCK = 'voiceloop:maintenance';

export function tryLeadMaintenance(c: Queryable): Promise<boolean> {
  return tryAdvisoryLock(c, MAINTENANCE_LOCK);
}

export function stepDownMaintenance(c: Queryable): Promise<void> {
  return advisoryUnlock(c, MAINTENANCE_LOCK);
}

// ---- snapshot partitions ------------------------------------------------------------------------

export async function snapshotPartitions(c: Queryable): Promise<string[]> {
  const r = await c.query<{ name: string }>(
    `SELECT ch.relname AS name FROM pg_inherits i
       JOIN pg_class ch ON ch.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
      WHERE p.relname = 'station_snapshots' ORDER BY ch.relname`,
  );
  return r.rows.map((x) => x.name);
}

/**
 * Drops one day's partition and that day's idempotency keys in one transaction (the name comes from
 * snapshotPartitions and was checked by maintenance/plan.ts; it is quoted anyway).
 */
export async function dropPartition(
  c: pg.PoolClient,
  name: string,
  fromMs: number,
  toMs: number,
): Promise<void> {
  await c.query('BEGIN');
  try {
    await c.query(
      `DELETE FROM snapshot_keys WHERE captured_at >= to_timestamp($1::float8 / 1000) AND captured_at < to_timestamp($2::float8 / 1000)`,
      [fromMs, toMs],
    );
    await c.query(`DROP TABLE IF EXISTS "${name.replace(/"/g, '')}"`);
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** Rows of the default partition (a day nobody made ahead) older than the cutoff. */
export async function countDefaultOlder(c: Queryable, cutoffMs: number): Promise<number> {
  const r = await c.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM station_snapshots_default WHERE captured_at < to_timestamp($1::float8 / 1000)',
    [cutoffMs],
  );
  return r.rows[0]!.n;
}

export async function deleteDefaultOlder(c: Queryable, cutoffMs: number): Promise<number> {
  const r = await c.query(
    `WITH gone AS (DELETE FROM station_snapshots_default WHERE captured_at < to_timestamp($1::float8 / 1000)
                   RETURNING tenant_id, snapshot_id)
     DELETE FROM snapshot_keys k USING gone WHERE k.tenant_id = gone.tenant_id AND k.snapshot_id = gone.snapshot_id`,
    [cutoffMs],
  );
  return r.rowCount ?? 0;
}

// ---- per-tenant retention -----------------------------------------------------------------------

export interface TenantRetention {
  tenant_id: string;
  snapshot_days: number | null;
  audio_days: number | null;
  updated_by: string;
  updated_at: Date;
}

export async function tenantRetentions(c: Queryable): Promise<TenantRetention[]> {
  const r = await c.query<TenantRetention>('SELECT * FROM tenant_retention ORDER BY tenant_id');
  return r.rows;
}

export async function getTenantRetention(c: Queryable, tenant: string): Promise<TenantRetention | undefined> {
  const r = await c.query<TenantRetention>('SELECT * FROM tenant_retention WHERE tenant_id = $1', [tenant]);
  return r.rows[0];
}

export async function putTenantRetention(
  c: Queryable,
  tenant: string,
  v: { snapshot_days: number | null; audio_days: number | null },
  actor: string,
): Promise<TenantRetention> {
  const r = await c.query<TenantRetention>(
    `INSERT INTO tenant_retention (tenant_id, snapshot_days, audio_days, updated_by) VALUES ($1, $2, $3, $4)
     ON CONFLICT (tenant_id) DO UPDATE SET snapshot_days = $2, audio_days = $3, updated_by = $4, updated_at = now()
     RETURNING *`,
    [tenant, v.snapshot_days, v.audio_days, actor],
  );
  return r.rows[0]!;
}

/** A tenant's snapshot rows (and their idempotency keys) older than its own cutoff. */
export async function tenantSnapshotsOlder(
  c: Queryable,
  tenant: string,
  cutoffMs: number,
  dryRun: boolean,
): Promise<number> {
  if (dryRun) {
    const r = await c.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM station_snapshots WHERE tenant_id = $1 AND captured_at < to_timestamp($2::float8 / 1000)',
      [tenant, cutoffMs],
    );
    return r.rows[0]!.n;
  }
  const r = await c.query<{ n: number }>(
    `WITH gone AS (DELETE FROM station_snapshots WHERE tenant_id = $1 AND captured_at < to_timestamp($2::float8 / 1000)
                   RETURNING snapshot_id),
          keys AS (DELETE FROM snapshot_keys k USING gone WHERE k.tenant_id = $1 AND k.snapshot_id = gone.snapshot_id)
     SELECT count(*)::int AS n FROM gone`,
    [tenant, cutoffMs],
  );
  return r.rows[0]!.n;
}

// ---- calls --------------------------------------------------------------------------------------

/**
 * Calls last seen before their cutoff (the tenant's own where `tenantCutoffs` has one) that no kept
 * snapshot row refers to any more, with their channels and segments, in one statement. Returns how many
 * calls went (or would go, dry).
 */
export async function oldCalls(
  c: Queryable,
  cutoffMs: number,
  tenantCutoffs: Map<string, number>,
  dryRun: boolean,
  limit = 1000,
  keptFromMs = 0,
): Promise<number> {
  // A dry run deleted no snapshot yet: only rows the sweep keeps (from keptFromMs, or the tenant's cutoff) count.
  const pick = `SELECT c.tenant_id, c.call_id FROM calls c
      LEFT JOIN unnest($2::text[], $3::float8[]) AS tr(tenant_id, cutoff_ms) ON tr.tenant_id = c.tenant_id
     WHERE c.last_seen_at < to_timestamp(COALESCE(tr.cutoff_ms, $1::float8) / 1000)
       AND NOT EXISTS (SELECT 1 FROM station_snapshots s WHERE s.tenant_id = c.tenant_id AND s.call_id = c.call_id
                         AND s.captured_at >= to_timestamp(COALESCE(tr.cutoff_ms, $5::float8) / 1000))
     LIMIT $4`;
  const args = [
    cutoffMs,
    [...tenantCutoffs.keys()],
    [...tenantCutoffs.values()],
    limit,
    dryRun ? keptFromMs : 0,
  ];
  if (dryRun) {
    const r = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${pick}) x`, args);
    return r.rows[0]!.n;
  }
  const r = await c.query<{ n: number }>(
    `WITH pick AS (${pick}),
          seg AS (DELETE FROM segments s USING pick WHERE s.tenant_id = pick.tenant_id AND s.call_id = pick.call_id),
          ch AS (DELETE FROM channels h USING pick WHERE h.tenant_id = pick.tenant_id AND h.call_id = pick.call_id),
          gone AS (DELETE FROM calls k USING pick WHERE k.tenant_id = pick.tenant_id AND k.call_id = pick.call_id RETURNING 1)
     SELECT count(*)::int AS n FROM gone`,
    args,
  );
  return r.rows[0]!.n;
}

// ---- outbox, config state, runs, observations ---------------------------------------------------

async function countOrDelete(c: Queryable, from: string, where: string, args: unknown[], dryRun: boolean) {
  const sql = dryRun
    ? `SELECT count(*)::int AS n FROM ${from} WHERE ${where}`
    : `WITH gone AS (DELETE FROM ${from} WHERE ${where} RETURNING 1) SELECT count(*)::int AS n FROM gone`;
  const r = await c.query<{ n: number }>(sql, args);
  return r.rows[0]!.n;
}

/** Outbox rows published before the cutoff (pending and set-aside rows always stay). */
export function publishedOutbox(c: Queryable, cutoffMs: number, dryRun: boolean): Promise<number> {
  return countOrDelete(
    c,
    'outbox',
    'published_at IS NOT NULL AND published_at < to_timestamp($1::float8 / 1000)',
    [cutoffMs],
    dryRun,
  );
}

/**
 * Call-scoped config keys tombstoned before the cutoff whose tombstone has left the outbox: the topic
 * has forgotten them, so the table may too (versions come from one sequence, so a later record at the
 * same key still gets a higher version).
 */
export function expiredCallConfig(c: Queryable, cutoffMs: number, dryRun: boolean): Promise<number> {
  return countOrDelete(
    c,
    'config_state cs',
    `cs.scope_level = 'call' AND cs.tombstoned_at IS NOT NULL AND cs.tombstoned_at < to_timestamp($1::float8 / 1000)
     AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.stream = cs.stream AND o.message_key = cs.config_key
                      AND o.topic_role = 'config' AND o.published_at IS NULL AND o.set_aside_at IS NULL)`,
    [cutoffMs],
    dryRun,
  );
}

/**
 * Finished optimizer runs older than the cutoff that no parameter change or experiment refers to (the
 * audit keeps its evidence); their batch observations go with them (ON DELETE CASCADE).
 */
export function oldRuns(c: Queryable, cutoffMs: number, dryRun: boolean): Promise<number> {
  return countOrDelete(
    c,
    'optimizer_runs r',
    `r.status <> 'running' AND COALESCE(r.finished_at, r.started_at) < to_timestamp($1::float8 / 1000)
     AND NOT EXISTS (SELECT 1 FROM parameter_changes pc WHERE pc.run_id = r.run_id)
     AND NOT EXISTS (SELECT 1 FROM ab_experiments e WHERE e.experiment_id = r.run_id)`,
    [cutoffMs],
    dryRun,
  );
}

export function oldObservations(c: Queryable, cutoffMs: number, dryRun: boolean): Promise<number> {
  return countOrDelete(
    c,
    'batch_observations',
    'created_at < to_timestamp($1::float8 / 1000)',
    [cutoffMs],
    dryRun,
  );
}

/**
 * Webhook deliveries that ended before the cutoff (delivered then, or abandoned after their last attempt
 * then) with their attempts, in one statement; pending deliveries always stay, with their attempts.
 */
export async function finishedWebhookDeliveries(
  c: Queryable,
  cutoffMs: number,
  dryRun: boolean,
): Promise<{ deliveries: number; attempts: number }> {
  const ended = `d.state <> 'pending' AND COALESCE(d.delivered_at,
       (SELECT max(wa.at) FROM webhook_attempts wa WHERE wa.delivery_id = d.id), d.created_at)
     < to_timestamp($1::float8 / 1000)`;
  const sql = dryRun
    ? `SELECT count(*)::int AS deliveries,
              (SELECT count(*) FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
                WHERE ${ended})::int AS attempts
         FROM webhook_deliveries d WHERE ${ended}`
    : `WITH doomed AS (SELECT d.id FROM webhook_deliveries d WHERE ${ended}),
            attempts AS (DELETE FROM webhook_attempts a USING doomed WHERE a.delivery_id = doomed.id RETURNING 1),
            gone AS (DELETE FROM webhook_deliveries d USING doomed WHERE d.id = doomed.id RETURNING 1)
       SELECT (SELECT count(*) FROM gone)::int AS deliveries, (SELECT count(*) FROM attempts)::int AS attempts`;
  const r = await c.query<{ deliveries: number; attempts: number }>(sql, [cutoffMs]);
  return r.rows[0]!;
}

// ---- audio objects ------------------------------------------------------------------------------

/**
 * The keys among `keys` a snapshot row refers to. With `keptFrom` (a dry run, where nothing was deleted
 * yet), only rows the sweep would keep count: captured at or after the tenant's or the global bound.
 */
export async function referencedKeys(
  c: Queryable,
  keys: string[],
  keptFrom?: KeptFrom,
): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const r = keptFrom
    ? await c.query<{ k: string }>(
        `SELECT DISTINCT s.audio_key AS k FROM station_snapshots s
           LEFT JOIN unnest($3::text[], $4::float8[]) AS tr(tenant_id, cutoff_ms) ON tr.tenant_id = s.tenant_id
          WHERE s.audio_key = ANY($1::text[]) AND s.captured_at >= to_timestamp(COALESCE(tr.cutoff_ms, $2::float8) / 1000)`,
        [keys, keptFrom.globalMs, [...keptFrom.tenants.keys()], [...keptFrom.tenants.values()]],
      )
    : await c.query<{ k: string }>(
        'SELECT DISTINCT audio_key AS k FROM station_snapshots WHERE audio_key = ANY($1::text[])',
        [keys],
      );
  return new Set(r.rows.map((x) => x.k));
}

/** From when snapshot rows survive a sweep: the global bound (a whole day) and tenants' own cutoffs. */
export interface KeptFrom {
  globalMs: number;
  tenants: Map<string, number>;
}

/** Adds keys to the deletion journal (inside the caller's transaction when it has one). */
export async function journalObjects(
  c: Queryable,
  keys: string[],
  reason: 'audio_retention' | 'erasure',
): Promise<void> {
  if (keys.length === 0) return;
  await c.query(
    `INSERT INTO object_deletions (object_key, reason) SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING`,
    [keys, reason],
  );
}

/** Journalled deletions, oldest first: the first `limit`, or those among `keys`. */
export async function journalled(
  c: Queryable,
  limit: number,
  keys?: string[],
): Promise<{ object_key: string; reason: 'audio_retention' | 'erasure' }[]> {
  const r = keys
    ? await c.query<{ object_key: string; reason: 'audio_retention' | 'erasure' }>(
        'SELECT object_key, reason FROM object_deletions WHERE object_key = ANY($1::text[]) ORDER BY queued_at, object_key',
        [keys],
      )
    : await c.query<{ object_key: string; reason: 'audio_retention' | 'erasure' }>(
        'SELECT object_key, reason FROM object_deletions ORDER BY queued_at, object_key LIMIT $1',
        [limit],
      );
  return r.rows;
}

export async function unjournal(c: Queryable, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  await c.query('DELETE FROM object_deletions WHERE object_key = ANY($1::text[])', [keys]);
}

// ---- admin audit --------------------------------------------------------------------------------

export interface AuditEntry {
  actor: string;
  action: string;
  tenant_id: string | null;
  subject: string | null;
  details: object;
}

export async function audit(c: Queryable, e: AuditEntry): Promise<string> {
  const r = await c.query<{ id: string }>(
    `INSERT INTO admin_audit (actor, action, tenant_id, subject, details) VALUES ($1, $2, $3, $4, $5)
     RETURNING id::text`,
    [e.actor, e.action, e.tenant_id, e.subject, JSON.stringify(e.details)],
  );
  return r.rows[0]!.id;
}

export async function auditOf(c: Queryable, tenant: string, limit = 50) {
  const r = await c.query<AuditEntry & { id: string; at: Date }>(
    'SELECT id::text, at, actor, action, tenant_id, subject, details FROM admin_audit WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2',
    [tenant, limit],
  );
  return r.rows;
}
