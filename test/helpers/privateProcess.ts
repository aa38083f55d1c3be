// What the private servers of the fault tests share: start a process, wait until it answers, kill it
// with SIGKILL (a crash, not a controlled shutdown).
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

/** Waits until `ready` says yes; throws when the process exits first or the deadline passes. */
export async function waitAnswers(
  name: string,
  proc: ChildProcess,
  ready: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready().catch(() => false))) {
    if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode}`);
    if (Date.now() > deadline) throw new Error(`${name} did not answer within ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}

/** SIGKILLs the process (when it runs) and waits for it to exit. */
export async function sigkill(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGKILL');
  await exited;
}
