// The outbox table family (sql/0002, sql/0005): every statement on `outbox` lives here, named by what
// it does. Rows are written inside the change path's transaction and read, marked or set aside by
// the relay.
import type pg from 'pg';
import type { ContractName } from '../contracts/schemas.ts';
import { traceparentOf } from '../lib/tracing.ts';
import type { PoolClient } from './db.ts';
import { advisoryUnlock, tryAdvisoryLock } from './leaderLock.ts';

export type TopicRole = 'config' | 'changes' | 'results';

export interface OutboxEntry {
  role: TopicRole;
  contract: ContractName;
  key: string;
  /** The Avro-ready value; null writes a tombstone. */
  payload: object | null;
  /** The trace this row continues (default: the active context's); a decision batch names each row's. */
  traceparent?: string | null;
}

export interface OutboxRow {
  id: string;
  topic_role: TopicRole;
  contract: ContractName;
  message_key: string;
  payload: object | null;
  attempts: number;
  /** The trace of the change that wrote the row (sql/0011), continued by the relay. */
  traceparent: string | null;
}

export interface SetAsideRow {
  id: string;
  topic_role: TopicRole;
  contract: string;
  message_key: string;
  attempts: number;
  set_aside_at: Date;
  reason: string;
}

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

export const OUTBOX_CHANNEL = 'voiceloop_outbox';

/**
 * Adds entries inside the caller's transaction; NOTIFY wakes relays once it commits. Each row keeps
 * the active trace context (the change's span), which the relay continues when it publishes. One round
 * trip: the rows travel as one JSON array (no per-element array escaping of the payloads' JSON), in
 * order, and the notification is queued by the same statement.
 */
export async function enqueue(
  client: PoolClient | pg.PoolClient,
  stream: string,
  entries: OutboxEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  const active = traceparentOf();
  const rows = entries.map((e) => ({
    topic_role: e.role,
    contract: e.contract,
    message_key: e.key,
    payload: e.payload,
    traceparent: e.traceparent === undefined ? active : e.traceparent,
  }));
  await client.query(
    `WITH added AS (
       INSERT INTO outbox (stream, topic_role, contract, message_key, payload, traceparent)
       SELECT $1, t.topic_role, t.contract, t.message_key, t.payload, t.traceparent
         FROM ROWS FROM (jsonb_to_recordset($2::jsonb)
                AS (topic_role text, contract text, message_key text, payload jsonb, traceparent text))
              WITH ORDINALITY AS t(topic_role, contract, message_key, payload, traceparent, ord)
        ORDER BY t.ord
       RETURNING 1)
     SELECT pg_notify('${OUTBOX_CHANNEL}', '') FROM (SELECT count(*) FROM added) AS n`,
    [stream, JSON.stringify(rows)],
  );
}

/** The next pending rows in id order, locked until the caller's transaction ends. */
export async function lockPending(c: Queryable, stream: string, limit: number): Promise<OutboxRow[]> {
  const { rows } = await c.query<OutboxRow>(
    `SELECT id, topic_role, contract, message_key, payload, attempts, traceparent FROM outbox
      WHERE stream = $1 AND published_at IS NULL AND set_aside_at IS NULL ORDER BY id LIMIT $2 FOR UPDATE`,
    [stream, limit],
  );
  return rows;
}

export async function markPublished(c: Queryable, ids: string[]): Promise<void> {
  await c.query(
    'UPDATE outbox SET published_at = now(), attempts = attempts + 1 WHERE id = ANY($1::bigint[])',
    [ids],
  );
}

export async function recordFailure(c: Queryable, ids: string[], error: string): Promise<void> {
  await c.query('UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::bigint[])', [
    ids,
    error.slice(0, 2000),
  ]);
}

export async function setAside(c: Queryable, id: string, reason: string): Promise<void> {
  await c.query(
    'UPDATE outbox SET set_aside_at = now(), set_aside_reason = $2, last_error = $2 WHERE id = $1::bigint',
    [id, reason.slice(0, 2000)],
  );
}

export async function pendingCount(c: Queryable, stream: string): Promise<number> {
  const r = await c.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM outbox WHERE stream = $1 AND published_at IS NULL AND set_aside_at IS NULL',
    [stream],
  );
  return r.rows[0]!.n;
}

/** Rows waiting to be published and how long the oldest has waited (for /metrics). */
export async function backlog(
  c: Queryable,
  stream: string,
): Promise<{ pending: number; oldestAgeSeconds: number }> {
  const r = await c.query<{ n: number; age: number | null }>(
    `SELECT count(*)::int AS n, extract(epoch FROM now() - min(created_at))::float8 AS age
       FROM outbox WHERE stream = $1 AND published_at IS NULL AND set_aside_at IS NULL`,
    [stream],
  );
  return { pending: r.rows[0]!.n, oldestAgeSeconds: Math.max(0, r.rows[0]!.age ?? 0) };
}

/** The highest pending id (0 when nothing is pending). */
export async function lastPendingId(c: Queryable, stream: string): Promise<number> {
  const r = await c.query<{ id: string | null }>(
    'SELECT max(id)::text AS id FROM outbox WHERE stream = $1 AND published_at IS NULL AND set_aside_at IS NULL',
    [stream],
  );
  return Number(r.rows[0]?.id ?? 0);
}

export async function listSetAside(c: Queryable, stream: string, limit = 100): Promise<SetAsideRow[]> {
  const { rows } = await c.query<SetAsideRow>(
    `SELECT id, topic_role, contract, message_key, attempts, set_aside_at, set_aside_reason AS reason
       FROM outbox WHERE stream = $1 AND set_aside_at IS NOT NULL ORDER BY id DESC LIMIT $2`,
    [stream, limit],
  );
  return rows;
}

/** Session advisory lock that makes one relay per stream the leader (storage/leaderLock.ts). */
export function tryLead(c: Queryable, stream: string): Promise<boolean> {
  return tryAdvisoryLock(c, `outbox:${stream}`);
}

export function stepDown(c: Queryable, stream: string): Promise<void> {
  return advisoryUnlock(c, `outbox:${stream}`);
}
