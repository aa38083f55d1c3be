// What the private servers of the fault and backup tests share: a free port, a process started until it
// answers, killed with SIGKILL (a crash, not a controlled shutdown) and started again on the same port
// and folder, and the folder removed when the test is done with it; and a watchdog that takes the
// server and its folder away when the test process dies without cleaning up (SIGKILL, a crash).
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

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
  // A process that ended by a signal has exitCode null and signalCode set: it has exited all the same.
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGKILL');
  await exited;
}

/**
 * Guards against an orphaned server: a shell of its own (its own process group, so whatever kills this
 * process's group does not take it too) checks every second that this process and the server both
 * live. When this process is gone (a test run killed with SIGKILL runs no cleanup) it SIGKILLs the
 * server's process group (the server alone when it leads none) and removes `dir`; when the server is
 * gone (killed by the test, or ended) it just exits, and the next start has a watchdog of its own.
 */
export function guardServer(server: ChildProcess, dir: string): void {
  const pid = server.pid;
  if (pid === undefined) return;
  const script = [
    `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${pid} 2>/dev/null; do sleep 1; done`,
    `if ! kill -0 ${process.pid} 2>/dev/null; then`,
    `  kill -KILL -${pid} 2>/dev/null || kill -KILL ${pid} 2>/dev/null`,
    // The server's backends (PostgreSQL) may take a moment to go; its folder goes after them.
    '  sleep 1',
    `  rm -rf -- '${dir.replaceAll("'", "'\\''")}'`,
    'fi',
  ].join('\n');
  const watchdog = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  watchdog.on('error', () => {}); // no sh: no guard, as before
  watchdog.unref();
}

export interface PrivateServer {
  /** The server's folder. */
  readonly dir: string;
  /** The running server's pid (undefined before the first start). */
  pid(): number | undefined;
  /** Starts the process (again, after kill: same port, same folder) and waits until it answers. */
  start(): Promise<void>;
  /** SIGKILL: a crash, not a controlled shutdown. */
  kill(): Promise<void>;
  /** Kills it and removes its folder. */
  destroy(): Promise<void>;
}

/** A private server process living in `dir`, started once before this resolves. */
export async function startPrivateServer(o: {
  name: string;
  dir: string;
  spawn: () => ChildProcess;
  ready: () => Promise<boolean>;
  timeoutMs: number;
}): Promise<PrivateServer> {
  let proc: ChildProcess | undefined;
  const self: PrivateServer = {
    dir: o.dir,
    pid: () => proc?.pid,
    async start() {
      proc = o.spawn();
      guardServer(proc, o.dir);
      await waitAnswers(o.name, proc, o.ready, o.timeoutMs);
    },
    kill: () => sigkill(proc),
    async destroy() {
      await sigkill(proc);
      rmSync(o.dir, { recursive: true, force: true });
    },
  };
  try {
    await self.start();
  } catch (err) {
    await self.destroy();
    throw err;
  }
  return self;
}
