import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { withLock } from '../../../stack/lock.ts';

test('withLock: a second holder waits for the first, and its waiting line says what the first is doing', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'vl-lock-')), 'job.lock');
  const order: string[] = [];
  const lines: string[] = [];
  let release!: () => void;
  const first = withLock(
    file,
    () => {},
    5000,
    async () => {
      order.push('first in');
      await new Promise<void>((r) => {
        release = r;
      });
      order.push('first out');
    },
  );
  await new Promise((r) => setTimeout(r, 50));
  // The same process's pid is alive, so the second waits like another process would.
  const second = withLock(
    file,
    (l) => lines.push(l),
    5000,
    async () => order.push('second'),
    'installing X',
  );
  await new Promise((r) => setTimeout(r, 700));
  assert.deepEqual(order, ['first in']);
  release();
  await Promise.all([first, second]);
  assert.deepEqual(order, ['first in', 'first out', 'second']);
  assert.deepEqual(lines, [`waiting for pid ${process.pid}, which is installing X`]);
  assert.equal(existsSync(file), false);
});

test('withLock: a lock left by a process that died is taken over; a live holder past the timeout is an error naming the job', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vl-lock-'));
  const dead = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => dead.on('exit', r));
  const stale = join(dir, 'stale.lock');
  writeFileSync(stale, `${dead.pid}\n`);
  assert.equal(
    await withLock(
      stale,
      () => {},
      1000,
      async () => 'ran',
    ),
    'ran',
  );

  const held = join(dir, 'held.lock');
  writeFileSync(held, `${process.pid}\n`);
  await assert.rejects(
    withLock(
      held,
      () => {},
      600,
      async () => 'never',
      'installing Debian packages',
    ),
    new RegExp(`timed out waiting for pid ${process.pid}, which is installing Debian packages`),
  );
});
