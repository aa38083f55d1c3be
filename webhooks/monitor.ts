// The deployment's own webhook events, raised by the delivery role on a timer: dead letters above a
// threshold within one period (counted from the dead-letter topic's end offsets, so every process's
// dead letters count), readiness lost (a downstream check failing where the last one passed) and
// readiness restored (every check passing again after a recorded loss). All go to '*' subscriptions
// only (an admin's): they belong to no tenant.
//
// One monitor per stream raises them, however many webhook workers run: the leader, by a PostgreSQL
// advisory lock (storage/leaderLock.ts, as the outbox relay and the maintenance role). The others try
// for the lock at every tick, so when the leader dies (its connection, and with it the lock, gone) one
// of them takes over within a period. A new leader starts from nothing: its first tick takes the
// dead-letter baseline, and a readiness already lost when it takes over is announced again (at least
// once, as every webhook event).
import type { Logger } from '../lib/log.ts';
import { inTransaction, type Pool } from '../storage/db.ts';
import { leaderLock } from '../storage/leaderLock.ts';
import type { EventType } from './events.ts';
import { recordEvent } from './record.ts';

export interface Monitor {
  /** Records ever written to the dead-letter topic (sum of its partitions' end offsets). */
  deadLetters(): Promise<number>;
  /** The failing downstream checks, each with why; empty when ready. */
  readiness(): Promise<{ name: string; error: string }[]>;
  deadLetterTopic: string;
}

export interface RunningMonitor {
  /** True while this process holds the stream's monitor lock. */
  readonly leader: boolean;
  stop(): Promise<void>;
}

export function startMonitor(
  probes: Monitor,
  o: { pool: Pool; log: Logger; stream: string; monitorMs: number; deadLetterThreshold: number },
): RunningMonitor {
  const lock = leaderLock(o.pool, `webhooks:monitor:${o.stream}`);
  let baseline: number | null = null;
  let wasReady = true;
  let lostSince: string | null = null;
  let stopped = false;
  let busy: Promise<void> | null = null;

  const record = (type: EventType, data: Record<string, unknown>) =>
    inTransaction(o.pool, (c) => recordEvent(c, o.stream, type, null, data));

  const tick = async () => {
    const wasLeader = lock.leader;
    if (!(await lock.lead())) return;
    if (!wasLeader) {
      // Taken over (or first start): nothing carried from whoever led before.
      [baseline, wasReady, lostSince] = [null, true, null];
      o.log.info({ stream: o.stream }, 'webhook monitor leads');
    }
    const count = await probes.deadLetters().catch(() => null);
    if (count !== null) {
      if (baseline !== null && count - baseline >= o.deadLetterThreshold) {
        const n = count - baseline;
        await record('dead_letters.threshold', {
          topic: probes.deadLetterTopic,
          count: n,
          threshold: o.deadLetterThreshold,
          window_ms: o.monitorMs,
        });
        o.log.warn({ count: n }, 'dead letters above the threshold');
      }
      baseline = count;
    }
    const failing = await probes.readiness();
    if (failing.length > 0 && wasReady) {
      const at = new Date().toISOString();
      await record('readiness.lost', { failing });
      o.log.warn({ failing }, 'readiness lost');
      lostSince = at;
    } else if (failing.length === 0 && !wasReady) {
      await record('readiness.restored', { lost_since: lostSince });
      o.log.info({ lostSince }, 'readiness restored');
      lostSince = null;
    }
    // Only once the event is recorded (the database may be what is down) does the state move on.
    wasReady = failing.length === 0;
  };
  const run = () => {
    if (busy || stopped) return;
    busy = tick()
      .catch((err) =>
        o.log.warn({ err: (err as Error).message }, 'webhook monitor could not record an event; will retry'),
      )
      .finally(() => {
        busy = null;
      });
  };
  const timer = setInterval(run, o.monitorMs);
  timer.unref();
  run();
  return {
    get leader() {
      return lock.leader;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await busy;
      await lock.release();
    },
  };
}
