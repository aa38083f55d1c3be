// The config table family (sql/0002): config_state (the record in effect per key), parameter_changes
// (the audit of every change, applied or rejected) and config_version_seq. Every statement on them
// that the change path runs lives here, named by what it does.
import type pg from 'pg';
import type { ConfigRecord, ParameterChange, Scope } from '../contracts/generated.ts';

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

export interface StateRow {
  config_key: string;
  station_id: number;
  scope_level: 'global' | 'tenant' | 'call';
  tenant_id: string | null;
  call_id: string | null;
  version: string;
  parameters: Record<string, number>;
  change_id: string;
  issued_at: Date;
  expires_at: Date | null;
  tombstoned_at: Date | null;
  last_change_at: Date;
}

export interface ChangeRow {
  change_id: string;
  actor: string;
  reason: string;
  rollback_of: string | null;
  station_id: number;
  scope_level: Scope['level'];
  tenant_id: string | null;
  call_id: string | null;
  status: ParameterChange['status'];
  before: Record<string, number>;
  after: Record<string, number>;
}

export function toRecord(r: StateRow): ConfigRecord {
  return {
    schema_version: 1,
    station_id: r.station_id,
    scope: { level: r.scope_level, tenant_id: r.tenant_id, call_id: r.call_id },
    version: Number(r.version),
    parameters: r.parameters,
    issued_at: r.issued_at.getTime(),
    expires_at: r.expires_at ? r.expires_at.getTime() : null,
    change_id: r.change_id,
  };
}

/** Serialises changes of one key across processes; the lock ends with the transaction. */
export async function lockKey(c: Queryable, stream: string, key: string): Promise<void> {
  await c.query("SELECT pg_advisory_xact_lock(hashtext('config:' || $1 || ':' || $2))", [stream, key]);
}

/** The key's state row (tombstoned or not), if it ever had a record. */
export async function stateOf(c: Queryable, stream: string, key: string): Promise<StateRow | undefined> {
  const { rows } = await c.query<StateRow>(
    'SELECT * FROM config_state WHERE stream = $1 AND config_key = $2',
    [stream, key],
  );
  return rows[0];
}

/** The live (not tombstoned) records at these keys. */
export async function liveRecords(q: Queryable, stream: string, keys: string[]): Promise<ConfigRecord[]> {
  const { rows } = await q.query<StateRow>(
    'SELECT * FROM config_state WHERE stream = $1 AND config_key = ANY($2::text[]) AND tombstoned_at IS NULL',
    [stream, keys],
  );
  return rows.map(toRecord);
}

export async function nextVersion(c: Queryable): Promise<number> {
  const { rows } = await c.query<{ v: string }>("SELECT nextval('config_version_seq')::text AS v");
  return Number(rows[0]!.v);
}

