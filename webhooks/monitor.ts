// The deployment's own webhook events, raised by the delivery role on a timer: dead letters above a
// threshold within one period (counted from the dead-letter topic's end offsets, so every process's
// dead letters count), and readiness lost (a downstream check failing where the last one passed).
// Both go to '*' subscriptions only (an admin's): they belong to no tenant.
import type { Logger } from '../lib/log.ts';
import { inTransaction, type Pool } from '../storage/db.ts';
import { recordEvent } from './record.ts';

export interface Monitor {
  /** Records ever written to the dead-letter topic (sum of its partitions' end offsets). */
  deadLetters(): Promise<number>;
  /** The failing downstream checks, each with why; empty when ready. */
  readiness(): Promise<{ name: string; error: string }[]>;
  deadLetterTopic: string;
}

export function startMonitor(
  probes: Monitor,
  o: { pool: Pool; log: Logger; stream: string; monitorMs: number; deadLetterThreshold: number },
): { stop(): void } {
  let baseline: number | null = null;
  let wasReady = true;
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const count = await probes.deadLetters().catch(() => null);
      if (count !== null) {
        if (baseline !== null && count - baseline >= o.deadLetterThreshold) {
          const n = count - baseline;
          await inTransaction(o.pool, (c) =>
            recordEvent(c, o.stream, 'dead_letters.threshold', null, {
              topic: probes.deadLetterTopic,
              count: n,
              threshold: o.deadLetterThreshold,
              window_ms: o.monitorMs,
            }),
          );
          o.log.warn({ count: n }, 'dead letters above the threshold');
        }
        baseline = count;
      }
      const failing = await probes.readiness();
      if (failing.length > 0 && wasReady) {
        await inTransaction(o.pool, (c) => recordEvent(c, o.stream, 'readiness.lost', null, { failing }));
        o.log.warn({ failing }, 'readiness lost');
      }
      // Only once the event is recorded (the database may be what is down) does the state move on.
      wasReady = failing.length === 0;
    } catch (err) {
      o.log.warn({ err: (err as Error).message }, 'webhook monitor could not record an event; will retry');
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), o.monitorMs);
  timer.unref();
  void tick();
  return { stop: () => clearInterval(timer) };
}
