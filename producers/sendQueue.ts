// A bounded in-flight queue in front of one Kafka producer (issue 9, overload; issue 11, coalescing).
// The idempotent producer keeps one request in flight, so one send per caller serialises every caller
// behind the one before: latency grows with load without limit and throughput stays at one request's
// worth. Here what arrives while a send is on the wire is coalesced into the next send (order kept, so a
// call's snapshots stay in order), at most `max` items wait at once, and a caller waits at most
// `timeoutMs`: beyond either bound it gets a retriable error at once (HTTP 503 + Retry-After) instead
// of waiting for a broker that may be down. A caller may push a group of items (`pushAll`): the group
// goes out in one send, whole, and succeeds or fails as one.
import { VoiceloopError } from '../lib/errors.ts';

export interface SendQueueOptions<T> {
  /** Sends a batch; resolves when the broker has acknowledged all of it. */
  send(items: T[]): Promise<void>;
  /** Items accepted and not yet acknowledged, at most; unbounded when absent. */
  max?: number;
  /** A caller waits at most this long; without it, as long as the send takes. */
  timeoutMs?: number;
  /**
   * Items per send at most (500 when absent), counted over whole groups: groups are added to a send
   * while they fit, and a group larger than this goes out alone rather than split.
   */
  batchMax?: number;
  /** With `batchMaxBytes`: the bytes an item adds to a request, counted like `batchMax` (whole groups). */
  bytesOf?(item: T): number;
  /** Bytes per send at most when `bytesOf` is given: coalescing must not make a request the broker refuses. */
  batchMaxBytes?: number;
}

interface Pending<T> {
  items: T[];
  resolve(): void;
  reject(err: unknown): void;
}

const DEFAULT_BATCH_MAX = 500;

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
    return this.pushAll([item]);
  }

  /**
   * `items` as one group: sent in one request (with whatever else is waiting), never split, and
   * acknowledged or failed together. Refused whole when it does not fit under `max` (so always when it is
   * larger than `max`: bounded queues, the API's, take single items).
   */
  pushAll(items: T[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    const max = this.opts.max ?? Number.POSITIVE_INFINITY;
    if (this.inFlight + items.length > max) {
      return Promise.reject(
        new VoiceloopError(
          'KAFKA',
          `overloaded: ${this.inFlight} snapshots already on their way to Kafka; retry after the Retry-After delay`,
          { canRetry: true },
        ),
      );
    }
    const count = items.length;
    this.inFlight += count;
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
        this.inFlight -= count;
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        if (err === undefined) resolve();
        else reject(err);
      };
      this.waiting.push({ items, resolve: () => done(), reject: (e) => done(e) });
      this.pump();
    });
  }

  /** The waiting groups that go into the next send: in order, while they fit, at least one. */
  private nextBatch(): Pending<T>[] {
    const limit = this.opts.batchMax ?? DEFAULT_BATCH_MAX;
    const { bytesOf, batchMaxBytes = Number.POSITIVE_INFINITY } = this.opts;
    let n = 0;
    let total = 0;
    let bytes = 0;
    while (n < this.waiting.length) {
      const group = this.waiting[n]!.items;
      let groupBytes = 0;
      if (bytesOf) for (const item of group) groupBytes += bytesOf(item);
      if (n > 0 && (total + group.length > limit || bytes + groupBytes > batchMaxBytes)) break;
      total += group.length;
      bytes += groupBytes;
      n++;
    }
    return this.waiting.splice(0, n);
  }

  private pump(): void {
    if (this.sending || this.waiting.length === 0) return;
    this.sending = true;
    const batch = this.nextBatch();
    const items = batch.length === 1 ? batch[0]!.items : batch.flatMap((p) => p.items);
    this.opts
      .send(items)
      .then(
        () => {
          for (const p of batch) p.resolve();
        },
        (err) => {
          for (const p of batch) p.reject(err);
        },
      )
      .finally(() => {
        // The next send leaves once the callers this one released have run: a tick queued from a
        // promise callback runs after the whole promise queue has drained, so a caller that sends
        // again at once (a pool of sendAll callers) joins the next send instead of the sends
        // alternating between one group and the rest. Still before any timer or I/O.
        process.nextTick(() => {
          this.sending = false;
          this.pump();
        });
      });
  }
}
