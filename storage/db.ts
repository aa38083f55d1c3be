import pg from 'pg';
import type { Config } from '../lib/config.ts';
import { wrapIo } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export function createPool(cfg: Readonly<Config>, log: Logger, max = cfg.database.poolMax): pg.Pool {
  const pool = new pg.Pool({
    connectionString: cfg.database.url,
    max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
  });
  // Without this listener an idle client's disconnect (server restart, network blip) is an
  // unhandled 'error' event that kills the process; the pool replaces the client by itself.
  pool.on('error', (err) => log.warn({ err }, 'idle PostgreSQL client failed; the pool replaces it'));
  return pool;
}

/** Runs fn in one transaction; rolls back on any error and rethrows it wrapped as DATABASE. */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw wrapIo('DATABASE', 'connecting to PostgreSQL', err);
  }
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw wrapIo('DATABASE', 'transaction rolled back', err);
  } finally {
    client.release();
  }
}
