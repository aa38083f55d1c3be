// Reads of parameter_changes and the verdicts recorded on optimizer_runs, for the read API's audit log,
// a call's timeline and the live feed (issue 12). Scoped by the deployment's stream and by tenant.
import type pg from 'pg';

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

export interface ChangeReadRow {
  change_id: string;
  actor: string;
  scope_level: 'global' | 'tenant' | 'call';
  tenant_id: string | null;
  call_id: string | null;
  station_id: number;
  before: Record<string, number>;
  after: Record<string, number>;
  reason: string;
  ttl_ms: string | null;
  expires_at: Date | null;
  status: 'applied' | 'rejected' | 'rolled_back';
  rollback_of: string | null;
  config_version: string | null;
  run_id: string | null;
  created_at: Date;
  /** created_at exact to the microsecond, for cursors. */
  created_key: string;
  /** The change that rolled this one back, if any. */
  rolled_back_by: string | null;
}

const CHANGE_SELECT = `SELECT p.*, p.created_at::text AS created_key,
    (SELECT r.change_id FROM parameter_changes r WHERE r.stream = p.stream AND r.rollback_of = p.change_id
      ORDER BY r.created_at LIMIT 1) AS rolled_back_by
  FROM parameter_changes p`;

export interface ChangeFilter {
  stream: string;
  /** null: every tenant (admin). A tenant sees its own tenant- and call-scoped changes. */
  tenant: string | null;
  stationId: number | null;
  callId: string | null;
  status: string | null;
  actorKind: string | null;
  level: string | null;
  from: Date | null;
  to: Date | null;
  /** The last row of the previous page: [created_key, change_id]. */
  after: readonly string[] | null;
  limit: number;
}

const ACTOR_PREFIX: Record<string, string> = { user: 'user:', optimizer: 'optimizer:', experiment: 'ab:' };

/** The audit log, newest first. */
export async function pageOfChanges(q: Queryable, f: ChangeFilter): Promise<ChangeReadRow[]> {
  const args: unknown[] = [f.stream];
  const arg = (v: unknown) => {
    args.push(v);
    return `$${args.length}`;
  };
  const where = ['p.stream = $1'];
  if (f.tenant !== null) where.push(`p.tenant_id = ${arg(f.tenant)}`);
  if (f.stationId !== null) where.push(`p.station_id = ${arg(f.stationId)}`);
  if (f.callId !== null) where.push(`p.call_id = ${arg(f.callId)}`);
  if (f.status !== null) where.push(`p.status = ${arg(f.status)}`);
  if (f.level !== null) where.push(`p.scope_level = ${arg(f.level)}`);
  if (f.actorKind !== null)
    where.push(`starts_with(p.actor, ${arg(ACTOR_PREFIX[f.actorKind] ?? f.actorKind)})`);
  if (f.from) where.push(`p.created_at >= ${arg(f.from)}`);
  if (f.to) where.push(`p.created_at < ${arg(f.to)}`);
  if (f.after)
    where.push(`(p.created_at, p.change_id) < (${arg(f.after[0])}::timestamptz, ${arg(f.after[1])})`);
  const { rows } = await q.query<ChangeReadRow>(
    `${CHANGE_SELECT} WHERE ${where.join(' AND ')} ORDER BY p.created_at DESC, p.change_id DESC LIMIT ${arg(f.limit)}`,
    args,
  );
  return rows;
}

/** Changes by id (the live feed's new rows), in the order given. */
export async function changesById(
  q: Queryable,
  stream: string,
  ids: readonly string[],
): Promise<ChangeReadRow[]> {
  if (ids.length === 0) return [];
  const { rows } = await q.query<ChangeReadRow>(
    `${CHANGE_SELECT} WHERE p.stream = $1 AND p.change_id = ANY($2::text[]) ORDER BY p.created_at`,
    [stream, ids],
  );
  return rows;
}

/** Every change made at this call's scope, oldest first. */
export async function changesOfCall(
  q: Queryable,
  stream: string,
  tenant: string,
  callId: string,
): Promise<ChangeReadRow[]> {
  const { rows } = await q.query<ChangeReadRow>(
    `${CHANGE_SELECT} WHERE p.stream = $1 AND p.tenant_id = $2 AND p.call_id = $3 ORDER BY p.created_at`,
    [stream, tenant, callId],
  );
  return rows;
}

export interface VersionRow {
  station_id: number;
  scope_level: 'global' | 'tenant' | 'call';
  config_version: string;
  after: Record<string, number>;
}

/**
 * Every record a call's agents could have held: applied (or since rolled back) changes at the global
 * scope, the tenant's and the call's own, for these stations, up to the highest version seen.
 */
export async function versionsReaching(
  q: Queryable,
  stream: string,
  tenant: string,
  callId: string,
  stationIds: readonly number[],
  maxVersion: number,
): Promise<VersionRow[]> {
  const { rows } = await q.query<VersionRow>(
    `SELECT station_id, scope_level, config_version::text, after FROM parameter_changes
      WHERE stream = $1 AND status <> 'rejected' AND config_version IS NOT NULL AND config_version <= $5
        AND station_id = ANY($4::int[])
        AND (scope_level = 'global' OR (scope_level = 'tenant' AND tenant_id = $2)
             OR (scope_level = 'call' AND tenant_id = $2 AND call_id = $3))`,
    [stream, tenant, callId, stationIds, maxVersion],
  );
  return rows;
}

export interface VerdictRow {
  run_id: string;
  station_id: number;
  started_at: Date;
  verdict: { kind: string; before: number; after: number; detail: string };
}

/** The online optimizer's verdicts at this call, oldest first. */
export async function verdictsOfCall(
  q: Queryable,
  stream: string,
  tenant: string,
  callId: string,
): Promise<VerdictRow[]> {
  const { rows } = await q.query<VerdictRow>(
    `SELECT run_id, station_id, started_at, verdict FROM optimizer_runs
      WHERE stream = $1 AND tenant_id = $2 AND call_id = $3 AND verdict IS NOT NULL AND station_id IS NOT NULL
        AND verdict ? 'kind'
      ORDER BY started_at`,
    [stream, tenant, callId],
  );
  return rows;
}

/**
 * The audit events queued after outbox row `afterId` (the live feed's cursor): the outbox numbers
 * every change in commit-independent id order, so the feed re-reads a margin below its cursor.
 */
export async function changeEventsAfter(
  q: Queryable,
  stream: string,
  afterId: number,
  limit: number,
): Promise<{ id: string; change_id: string }[]> {
  const { rows } = await q.query<{ id: string; change_id: string }>(
    `SELECT id::text, payload->>'change_id' AS change_id FROM outbox
      WHERE stream = $1 AND topic_role = 'changes' AND id > $2 AND payload IS NOT NULL
      ORDER BY id LIMIT $3`,
    [stream, afterId, limit],
  );
  return rows;
}

/** The newest outbox id now (where a new feed starts). */
export async function lastOutboxId(q: Queryable, stream: string): Promise<number> {
  const { rows } = await q.query<{ id: string | null }>(
    'SELECT max(id)::text AS id FROM outbox WHERE stream = $1',
    [stream],
  );
  return Number(rows[0]?.id ?? 0);
}
