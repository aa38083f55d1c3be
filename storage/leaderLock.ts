// One leader at a time among processes sharing a database, by a PostgreSQL session advisory lock: the
// outbox relay (one per stream), the maintenance role (one per database) and the webhook monitor (one
// per stream) all take theirs here. The key is text hashed by hashtext(), so 'outbox:<stream>' and
// 'voiceloop:maintenance' are the very locks they were before this module existed. A session lock
// lives with its connection: a leader that dies (process killed, connection cut) frees it at once, and
// whoever tries next takes over.
import type pg from 'pg';
import type { Pool, PoolClient } from './db.ts';

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

export async function tryAdvisoryLock(c: Queryable, key: string): Promise<boolean> {
  const r = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [key]);
  return r.rows[0]!.ok;
}

export async function advisoryUnlock(c: Queryable, key: string): Promise<void> {
  await c.query('SELECT pg_advisory_unlock(hashtext($1))', [key]);
}

export interface LeaderLock {
  /** True when this process leads (taking the lock if it is free); false when another holds it. */
  lead(): Promise<boolean>;
  readonly leader: boolean;
  /** Steps down and returns the lock's connection to the pool. */
  release(): Promise<void>;
}

/** A leader lock held on a pooled connection of its own, taken back from the pool only while leading. */
export function leaderLock(pool: Pool, key: string): LeaderLock {
  let conn: PoolClient | null = null;
  let stopWatching = () => {};
  return {
    async lead() {
      if (conn) return true;
      const c = await pool.connect();
      // The lock lives with this connection: when it dies, the lock is gone and leadership with it. The
      // listener leaves with the connection: a pooled client is handed out again to others, and a stale
      // listener releasing it then would release someone else's checkout.
      const onError = () => {
        c.off('error', onError);
        if (conn !== c) return;
        conn = null;
        c.release(true);
      };
      c.on('error', onError);
      try {
        if (await tryAdvisoryLock(c, key)) {
          conn = c;
          stopWatching = () => c.off('error', onError);
          return true;
        }
        c.off('error', onError);
        c.release();
        return false;
      } catch (err) {
        c.off('error', onError);
        c.release(err as Error);
        throw err;
      }
    },
    get leader() {
      return conn !== null;
    },
    async release() {
      const c = conn;
      conn = null;
      if (!c) return;
      stopWatching();
      await advisoryUnlock(c, key).catch(() => {});
      c.release();
    },
  };
}
