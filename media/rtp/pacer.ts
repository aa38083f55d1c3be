// Sends frames at their due times on the wall clock: a station's processed output leaves one 20 ms
// frame every 20 ms however fast it was computed, and a simulated far end sends each packet at the
// arrival time its network model gave it. One timer, re-armed for the next due item.

export interface Paced<T> {
  dueMs: number;
  item: T;
}

export class Pacer<T> {
  private queue: Paced<T>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly send: (item: T) => void,
    private readonly clock: () => number = () => performance.timeOrigin + performance.now(),
  ) {}

  /** Queues items (any order); each goes out at its due time, or at once if that has passed. */
  schedule(items: Paced<T>[]): void {
    if (this.stopped) return;
    this.queue.push(...items);
    this.queue.sort((a, b) => a.dueMs - b.dueMs);
    this.arm();
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Resolves when everything queued has been sent. */
  idle(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.queue = [];
    for (const r of this.idleWaiters.splice(0)) r();
  }

  private arm(): void {
    clearTimeout(this.timer);
    const first = this.queue[0];
    if (!first) {
      for (const r of this.idleWaiters.splice(0)) r();
      return;
    }
    this.timer = setTimeout(() => this.flush(), Math.max(0, first.dueMs - this.clock()));
  }

  private flush(): void {
    const now = this.clock();
    while (this.queue.length > 0 && this.queue[0]!.dueMs <= now + 0.5) this.send(this.queue.shift()!.item);
    this.arm();
  }
}

/**
 * A stream's frames due one `frameMs` apart from `fromMs` (or now, if later): what a sender queues to
 * send processed audio in real time. Returns the items and when the next frame would be due.
 */
export function framesFrom(
  samples: Float32Array,
  frameSamples: number,
  fromMs: number,
  nowMs: number,
  frameMs = 20,
): { items: Paced<Float32Array>[]; nextMs: number } {
  let due = Math.max(fromMs, nowMs);
  const items: Paced<Float32Array>[] = [];
  for (let i = 0; i + frameSamples <= samples.length; i += frameSamples) {
    items.push({ dueMs: due, item: samples.slice(i, i + frameSamples) });
    due += frameMs;
  }
  return { items, nextMs: due };
}
