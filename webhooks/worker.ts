// The webhook delivery role (same shape as every role, lib/lifecycle.ts): claims due deliveries,
// POSTs them signed (webhooks/deliver.ts), and records each attempt. Deliveries run side by side up
// to `concurrency`, each bounded by the receiver timeout, so a slow receiver holds one slot and never
// the change path (which only writes rows). A failed attempt is retried with exponential backoff; a
// delivery is abandoned after its attempts; a subscription is paused after failures in a row. A worker
// that dies holding claims leaves them due again after their lease: at least once, with the event id
// for receivers to de-duplicate. The monitor raises the deployment's own events (dead letters above a
// threshold, readiness lost and restored), one leader per stream however many workers run.
import { createLifecycle, type Role } from '../lib/lifecycle.ts';
import type { Logger } from '../lib/log.ts';
import type { Metrics } from '../lib/metrics.ts';
import type { Settings } from '../lib/settings.ts';
import { inTransaction, type Pool } from '../storage/db.ts';
import * as repo from '../storage/webhooks.ts';
import { deliver } from './deliver.ts';
import { type Monitor, startMonitor } from './monitor.ts';

export interface WebhookWorkerDeps {
  pool: Pool;
  log: Logger;
  metrics?: Metrics;
  /** Probes for the deployment's events; without them no monitor runs. */
  monitor?: Monitor;
}

export type WebhookWorkerOptions = Settings['webhooks'] & {
  stream: string;
  concurrency?: number;
  pollMs?: number;
};

export interface WebhookWorker extends Role {
  kick(): void;
  /** True while this worker's monitor leads its stream (one monitor per stream raises events). */
  readonly monitorLeader: boolean;
  readonly delivered: number;
  readonly failed: number;
}

/** Exponential backoff with jitter in [half, full] of base * 2^(attempt-1), capped. */
export function retryDelay(attempt: number, baseMs: number, maxMs: number, rand = Math.random): number {
  const full = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(full * (0.5 + rand() * 0.5));
}

/** One attempt at one delivery: POST it, then record the outcome (delivered, retry later, paused). */
function attempter(
  deps: WebhookWorkerDeps,
  opts: WebhookWorkerOptions,
  count: { delivered(): void; failed(): void },
) {
  const { pool, log } = deps;
  return async (d: repo.DueDelivery): Promise<void> => {
    const body = JSON.stringify(d.payload);
    const r = await deliver(
      { url: d.url, secret: d.secret, eventId: d.event_id, eventType: d.event_type, body },
      { timeoutMs: opts.timeoutMs, allowPrivate: opts.allowPrivateNetworks },
    );
    const n = d.attempts + 1;
    await inTransaction(pool, async (c) => {
      await repo.recordAttempt(c, { deliveryId: d.id, attempt: n, ...r, durationMs: r.durationMs });
      if (r.ok) {
        await repo.markDelivered(c, d.id, d.subscription_id, r.status!);
        count.delivered();
        deps.metrics?.webhookDeliveries.inc({ result: 'delivered' });
        return;
      }
      count.failed();
      const out = await repo.markFailed(c, {
        id: d.id,
        subscriptionId: d.subscription_id,
        status: r.status,
        error: r.error ?? 'failed',
        retryInMs: retryDelay(n, opts.retryBaseMs, opts.maxBackoffMs),
        maxAttempts: opts.maxAttempts,
        pauseAfter: opts.pauseAfterFailures,
      });
      deps.metrics?.webhookDeliveries.inc({ result: out.paused ? 'paused' : 'failed' });
      if (out.paused)
        log.warn(
          { subscription: d.subscription_id, err: r.error },
          'webhook subscription paused after failures',
        );
      if (out.abandoned) log.warn({ delivery: d.id, attempts: n }, 'webhook delivery abandoned');
    });
  };
}

interface Listening {
  close(): Promise<void>;
}

/**
 * A pooled connection LISTENing on the webhook channel; `lost` when it fails (released, destroyed).
 * Its listeners leave with it: the pool hands the client out again, and a stale listener would then
 * release another checkout of it or wake this worker for nothing.
 */
async function openListener(pool: Pool, kick: () => void, lost: () => void): Promise<Listening> {
  const c = await pool.connect();
  let gone = false;
  const forget = () => {
    gone = true;
    c.off('notification', kick);
    c.off('error', onError);
  };
  const onError = () => {
    if (gone) return;
    forget();
    lost();
    c.release(true);
  };
  c.on('notification', kick);
  c.on('error', onError);
  try {
    await c.query(`LISTEN ${repo.WEBHOOK_CHANNEL}`);
  } catch (err) {
    if (!gone) {
      forget();
      c.release(err as Error);
    }
    throw err;
  }
  return {
    async close() {
      if (gone) return;
      forget();
      await c.query(`UNLISTEN ${repo.WEBHOOK_CHANNEL}`).catch(() => {});
      c.release();
    },
  };
}

export async function startWebhookWorker(
  deps: WebhookWorkerDeps,
  opts: WebhookWorkerOptions,
): Promise<WebhookWorker> {
  const { pool, log } = deps;
  const concurrency = opts.concurrency ?? 8;
  const leaseS = Math.ceil(opts.timeoutMs / 1000) + 30;
  const inFlight = new Set<Promise<void>>();
  let running = true;
  let delivered = 0;
  let failed = 0;
  let wake: (() => void) | null = null;
  let kicked = false;
  const kick = () => {
    kicked = true;
    wake?.();
  };

  const attempt = attempter(deps, opts, {
    delivered: () => delivered++,
    failed: () => failed++,
  });

  function launch(d: repo.DueDelivery) {
    const p: Promise<void> = attempt(d)
      .catch((err) =>
        log.warn({ err: (err as Error).message, delivery: d.id }, 'webhook attempt not recorded'),
      )
      .finally(() => {
        inFlight.delete(p);
        kick();
      });
    inFlight.add(p);
  }

  // A LISTEN connection wakes the worker when a transaction owes a delivery; polling covers retries.
  let listener: Listening | null = null;
  const listen = async () => {
    let mine: Listening | null = null;
    mine = await openListener(pool, kick, () => {
      if (mine && listener === mine) listener = null;
    });
    listener = mine;
  };

  async function loop() {
    let failures = 0;
    while (running) {
      kicked = false;
      try {
        if (!listener) await listen();
        const free = concurrency - inFlight.size;
        if (free > 0) {
          const due = await repo.claimDue(pool, opts.stream, free, leaseS);
          for (const d of due) launch(d);
          if (due.length === free) continue;
        }
        failures = 0;
      } catch (err) {
        const delay = Math.min(5_000, 100 * 2 ** failures++);
        log.warn({ err: (err as Error).message, backoffMs: delay }, 'webhook worker failed; retrying');
        await new Promise((r) => setTimeout(r, delay));
        continue;
      }
      if (kicked || !running) continue;
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, opts.pollMs ?? 500).unref();
      });
      wake = null;
    }
  }

  const monitor = deps.monitor ? startMonitor(deps.monitor, { ...opts, pool, log }) : undefined;
  const lc = createLifecycle(async () => {
    running = false;
    wake?.();
    await monitor?.stop();
    await looping;
    await Promise.allSettled([...inFlight]);
    const l = listener as Listening | null;
    listener = null;
    if (l) await l.close();
  });
  const looping = loop();
  lc.running();
  return lc.role<Omit<WebhookWorker, keyof Role>>({
    kick,
    get monitorLeader() {
      return monitor?.leader ?? false;
    },
    get delivered() {
      return delivered;
    },
    get failed() {
      return failed;
    },
  });
}
