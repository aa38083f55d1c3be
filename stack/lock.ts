// One job at a time across processes, by a file holding the holder's pid: one stack `up`/`down` (a
// test run and the demo may start together: the loser waits instead of launching a second copy of
// every server on the same ports), one sidecar install, one apt-get.
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Log } from './service.ts';

function holder(lockFile: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
    return Number.isInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function ageMs(file: string): number {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

export async function withLock<T>(
  lockFile: string,
  log: Log,
  timeoutMs: number,
  fn: () => Promise<T>,
  /** What the holder is doing, for the waiting line and the timeout's error. */
  what = 'starting or stopping the stack',
): Promise<T> {
  mkdirSync(dirname(lockFile), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  for (;;) {
    try {
      writeFileSync(lockFile, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = holder(lockFile);
      // An empty file is either being written this instant or left by a crash: judge by age.
      if (pid === undefined && ageMs(lockFile) < 5000) {
        await sleep(100);
        continue;
      }
      // A holder that died (Ctrl-C, crash) leaves its file behind; take over.
      if (pid === undefined || !alive(pid)) {
        rmSync(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for pid ${pid}, which is ${what} (${lockFile})`);
      if (!announced) log(`waiting for pid ${pid}, which is ${what}`);
      announced = true;
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockFile, { force: true });
  }
}
