// The webhook table family (sql/0012): every statement on webhook_subscriptions, webhook_deliveries
// and webhook_attempts lives here, named by what it does.
import type pg from 'pg';
import type { EventType, WebhookEvent } from '../webhooks/events.ts';
import type { PoolClient } from './db.ts';

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

export const WEBHOOK_CHANNEL = 'voiceloop_webhooks';

export interface SubscriptionRow {
  id: string;
  tenant_id: string;
  url: string;
  event_types: EventType[];
  state: 'active' | 'paused';
  consecutive_failures: number;
  paused_at: Date | null;
  paused_reason: string | null;
  created_by: string;
  created_at: Date;
}

export interface DeliveryRow {
  id: string;
  event_id: string;
  event_type: string;
  state: 'pending' | 'delivered' | 'abandoned';
  attempts: number;
  next_attempt_at: Date;
  last_status: number | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
}

export interface AttemptRow {
  delivery_id: string;
  attempt: number;
  at: Date;
  status: number | null;
  error: string | null;
  duration_ms: number;
}

/** A claimed delivery with what sending it needs. */
export interface DueDelivery {
  id: string;
  event_id: string;
  event_type: string;
  payload: WebhookEvent;
  attempts: number;
  subscription_id: string;
  url: string;
  secret: string;
}

const SUB_COLUMNS = `id, tenant_id, url, event_types, state, consecutive_failures, paused_at, paused_reason,
  created_by, created_at`;

export async function insertSubscription(
  c: Queryable,
  stream: string,
  s: {
    id: string;
    tenantId: string;
    url: string;
    secret: string;
    eventTypes: EventType[];
    createdBy: string;
  },
): Promise<SubscriptionRow> {
  const r = await c.query<SubscriptionRow>(
    `INSERT INTO webhook_subscriptions (id, stream, tenant_id, url, secret, event_types, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${SUB_COLUMNS}`,
    [s.id, stream, s.tenantId, s.url, s.secret, s.eventTypes, s.createdBy],
  );
  return r.rows[0]!;
}

/** Subscriptions of the tenants a caller may see (null: every tenant). */
export async function listSubscriptions(
  c: Queryable,
  stream: string,
  tenant: string | null,
): Promise<SubscriptionRow[]> {
  const r = await c.query<SubscriptionRow>(
    `SELECT ${SUB_COLUMNS} FROM webhook_subscriptions
      WHERE stream = $1 AND ($2::text IS NULL OR tenant_id = $2) ORDER BY created_at, id`,
    [stream, tenant],
  );
  return r.rows;
}

export async function subscription(
  c: Queryable,
  stream: string,
  id: string,
): Promise<SubscriptionRow | null> {
  const r = await c.query<SubscriptionRow>(
    `SELECT ${SUB_COLUMNS} FROM webhook_subscriptions WHERE stream = $1 AND id = $2`,
    [stream, id],
  );
  return r.rows[0] ?? null;
}

/** Resumes (clearing the failure count) or pauses by hand. */
export async function setState(
  c: Queryable,
  stream: string,
  id: string,
  state: 'active' | 'paused',
  reason: string | null,
): Promise<SubscriptionRow | null> {
  const r = await c.query<SubscriptionRow>(
    `UPDATE webhook_subscriptions SET state = $3, consecutive_failures = 0,
            paused_at = CASE WHEN $3 = 'paused' THEN now() END, paused_reason = CASE WHEN $3 = 'paused' THEN $4 END
      WHERE stream = $1 AND id = $2 RETURNING ${SUB_COLUMNS}`,
    [stream, id, state, reason],
  );
  return r.rows[0] ?? null;
}

export async function deleteSubscription(c: Queryable, stream: string, id: string): Promise<boolean> {
  const r = await c.query('DELETE FROM webhook_subscriptions WHERE stream = $1 AND id = $2', [stream, id]);
  return (r.rowCount ?? 0) > 0;
}

/**
 * One delivery per active subscription of the event's tenant that asked for its type, in the caller's
 * transaction: the event exists for receivers exactly when the fact it announces is committed.
 */
export async function enqueueEvent(
  c: PoolClient | pg.PoolClient,
  stream: string,
  e: WebhookEvent,
): Promise<number> {
  const r = await c.query(
    `INSERT INTO webhook_deliveries (event_id, subscription_id, stream, event_type, payload)
     SELECT $1, id, stream, $3, $4 FROM webhook_subscriptions
      WHERE stream = $2 AND tenant_id = $5 AND state = 'active' AND $3 = ANY (event_types)
     ON CONFLICT (subscription_id, event_id) DO NOTHING`,
    [e.id, stream, e.type, JSON.stringify(e), e.tenant_id],
  );
  const n = r.rowCount ?? 0;
  if (n > 0) await c.query(`NOTIFY ${WEBHOOK_CHANNEL}`);
  return n;
}

/** Several events in one statement (a decision batch's changes); NOTIFY once when any row was written. */
export async function enqueueEvents(
  c: PoolClient | pg.PoolClient,
  stream: string,
  events: WebhookEvent[],
): Promise<number> {
  if (events.length === 0) return 0;
  const r = await c.query(
    `INSERT INTO webhook_deliveries (event_id, subscription_id, stream, event_type, payload)
     SELECT e.id, s.id, s.stream, e.type, e.payload
       FROM unnest($2::uuid[], $3::text[], $4::jsonb[], $5::text[]) AS e(id, type, payload, tenant_id)
       JOIN webhook_subscriptions s
         ON s.stream = $1 AND s.tenant_id = e.tenant_id AND s.state = 'active' AND e.type = ANY (s.event_types)
     ON CONFLICT (subscription_id, event_id) DO NOTHING`,
    [
      stream,
      events.map((e) => e.id),
      events.map((e) => e.type),
      events.map((e) => JSON.stringify(e)),
      events.map((e) => e.tenant_id),
    ],
  );
  const n = r.rowCount ?? 0;
  if (n > 0) await c.query(`NOTIFY ${WEBHOOK_CHANNEL}`);
  return n;
}

