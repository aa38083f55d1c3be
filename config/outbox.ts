// The outbox relay: publishes rows written by the change path (and optimizer runs) in id order, then
// marks them, in one database transaction per batch. A Kafka failure leaves the rows pending (never
// lost) and they are retried; a crash after the send but before the mark re-sends them, which the
// idempotent consumers tolerate (agents drop versions they already have). Only one relay publishes
// at a time (a PostgreSQL advisory lock), so per-key order on the compacted topic follows version order.
import type { Kafka, Message, Producer } from 'kafkajs';
import type pg from 'pg';
import type { ContractName } from '../contracts/schemas.ts';
import type { Config } from '../lib/config.ts';
import { wrapIo } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { Pool, PoolClient } from '../storage/db.ts';
import { createProducer } from '../streams/kafka.ts';
import type { Registry } from '../streams/registry.ts';

export type TopicRole = 'config' | 'changes' | 'results';

export interface OutboxEntry {
  role: TopicRole;
  contract: ContractName;
  key: string;
  /** The Avro-ready value; null writes a tombstone. */
  payload: object | null;
}

export const OUTBOX_CHANNEL = 'voiceloop_outbox';

/** Adds entries inside the caller's transaction; NOTIFY wakes relays once it commits. */
export async function enqueue(
  client: PoolClient | pg.PoolClient,
  stream: string,
  entries: OutboxEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  await client.query(
    `INSERT INTO outbox (stream, topic_role, contract, message_key, payload)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::jsonb[])`,
    [
      stream,
      entries.map((e) => e.role),
      entries.map((e) => e.contract),
      entries.map((e) => e.key),
      entries.map((e) => (e.payload === null ? null : JSON.stringify(e.payload))),
    ],
  );
  await client.query(`NOTIFY ${OUTBOX_CHANNEL}`);
}

export interface OutboxRelayDeps {
  kafka: Kafka;
  pool: Pool;
  registry: Registry;
  log: Logger;
  topics: Pick<Config['topics'], 'prefix' | 'config' | 'changes' | 'results'>;
  /** Only for tests: a producer that fails, to show that nothing is lost. */
  producer?: Producer;
  pollMs?: number;
  batchSize?: number;
}

export interface OutboxRelay {
  /** Publishes what is pending now (any process may call it; it waits for the leader lock). */
  kick(): void;
  /** Resolves once every row pending at call time has been published. */
  drain(timeoutMs?: number): Promise<void>;
  readonly published: number;
  stop(): Promise<void>;
}

export async function startOutboxRelay(deps: OutboxRelayDeps): Promise<OutboxRelay> {
  const { pool, log } = deps;
  const producer = deps.producer ?? createProducer(deps.kafka, { retries: 3 });
  const ownsProducer = !deps.producer;
  await producer.connect();
  const stream = deps.topics.prefix;
  const topicOf: Record<TopicRole, string> = {
    config: deps.topics.config,
    changes: deps.topics.changes,
    results: deps.topics.results,
  };
  let running = true;
  let published = 0;
  let wake: (() => void) | null = null;
  let kicked = false;
  const waiters: { upTo: number; resolve: () => void; reject: (e: Error) => void }[] = [];

  // The leader holds a session advisory lock on its own connection, which also LISTENs for NOTIFY.
  const listener = await pool.connect();
  listener.on('notification', () => relay.kick());
  await listener.query(`LISTEN ${OUTBOX_CHANNEL}`);
  let leader = false;

  async function publishBatch(): Promise<number> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{
        id: string;
        topic_role: TopicRole;
        contract: ContractName;
        message_key: string;
        payload: object | null;
      }>(
        `SELECT id, topic_role, contract, message_key, payload FROM outbox
          WHERE stream = $1 AND published_at IS NULL ORDER BY id LIMIT $2 FOR UPDATE`,
        [stream, deps.batchSize ?? 500],
      );
      if (rows.length === 0) {
        await client.query('COMMIT');
        return 0;
      }
      const byTopic = new Map<string, Message[]>();
      for (const r of rows) {
        const topic = topicOf[r.topic_role];
        const value = r.payload === null ? null : deps.registry.codec(r.contract).encode(r.payload as never);
        const list = byTopic.get(topic) ?? [];
        list.push({ key: r.message_key, value });
        byTopic.set(topic, list);
      }
      try {
        await producer.sendBatch({
          acks: -1,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
      } catch (err) {
        await client.query('ROLLBACK');
        await pool
          .query('UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::bigint[])', [
            rows.map((r) => r.id),
            String((err as Error).message).slice(0, 2000),
          ])
          .catch(() => {});
        throw wrapIo('KAFKA', `publishing ${rows.length} outbox row(s)`, err);
      }
      await client.query(
        'UPDATE outbox SET published_at = now(), attempts = attempts + 1 WHERE id = ANY($1::bigint[])',
        [rows.map((r) => r.id)],
      );
      await client.query('COMMIT');
      published += rows.length;
      const maxId = Number(rows[rows.length - 1]!.id);
      for (const w of waiters.splice(0)) {
        if (w.upTo <= maxId) w.resolve();
        else waiters.push(w);
      }
      return rows.length;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async function loop() {
    let backoff = 100;
    while (running) {
      try {
        if (!leader) {
          const r = await listener.query<{ ok: boolean }>(
            "SELECT pg_try_advisory_lock(hashtext('outbox:' || $1)) AS ok",
            [stream],
          );
          leader = r.rows[0]!.ok;
        }
        if (leader) {
          kicked = false;
          while (running && (await publishBatch()) > 0) {}
          backoff = 100;
          // Rows committed before our LISTEN or while we published: the next kick or poll finds them.
          const pending = await pool.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM outbox WHERE stream = $1 AND published_at IS NULL',
            [stream],
          );
          if (pending.rows[0]!.n === 0) for (const w of waiters.splice(0)) w.resolve();
        }
      } catch (err) {
        log.warn(
          { err: (err as Error).message, backoffMs: backoff },
          'outbox relay failed; rows stay pending and are retried',
        );
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(5_000, backoff * 2);
        continue;
      }
      if (!running) break;
      if (kicked) continue;
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, leader ? (deps.pollMs ?? 1_000) : 2_000).unref();
      });
      wake = null;
    }
  }

  const relay: OutboxRelay = {
    kick() {
      kicked = true;
      wake?.();
    },
    async drain(timeoutMs = 10_000) {
      const r = await pool.query<{ id: string | null }>(
        'SELECT max(id)::text AS id FROM outbox WHERE stream = $1 AND published_at IS NULL',
        [stream],
      );
      const upTo = Number(r.rows[0]?.id ?? 0);
      if (!upTo) return;
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`outbox not drained within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          upTo,
          resolve: () => {
            clearTimeout(t);
            resolve();
          },
          reject,
        });
        relay.kick();
      });
    },
    get published() {
      return published;
    },
    async stop() {
      running = false;
      wake?.();
      await done;
      if (leader)
        await listener
          .query("SELECT pg_advisory_unlock(hashtext('outbox:' || $1))", [stream])
          .catch(() => {});
      await listener.query(`UNLISTEN ${OUTBOX_CHANNEL}`).catch(() => {});
      listener.release();
      if (ownsProducer) await producer.disconnect().catch(() => {});
      for (const w of waiters.splice(0)) w.reject(new Error('outbox relay stopped'));
    },
  };
  const done = loop();
  return relay;
}
