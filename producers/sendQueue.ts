// A bounded in-flight queue in front of one Kafka producer (issue 9, overload). The idempotent producer
// keeps one request in flight, so one send per HTTP request serialises every request behind the one
// before: latency grows with load without limit. Here requests that arrive while a send is on the wire
// are coalesced into the next send (order kept, so a call's snapshots stay in order), at most `max`
// wait at once, and a caller waits at most `timeoutMs`: beyond either bound it gets a retriable error
// at once (HTTP 503 + Retry-After) instead of waiting for a broker that may be down.
import { VoiceloopError } from '../lib/errors.ts';

export interface SendQueueOptions<T> {
  /** Sends a batch; resolves when the broker has acknowledged all of it. */
  send(items: T[]): Promise<void>;
  /** Items accepted and not yet acknowledged, at most; unbounded when absent. */
  max?: number;
  /** A caller waits at most this long; without it, as long as the send takes. */
  timeoutMs?: number;
  /** Items per send at most. */
  batchMax?: number;
}

interface Pending<T> {
  item: T;
  resolve(): void;
  reject(err: unknown): void;
}

export class SendQueue<T> {
  private readonly waiting: Pending<T>[] = [];
  private inFlight = 0;
  private sending = false;

  constructor(private readonly opts: SendQueueOptions<T>) {}

  /** Items accepted and not yet acknowledged (waiting or on the wire). */
  get size(): number {
    return this.inFlight;
  }

  /**
   * Resolves once `item` is acknowledged; rejects with a retriable KAFKA error when the queue is full
   * or the acknowledgement takes longer than the timeout. A timed-out item may still be delivered
   * later: the client retries with the same snapshot_id and the persister keeps one row.
   */
  push(item: T): Promise<void> {
    if (this.inFlight >= (this.opts.max ?? Number.POSITIVE_INFINITY)) {
      return Promise.reject(
        new VoiceloopError(
          'KAFKA',
          `overloaded: ${this.inFlight} snapshots already on their way to Kafka; retry after the Retry-After delay`,
          { canRetry: true },
        ),
      );
    }
    this.inFlight++;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const timeoutMs = this.opts.timeoutMs;
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              if (settled) return;
              settled = true;
              reject(
                new VoiceloopError(
                  'KAFKA',
                  `Kafka did not acknowledge within ${timeoutMs} ms (broker unreachable or overloaded); retry with the same snapshot_id`,
                  { canRetry: true },
                ),
              );
            }, timeoutMs);
      const done = (err?: unknown) => {
        this.inFlight--;
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        if (err === undefined) resolve();
        else reject(err);
      };
      this.waiting.push({ item, resolve: () => done(), reject: (e) => done(e) });
      this.pump();
    });
  }

  private pump(): void {
    if (this.sending || this.waiting.length === 0) return;
    this.sending = true;
    const batch = this.waiting.splice(0, this.opts.batchMax ?? 500);
    this.opts
      .send(batch.map((p) => p.item))
      .then(
        () => {
          for (const p of batch) p.resolve();
        },
        (err) => {
          for (const p of batch) p.reject(err);
        },
      )
      .finally(() => {
        this.sending = false;
        this.pump();
      });
  }
}
