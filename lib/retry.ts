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
      const cap = Math.min(o.maxDelayMs, o.initialDelayMs * 2 ** attempt);
      const delay = Math.round(Math.random() * cap);
      o.onRetry?.(err, attempt + 1, delay);
      await sleep(delay, undefined, o.signal ? { signal: o.signal } : undefined);
    }
  }
}
