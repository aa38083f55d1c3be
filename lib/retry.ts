// The one place that retries (STYLE §4): exponential backoff with full jitter, every attempt's error
// kept, and only errors that declare `canRetry` are tried again.
import { setTimeout as sleep } from 'node:timers/promises';
import { canRetry as defaultCanRetry } from './errors.ts';

export interface RetryOptions {
  retries: number; // attempts after the first
  initialDelayMs: number;
  maxDelayMs: number;
  canRetry?: (err: unknown) => boolean;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
}

export const DEFAULT_RETRY: RetryOptions = { retries: 5, initialDelayMs: 100, maxDelayMs: 5_000 };

export class RetriesExhaustedError extends AggregateError {
  constructor(errors: unknown[], what: string) {
    const last = errors[errors.length - 1];
    super(
      errors,
      `${what} failed after ${errors.length} attempt(s): ${last instanceof Error ? last.message : String(last)}`,
    );
    this.name = 'RetriesExhaustedError';
    this.cause = last;
  }
}

/** Full-jitter exponential backoff: a random delay in [0, min(max, initial * 2^attempt)]. */
export function backoffDelay(attempt: number, initialDelayMs: number, maxDelayMs: number): number {
  return Math.round(Math.random() * Math.min(maxDelayMs, initialDelayMs * 2 ** attempt));
}

export async function retry<T>(
  what: string,
  fn: (attempt: number) => Promise<T>,
  opts: Partial<RetryOptions> = {},
): Promise<T> {
  const o = { ...DEFAULT_RETRY, ...opts };
  const check = o.canRetry ?? defaultCanRetry;
  const errors: unknown[] = [];
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      errors.push(err);
      if (attempt >= o.retries || !check(err) || o.signal?.aborted) {
        if (errors.length === 1) throw err;
        throw new RetriesExhaustedError(errors, what);
      }
      const delay = backoffDelay(attempt, o.initialDelayMs, o.maxDelayMs);
      o.onRetry?.(err, attempt + 1, delay);
      await sleep(delay, undefined, o.signal ? { signal: o.signal } : undefined);
    }
  }
}
