// inTransaction's statement timeout (storage/db.ts) against the real PostgreSQL: the transactions a
// role's consumer runs per batch are bounded (ROLE_STATEMENT_TIMEOUT_MS), because the consumer
// heartbeats while a batch is in work and a statement stuck on a lock would otherwise hold its
// partitions for ever. A statement past the limit is cancelled and comes back as a retriable DATABASE
// failure (what the role consumer waits out and tries again); the limit ends with its transaction.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VoiceloopError } from '../../lib/errors.ts';
import { createLogger } from '../../lib/log.ts';
import { createPool, inTransaction } from '../../storage/db.ts';
import { defer, testSettings } from '../helpers/runtime.ts';

test('a transaction statement past its statement timeout is cancelled as a retriable DATABASE failure; the limit ends with the transaction', async (t) => {
  // One connection, so the transaction after the cancelled one runs on the same session.
  const pool = createPool(testSettings('txtimeout'), createLogger('silent'), 1);
  defer(t, () => pool.end());
  const started = Date.now();
  await assert.rejects(
    inTransaction(pool, (c) => c.query('SELECT pg_sleep(5)'), { statementTimeoutMs: 300 }),
    (err: unknown) => {
      assert.ok(err instanceof VoiceloopError, String(err));
      assert.equal(err.code, 'DATABASE');
      assert.equal(err.canRetry, true, 'retriable: the role consumer waits it out');
      assert.equal((err.cause as { code?: string }).code, '57014', 'query_canceled');
      return true;
    },
  );
  const took = Date.now() - started;
  assert.ok(took < 4_000, `cancelled near its 300 ms limit, not after the 5 s sleep (${took} ms)`);
  // SET LOCAL: the next transaction on the same session has the server's default again (no limit).
  const shown = await inTransaction(pool, (c) =>
    c.query<{ statement_timeout: string }>('SHOW statement_timeout'),
  );
  assert.equal(shown.rows[0]!.statement_timeout, '0');
  const limited = await inTransaction(
    pool,
    (c) => c.query<{ statement_timeout: string }>('SHOW statement_timeout'),
    { statementTimeoutMs: 60_000 },
  );
  assert.equal(limited.rows[0]!.statement_timeout, '1min');
});

test('a statement timeout that is not a positive integer is refused naming it, before a connection is taken', async (t) => {
  const pool = createPool(testSettings('txtimeout'), createLogger('silent'), 1);
  defer(t, () => pool.end());
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    await assert.rejects(
      inTransaction(pool, async () => 'ran', { statementTimeoutMs: bad }),
      (err: Error) =>
        err instanceof VoiceloopError &&
        err.code === 'CONFIG_INVALID' &&
        /statementTimeoutMs must be a positive integer/.test(err.message),
    );
  }
  assert.equal(pool.totalCount, 0, 'no connection was opened for a refused call');
});