/**
 * Claims up to `limit` due deliveries of active subscriptions: their next attempt moves `leaseS` ahead,
 * so a worker that dies holding them leaves them due again then (at least once), and concurrent
 * workers skip each other's rows.
 */
export async function claimDue(
  c: Queryable,
  stream: string,
  limit: number,
  leaseS: number,
): Promise<DueDelivery[]> {
  const r = await c.query<DueDelivery>(
    `WITH due AS (
       SELECT d.id FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
        WHERE d.stream = $1 AND d.state = 'pending' AND d.next_attempt_at <= now() AND s.state = 'active'
        ORDER BY d.next_attempt_at, d.id LIMIT $2 FOR UPDATE OF d SKIP LOCKED)
     UPDATE webhook_deliveries d SET next_attempt_at = now() + make_interval(secs => $3)
       FROM due, webhook_subscriptions s
      WHERE d.id = due.id AND s.id = d.subscription_id
     RETURNING d.id, d.event_id, d.event_type, d.payload, d.attempts, s.id AS subscription_id, s.url, s.secret`,
    [stream, limit, leaseS],
  );
  return r.rows;
}

export async function recordAttempt(
  c: Queryable,
  a: { deliveryId: string; attempt: number; status: number | null; error: string | null; durationMs: number },
): Promise<void> {
  await c.query(
    `INSERT INTO webhook_attempts (delivery_id, attempt, status, error, duration_ms) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT DO NOTHING`,
    [a.deliveryId, a.attempt, a.status, a.error?.slice(0, 2000) ?? null, a.durationMs],
  );
}

export async function markDelivered(
  c: Queryable,
  id: string,
  subscriptionId: string,
  status: number,
): Promise<void> {
  await c.query(
    `UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, delivered_at = now(),
            last_status = $2, last_error = NULL WHERE id = $1`,
    [id, status],
  );
  await c.query('UPDATE webhook_subscriptions SET consecutive_failures = 0 WHERE id = $1', [subscriptionId]);
}

/**
 * A failed attempt: the delivery is due again after `retryInMs` (or abandoned after `maxAttempts`), and
 * the subscription is paused once `pauseAfter` attempts in a row have failed. Says whether it paused now.
 */
export async function markFailed(
  c: Queryable,
  f: {
    id: string;
    subscriptionId: string;
    status: number | null;
    error: string;
    retryInMs: number;
    maxAttempts: number;
    pauseAfter: number;
  },
): Promise<{ abandoned: boolean; paused: boolean }> {
  const d = await c.query<{ state: string }>(
    `UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = $2, last_error = $3,
            next_attempt_at = now() + make_interval(secs => $4::float8 / 1000),
            state = CASE WHEN attempts + 1 >= $5 THEN 'abandoned' ELSE 'pending' END
      WHERE id = $1 RETURNING state`,
    [f.id, f.status, f.error.slice(0, 2000), f.retryInMs, f.maxAttempts],
  );
  const s = await c.query<{ paused: boolean }>(
    `UPDATE webhook_subscriptions SET consecutive_failures = consecutive_failures + 1,
            state = CASE WHEN consecutive_failures + 1 >= $2 THEN 'paused' ELSE state END,
            paused_at = CASE WHEN consecutive_failures + 1 >= $2 AND state = 'active' THEN now() ELSE paused_at END,
            paused_reason = CASE WHEN consecutive_failures + 1 >= $2 AND state = 'active'
                                 THEN $3 ELSE paused_reason END
      WHERE id = $1
      RETURNING (state = 'paused' AND consecutive_failures = $2) AS paused`,
    [
      f.subscriptionId,
      f.pauseAfter,
      `paused after ${f.pauseAfter} failed attempts in a row; last: ${f.error}`.slice(0, 2000),
    ],
  );
  return { abandoned: d.rows[0]?.state === 'abandoned', paused: s.rows[0]?.paused ?? false };
}

/** The delivery log of one subscription, newest first, with each delivery's attempts. */
export async function deliveryLog(
  c: Queryable,
  subscriptionId: string,
  limit: number,
): Promise<(DeliveryRow & { attempt_log: AttemptRow[] })[]> {
  const r = await c.query<DeliveryRow & { attempt_log: AttemptRow[] }>(
    `SELECT d.id, d.event_id, d.event_type, d.state, d.attempts, d.next_attempt_at, d.last_status, d.last_error,
            d.created_at, d.delivered_at,
            COALESCE((SELECT json_agg(json_build_object('attempt', a.attempt, 'at', a.at, 'status', a.status,
                                      'error', a.error, 'duration_ms', a.duration_ms) ORDER BY a.attempt)
                        FROM webhook_attempts a WHERE a.delivery_id = d.id), '[]'::json) AS attempt_log
       FROM webhook_deliveries d WHERE d.subscription_id = $1 ORDER BY d.id DESC LIMIT $2`,
    [subscriptionId, limit],
  );
  return r.rows;
}

export async function pendingCount(c: Queryable, stream: string): Promise<number> {
  const r = await c.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM webhook_deliveries WHERE stream = $1 AND state = 'pending'`,
    [stream],
  );
  return r.rows[0]!.n;
}
