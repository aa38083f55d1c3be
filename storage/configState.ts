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
