// A private PostgreSQL server for fault tests: its own data directory and port, so a test may kill and
// restart it while everyone else keeps using the shared stack's server. Same Debian binaries as
// stack/services/postgres.ts; as root it runs as the `postgres` OS user (initdb refuses root).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePort, guardServer } from './privateProcess.ts';

export { freePort };

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const v = existsSync(root)
    ? readdirSync(root)
        .filter((x) => existsSync(join(root, x, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))[0]
    : undefined;
  if (!v) throw new Error('PostgreSQL binaries not found under /usr/lib/postgresql (npm test installs them)');
  return join(root, v, 'bin');
}

function osUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'voiceloop']) {
    try {
      const [, , uid, gid] = execFileSync('getent', ['passwd', name]).toString().trim().split(':');
      return { uid: Number(uid), gid: Number(gid) };
    } catch {}
  }
  throw new Error('running as root and no postgres/voiceloop OS user to run PostgreSQL as');
}

export interface PrivatePostgres {
  url: string;
  port: number;
  /** The server's folder (data and socket). */
  dir: string;
  /** The postmaster's pid, which leads the server's process group. */
  pid(): number | undefined;
  start(): Promise<void>;
  /** Kills the server (SIGKILL: no shutdown, every connection reset) and waits for it to exit. */
  kill(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir();
  const user = osUser();
  const dir = mkdtempSync(join(tmpdir(), 'voiceloop-pg-'));
  const data = join(dir, 'data');
  const run = join(dir, 'run');
  for (const d of [data, run]) mkdirSync(d, { recursive: true, mode: 0o700 });
  if (user) for (const d of [dir, data, run]) chownSync(d, user.uid, user.gid);
  execFileSync(
    join(bin, 'initdb'),
    ['-D', data, '--username=postgres', '--auth=trust', '--no-locale', '-E', 'UTF8'],
    {
      stdio: 'ignore',
      ...(user ?? {}),
    },
  );
  const port = await freePort();
  let proc: ChildProcess | undefined;
  const url = `postgres://postgres@127.0.0.1:${port}/voiceloop`;

  async function waitReady(): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const c = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
      c.on('error', () => {});
      try {
        await c.connect();
        const r = await c.query("SELECT 1 FROM pg_database WHERE datname = 'voiceloop'");
        if (r.rowCount === 0) await c.query('CREATE DATABASE voiceloop');
        await c.end();
        return;
      } catch (err) {
        await c.end().catch(() => {});
        if (Date.now() > deadline)
          throw new Error(`private PostgreSQL did not start: ${(err as Error).message}`);
        await sleep(100);
      }
    }
  }

  const self: PrivatePostgres = {
    url,
    port,
    dir,
    pid: () => proc?.pid,
    async start() {
      proc = spawn(
        join(bin, 'postgres'),
        [
          '-D',
          data,
          '-c',
          'listen_addresses=127.0.0.1',
          '-c',
          `port=${port}`,
          '-c',
          `unix_socket_directories=${run}`,
          '-c',
          'max_connections=100',
          '-c',
          'fsync=off',
        ],
        // Its own process group, so a kill takes the postmaster and every backend at once (backends
        // left behind would hold the shared memory and block the restart).
        { stdio: 'ignore', detached: true, ...(user ?? {}) },
      );
      guardServer(proc, dir);
      await waitReady();
    },
    async kill() {
      const p = proc;
      // Ended by a signal: exitCode null, signalCode set (killed before: nothing left to kill).
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      const exited = new Promise((r) => p.once('exit', r));
      process.kill(-p.pid!, 'SIGKILL');
      await exited;
      for (let i = 0; i < 100; i++) {
        try {
          execFileSync('pgrep', ['-g', String(p.pid)], { stdio: 'ignore' });
          await sleep(50);
        } catch {
          break; // no process left in the group
        }
      }
      rmSync(join(data, 'postmaster.pid'), { force: true });
    },
    async destroy() {
      await self.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await self.start();
  return self;
}
