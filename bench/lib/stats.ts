// Summary statistics and timing helpers shared by the benchmarks. Every figure is reported as the
// median of several runs with min and max: one run on a shared 2-core machine is an anecdote.

export function sorted(xs: readonly number[]): number[] {
  return [...xs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
}

/** Linear-interpolated quantile (q in [0, 1]); NaN for no data. */
export function quantile(xs: readonly number[], q: number): number {
  const s = sorted(xs);
  if (s.length === 0) return Number.NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export const median = (xs: readonly number[]) => quantile(xs, 0.5);

export function minOf(xs: readonly number[]): number {
  const s = sorted(xs);
  return s.length ? s[0]! : Number.NaN;
}

export function maxOf(xs: readonly number[]): number {
  const s = sorted(xs);
  return s.length ? s[s.length - 1]! : Number.NaN;
}

export const mean = (xs: readonly number[]) =>
  xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN;

/** Milliseconds since `t0` (performance.now()). */
export const since = (t0: number) => performance.now() - t0;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Repeats `fn` until it has run `minMs` in total (at least once), returns ms per call. For CPU
 * benchmarks: one "run" is a batch long enough that timer resolution and one GC do not dominate.
 */
export function timeBatch(fn: () => unknown, minMs: number): { msPerCall: number; calls: number } {
  let calls = 0;
  const t0 = performance.now();
  let elapsed = 0;
  do {
    fn();
    calls++;
    elapsed = performance.now() - t0;
  } while (elapsed < minMs);
  return { msPerCall: elapsed / calls, calls };
}

export async function timeBatchAsync(
  fn: () => Promise<unknown>,
  minMs: number,
): Promise<{ msPerCall: number; calls: number }> {
  let calls = 0;
  const t0 = performance.now();
  let elapsed = 0;
  do {
    await fn();
    calls++;
    elapsed = performance.now() - t0;
  } while (elapsed < minMs);
  return { msPerCall: elapsed / calls, calls };
}

/** Waits until `cond()` is true, polling every `everyMs`; false on timeout. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 5) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await cond()) return true;
    await sleep(everyMs);
  }
  return cond();
}

/** Runs `fns` with at most `concurrency` in flight; resolves when all are done. */
export async function pool<T>(
  items: readonly T[],
  concurrency: number,
  fn: (x: T, i: number) => Promise<void>,
) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