export async function insertChange(
  c: Queryable,
  stream: string,
  change: ParameterChange,
  expiresAt: number | null,
): Promise<void> {
  await c.query(
    `INSERT INTO parameter_changes (change_id, stream, actor, scope_level, tenant_id, call_id, station_id, before, after,
       reason, ttl_ms, expires_at, status, rollback_of, config_version, run_id, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
    [
      change.change_id,
      stream,
      change.actor,
      change.scope.level,
      change.scope.tenant_id,
      change.scope.call_id,
      change.station_id,
      JSON.stringify(change.before),
      JSON.stringify(change.after),
      change.reason,
      change.ttl_ms,
      expiresAt ? new Date(expiresAt) : null,
      change.status,
      change.rollback_of,
      change.config_version,
      change.run_id,
      new Date(change.created_at),
    ],
  );
}

/** The record now in effect at its key (a new key, or a newer version that also lifts any tombstone). */
export async function putState(
  c: Queryable,
  stream: string,
  key: string,
  record: ConfigRecord,
): Promise<void> {
  await c.query(
    `INSERT INTO config_state (stream, config_key, station_id, scope_level, tenant_id, call_id, version, parameters,
       change_id, issued_at, expires_at, tombstoned_at, last_change_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, $10)
     ON CONFLICT (stream, config_key) DO UPDATE SET version = EXCLUDED.version, parameters = EXCLUDED.parameters,
       change_id = EXCLUDED.change_id, issued_at = EXCLUDED.issued_at, expires_at = EXCLUDED.expires_at,
       tombstoned_at = NULL, last_change_at = EXCLUDED.last_change_at`,
    [
      stream,
      key,
      record.station_id,
      record.scope.level,
      record.scope.tenant_id,
      record.scope.call_id,
      record.version,
      JSON.stringify(record.parameters),
      record.change_id,
      new Date(record.issued_at),
      record.expires_at ? new Date(record.expires_at) : null,
    ],
  );
}

export async function markRolledBack(c: Queryable, changeId: string): Promise<void> {
  await c.query("UPDATE parameter_changes SET status = 'rolled_back' WHERE change_id = $1", [changeId]);
}

/** A change by id (any stream: ids are UUIDs). */
export async function changeById(c: Queryable, changeId: string): Promise<ChangeRow | undefined> {
  const { rows } = await c.query<ChangeRow>('SELECT * FROM parameter_changes WHERE change_id = $1', [
    changeId,
  ]);
  return rows[0];
}

/** A change by id, locked for the caller's transaction. */
export async function changeForUpdate(
  c: Queryable,
  stream: string,
  changeId: string,
): Promise<ChangeRow | undefined> {
  const { rows } = await c.query<ChangeRow>(
    'SELECT * FROM parameter_changes WHERE stream = $1 AND change_id = $2 FOR UPDATE',
    [stream, changeId],
  );
  return rows[0];
}

/** The change that produced a given version at a station and scope. */
export async function changeOfVersion(
  c: Queryable,
  stream: string,
  stationId: number,
  scope: Scope,
  version: number,
): Promise<ChangeRow | undefined> {
  const { rows } = await c.query<ChangeRow>(
    `SELECT * FROM parameter_changes WHERE stream = $1 AND station_id = $2 AND scope_level = $3
       AND tenant_id IS NOT DISTINCT FROM $4 AND call_id IS NOT DISTINCT FROM $5 AND config_version = $6`,
    [stream, stationId, scope.level, scope.tenant_id, scope.call_id, version],
  );
  return rows[0];
}

/** Tombstones every record whose TTL has ended; returns their keys. */
export async function tombstoneExpired(c: Queryable, stream: string, now: number): Promise<string[]> {
  const { rows } = await c.query<{ config_key: string }>(
    `UPDATE config_state SET tombstoned_at = now()
      WHERE stream = $1 AND tombstoned_at IS NULL AND expires_at IS NOT NULL AND expires_at <= $2
      RETURNING config_key`,
    [stream, new Date(now)],
  );
  return rows.map((r) => r.config_key);
}

// Multi-row forms for the online optimizer's decision batches (issue 11): one statement for many keys.

/** Locks several keys in one statement, in a fixed order (two lockers of overlapping keys never deadlock). */
export async function lockKeys(c: Queryable, stream: string, keys: string[]): Promise<void> {
  const sorted = [...new Set(keys)].sort();
  await c.query(
    `SELECT pg_advisory_xact_lock(hashtext('config:' || $1 || ':' || k))
       FROM unnest($2::text[]) WITH ORDINALITY AS t(k, n) ORDER BY n`,
    [stream, sorted],
  );
}

/** The state rows (tombstoned or not) of these keys. */
export async function statesOf(q: Queryable, stream: string, keys: string[]): Promise<StateRow[]> {
  const { rows } = await q.query<StateRow>(
    'SELECT * FROM config_state WHERE stream = $1 AND config_key = ANY($2::text[])',
    [stream, keys],
  );
  return rows;
}

/** Every live record of the stream (the online optimizer's view at start). */
export async function allLiveRecords(q: Queryable, stream: string): Promise<ConfigRecord[]> {
  const { rows } = await q.query<StateRow>(
    'SELECT * FROM config_state WHERE stream = $1 AND tombstoned_at IS NULL',
    [stream],
  );
  return rows.map(toRecord);
}

export async function nextVersions(c: Queryable, n: number): Promise<number[]> {
  if (n === 0) return [];
  const { rows } = await c.query<{ v: string }>(
    "SELECT nextval('config_version_seq')::text AS v FROM generate_series(1, $1)",
    [n],
  );
  return rows.map((r) => Number(r.v)).sort((a, b) => a - b);
}

/** Several changes of the audit log in one statement. */
export async function insertChanges(
  c: Queryable,
  stream: string,
  changes: { change: ParameterChange; expiresAt: number | null }[],
): Promise<void> {
  if (changes.length === 0) return;
  const rows = changes.map(({ change, expiresAt }) => ({
    change_id: change.change_id,
    actor: change.actor,
    scope_level: change.scope.level,
    tenant_id: change.scope.tenant_id,
    call_id: change.scope.call_id,
    station_id: change.station_id,
    before: change.before,
    after: change.after,
    reason: change.reason,
    ttl_ms: change.ttl_ms,
    expires_at: expiresAt ? new Date(expiresAt).toISOString() : null,
    status: change.status,
    rollback_of: change.rollback_of,
    config_version: change.config_version,
    run_id: change.run_id,
    created_at: new Date(change.created_at).toISOString(),
  }));
  await c.query(
    `INSERT INTO parameter_changes (change_id, stream, actor, scope_level, tenant_id, call_id, station_id, before, after,
       reason, ttl_ms, expires_at, status, rollback_of, config_version, run_id, created_at)
     SELECT r.change_id, $1, r.actor, r.scope_level, r.tenant_id, r.call_id, r.station_id, r.before, r.after,
            r.reason, r.ttl_ms, r.expires_at, r.status, r.rollback_of, r.config_version, r.run_id, r.created_at
       FROM jsonb_to_recordset($2::jsonb) AS r(change_id text, actor text, scope_level text, tenant_id text,
            call_id text, station_id integer, before jsonb, after jsonb, reason text, ttl_ms bigint,
            expires_at timestamptz, status text, rollback_of text, config_version bigint, run_id text,
            created_at timestamptz)`,
    [stream, JSON.stringify(rows)],
  );
}

/** The records now in effect at several keys (as putState, one statement; each key once). */
export async function putStates(
  c: Queryable,
  stream: string,
  entries: { key: string; record: ConfigRecord }[],
): Promise<void> {
  if (entries.length === 0) return;
  const rows = entries.map(({ key, record }) => ({
    config_key: key,
    station_id: record.station_id,
    scope_level: record.scope.level,
    tenant_id: record.scope.tenant_id,
    call_id: record.scope.call_id,
    version: record.version,
    parameters: record.parameters,
    change_id: record.change_id,
    issued_at: new Date(record.issued_at).toISOString(),
    expires_at: record.expires_at ? new Date(record.expires_at).toISOString() : null,
  }));
  await c.query(
    `INSERT INTO config_state (stream, config_key, station_id, scope_level, tenant_id, call_id, version, parameters,
       change_id, issued_at, expires_at, tombstoned_at, last_change_at)
     SELECT $1, r.config_key, r.station_id, r.scope_level, r.tenant_id, r.call_id, r.version, r.parameters,
            r.change_id, r.issued_at, r.expires_at, NULL, r.issued_at
       FROM jsonb_to_recordset($2::jsonb) AS r(config_key text, station_id integer, scope_level text,
            tenant_id text, call_id text, version bigint, parameters jsonb, change_id text,
            issued_at timestamptz, expires_at timestamptz)
     ON CONFLICT (stream, config_key) DO UPDATE SET version = EXCLUDED.version, parameters = EXCLUDED.parameters,
       change_id = EXCLUDED.change_id, issued_at = EXCLUDED.issued_at, expires_at = EXCLUDED.expires_at,
       tombstoned_at = NULL, last_change_at = EXCLUDED.last_change_at`,
    [stream, JSON.stringify(rows)],
  );
}

export async function markRolledBackMany(c: Queryable, changeIds: string[]): Promise<void> {
  if (changeIds.length === 0) return;
  await c.query("UPDATE parameter_changes SET status = 'rolled_back' WHERE change_id = ANY($1::text[])", [
    changeIds,
  ]);
}
