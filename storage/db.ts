import pg from 'pg';
import { VoiceloopError, wrapIo } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { Settings } from '../lib/settings.ts';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export function createPool(cfg: Readonly<Settings>, log: Logger, max = cfg.database.poolMax): pg.Pool {
  const pool = new pg.Pool({
    connectionString: cfg.database.url,
    max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
  });
  // Without this listener an idle client's disconnect (server restart, network blip) is an
  // unhandled 'error' event that kills the process; the pool replaces the client by itself.
  pool.on('error', (err) => log.warn({ err }, 'idle PostgreSQL client failed; the pool replaces it'));
  // A checked-out client has no listener of the pool's: its connection dying between two queries (a
  // server restart) would be an unhandled 'error' event too. Every client gets one for its whole life;
  // the pool discards a client that is no longer queryable when it is released.
  pool.on('connect', (client) => {
    client.on('error', (err) =>
      log.warn({ err: err.message }, 'PostgreSQL connection failed; client discarded'),
    );
  });
  return pool;
}

/**
 * Classifies a PostgreSQL failure once, by its SQLSTATE (a code, never the message): classes 22 (data
 * exception) and 23 (integrity violation) mean this data is bad — DATA_REFUSED, not retriable; anything
 * else is the database being unwell or unreachable — DATABASE, retriable.
 */
export function pgError(context: string, err: unknown): VoiceloopError {
  if (err instanceof VoiceloopError) return err;
  const sqlstate = (err as { code?: unknown }).code;
  if (typeof sqlstate === 'string' && /^2[23]/.test(sqlstate)) {
    const msg = err instanceof Error ? err.message : String(err);
    return new VoiceloopError('DATA_REFUSED', `${context}: ${msg} (SQLSTATE ${sqlstate})`, { cause: err });
  }
  return wrapIo('DATABASE', context, err);
}

const commitHooks = new WeakMap<pg.PoolClient, (() => void)[]>();

/**
 * Runs `fn` once the transaction `c` (opened by inTransaction) has committed, never if it rolls back:
 * what must only be said of committed facts (metrics counted, workers woken) waits for the commit.
 * Outside inTransaction it runs at once.
 */
export function afterCommit(c: pg.PoolClient, fn: () => void): void {
  const hooks = commitHooks.get(c);
  if (hooks) hooks.push(fn);
  else fn();
}

/**
 * PostgreSQL's statement_timeout for the transactions a role's consumer runs per batch (the persister,
 * the online optimizer, the A/B runner). The consumer heartbeats while a batch is in work, so a statement
 * waiting on a lock nobody releases would otherwise hold its partitions for ever; cancelled (SQLSTATE
 * 57014, DATABASE, retriable), the batch is tried again in place after a pause. A busy batch takes well
 * under a second here.
 */
export const ROLE_STATEMENT_TIMEOUT_MS = 60_000;

export interface TransactionOptions {
  /** statement_timeout for this transaction's statements (SET LOCAL), whole milliseconds >= 1. */
  statementTimeoutMs?: number;
}

/** inTransaction under ROLE_STATEMENT_TIMEOUT_MS: for the work a role's consumer does per batch. */
export function inRoleTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  return inTransaction(pool, fn, { statementTimeoutMs: ROLE_STATEMENT_TIMEOUT_MS });
}

/** Refuses a statement timeout that is not whole milliseconds >= 1 (`owner` names who was given it). */
export function checkStatementTimeout(ms: number, owner?: string): number {
  if (!Number.isInteger(ms) || ms < 1)
    throw new VoiceloopError(
      'CONFIG_INVALID',
      `${owner ? `${owner} ` : ''}statementTimeoutMs must be a positive integer of milliseconds, got ${ms}`,
    );
  return ms;
}

/** Runs fn in one transaction; rolls back on any error and rethrows it wrapped as DATABASE. */
export async function inTransaction<T>(
  pool: pg.Pool,
  fn: (c: pg.PoolClient) => Promise<T>,
  opts: TransactionOptions = {},
): Promise<T> {
  const timeout =
    opts.statementTimeoutMs === undefined ? undefined : checkStatementTimeout(opts.statementTimeoutMs);
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw wrapIo('DATABASE', 'connecting to PostgreSQL', err);
  }
  const hooks: (() => void)[] = [];
  commitHooks.set(client, hooks);
  let out: T;
  try {
    await client.query('BEGIN');
    if (timeout !== undefined) await client.query(`SET LOCAL statement_timeout = ${timeout}`);
    out = await fn(client);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw pgError('transaction rolled back', err);
  } finally {
    commitHooks.delete(client);
    client.release();
  }
  for (const h of hooks) h();
  return out;
}
