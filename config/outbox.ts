// The outbox relay role: publishes rows written by the change path (and optimizer runs) in id order,
// then marks them, in one database transaction per batch. A Kafka failure leaves the rows pending
// (never lost) and they are retried; a crash after the send but before the mark re-sends them, which
// the idempotent consumers tolerate (agents drop versions they already have). Only one relay publishes
// at a time (a PostgreSQL advisory lock), so per-key order on the compacted topic follows version order.
// It never has two Kafka sends in flight: one loop publishes batch after batch (kick() and NOTIFY only
// wake it), a batch sends partition after partition, and a second relay's batch waits on the rows'
// FOR UPDATE locks until the first's transaction, which spans its sends, ends (outbox-order.test.ts).
// Not fenced: a leader whose PostgreSQL sessions die while a send of it is still retrying loses lock and
// rows to the next leader, and that late send may land after the new leader's newer versions.
// A row that can never be published — it does not encode for its contract, or Kafka refuses it alone,
// for good, after its attempts — is set aside with the reason (metric, GET /v1/config/outbox/set-aside)
// and the relay goes on with the rows after it.

import type { Kafka } from 'kafkajs';
import { isProgrammingError } from '../lib/errors.ts';
import { createLifecycle, type Role } from '../lib/lifecycle.ts';
import type { Logger } from '../lib/log.ts';
import type { Metrics } from '../lib/metrics.ts';
import { backoffDelay } from '../lib/retry.ts';
import type { Settings } from '../lib/settings.ts';
import type { Pool, PoolClient } from '../storage/db.ts';
import * as outbox from '../storage/outbox.ts';
import type { Registry } from '../streams/registry.ts';
import { createPublisher } from './outboxPublisher.ts';

export { enqueue, OUTBOX_CHANNEL, type OutboxEntry, type TopicRole } from '../storage/outbox.ts';

export interface OutboxRelayDeps {
  kafka: Kafka;
  pool: Pool;
  registry: Registry;
  log: Logger;
  metrics?: Metrics;
}

export interface OutboxRelayOptions {
  topics: Pick<Settings['topics'], 'prefix' | 'config' | 'changes' | 'results'>;
  pollMs?: number;
  batchSize?: number;
  /** Attempts a row refused by Kafka on its own gets before it is set aside (default 5). */
  maxAttempts?: number;
}

export interface OutboxRelay extends Role {
  /** Publishes what is pending now (any process may call it; it waits for the leader lock). */
  kick(): void;
  /** Resolves once every row pending at call time has been published (or set aside). */
  drain(timeoutMs?: number): Promise<void>;
  readonly published: number;
  readonly setAside: number;
}

/**
 * A pooled connection LISTENing on the outbox channel. When it dies (a PostgreSQL restart) it is
 * released as broken and `lost` is called, so the relay opens a new one with its backoff.
 */
async function listenFor(
  pool: Pool,
  log: Logger,
  on: { isCurrent(c: PoolClient): boolean; lost(): void; notified(): void },
): Promise<PoolClient> {
  const c = await pool.connect();
  c.on('error', (err) => {
    log.warn({ err: err.message }, 'outbox LISTEN connection lost; reconnecting');
    if (on.isCurrent(c)) {
      c.release(err);
      on.lost();
    }
  });
  c.on('notification', () => on.notified());
  try {
    await c.query(`LISTEN ${outbox.OUTBOX_CHANNEL}`);
  } catch (err) {
    c.release(err as Error);
    throw err;
  }
  return c;
}

function reportSetAside(deps: OutboxRelayDeps, row: outbox.OutboxRow, reason: string): void {
  deps.metrics?.outboxSetAside.inc({ contract: row.contract });
  deps.log.error(
    { outbox_id: row.id, contract: row.contract, key: row.message_key, reason },
    'outbox row set aside: it can never be published; the relay goes on with the next rows',
  );
}

async function closeListener(l: PoolClient, leader: boolean, stream: string): Promise<void> {
  if (leader) await outbox.stepDown(l, stream).catch(() => {});
  await l.query(`UNLISTEN ${outbox.OUTBOX_CHANNEL}`).catch(() => {});
  l.release();
}

export async function startOutboxRelay(
  deps: OutboxRelayDeps,
  opts: OutboxRelayOptions,
): Promise<OutboxRelay> {
  const { pool, log } = deps;
  const stream = opts.topics.prefix;
  let running = true;
  let published = 0;
  let setAsideCount = 0;
  let wake: (() => void) | null = null;
  let kicked = false;
  const waiters: { upTo: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  // Before the listener opens: a NOTIFY can arrive before `relay` exists (a startup race).
  const kick = () => {
    kicked = true;
    wake?.();
  };
  // The leader's advisory lock lives on its LISTEN connection: lost with it, reopened by the loop.
  let listener: PoolClient | null = null;
  let leader = false;
  const lost = () => {
    [listener, leader] = [null, false];
    kick();
  };
  const openListener = () => listenFor(pool, log, { isCurrent: (c) => listener === c, lost, notified: kick });
  listener = await openListener();

  const publisher = createPublisher(deps, opts, (row, reason) => {
    setAsideCount++;
    reportSetAside(deps, row, reason);
  });

  async function publishBatch(): Promise<number> {
    const out = await publisher.publishBatch();
    published += out.published;
    if (out.rows > 0) {
      for (const w of waiters.splice(0)) {
        if (w.upTo <= out.lastId) w.resolve();
        else waiters.push(w);
      }
    }
    return out.rows;
  }

  async function loop() {
    let failures = 0;
    while (running) {
      try {
        listener ??= await openListener();
        if (!leader) leader = await outbox.tryLead(listener, stream);
        if (leader) {
          kicked = false;
          while (running && (await publishBatch()) > 0) {}
          failures = 0;
          // Rows committed before our LISTEN or while we published: the next kick or poll finds them.
          if ((await outbox.pendingCount(pool, stream)) === 0) for (const w of waiters.splice(0)) w.resolve();
        }
      } catch (err) {
        if (isProgrammingError(err)) log.error({ err }, 'outbox relay bug');
        const delay = backoffDelay(failures++, 100, 5_000);
        log.warn(
          { err: (err as Error).message, backoffMs: delay },
          'outbox relay failed; rows stay pending and are retried',
        );
        await new Promise((r) => setTimeout(r, delay));
        continue;
      }
      if (!running) break;
      if (kicked) continue;
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, leader ? (opts.pollMs ?? 1_000) : 2_000).unref();
      });
      wake = null;
    }
  }

  const lc = createLifecycle(async () => {
    running = false;
    wake?.();
    await looping;
    const l = listener as PoolClient | null;
    listener = null;
    if (l) await closeListener(l, leader, stream);
    await publisher.close();
    for (const w of waiters.splice(0)) w.reject(new Error('outbox relay stopped'));
  });
  const relay: OutboxRelay = lc.role<Omit<OutboxRelay, keyof Role>>({
    kick,
    async drain(timeoutMs = 10_000) {
      const upTo = await outbox.lastPendingId(pool, stream);
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
        kick();
      });
    },
    get published() {
      return published;
    },
    get setAside() {
      return setAsideCount;
    },
  });
  const looping = loop();
  lc.running();
  return relay;
}
