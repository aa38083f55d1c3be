// Starting and stopping the servers the stack owns. A pid file alone is not proof of ownership
// (pids are reused, and a container's init may never reap our exited children), so a process
// counts as ours only while it is alive, not a zombie, and its command line carries our marker.
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { createConnection } from 'node:net';
import { basename, dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { envWith } from '../lib/settings.ts';

export interface LaunchSpec {
  command: string;
  args: string[];
  cwd: string;
  env?: Record<string, string>;
  /** Run as this OS user (PostgreSQL refuses to run as root). */
  uid?: number;
  gid?: number;
}

/** A process's arguments, or undefined when it is gone (or a zombie, whose cmdline is empty). */
function argv(pid: number): string[] | undefined {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return args.length > 1 ? args : undefined;
  } catch {
    return undefined;
  }
}

function isZombie(pid: number): boolean {
  try {
    // The state is the first field after the parenthesised command name.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** How a server process is recognised: the program it runs, and an argument string only we use. */
export interface Identity {
  program: string;
  marker: string;
}

/** True when `pid` is a live `identity.program` process whose command line contains the marker. */
export function isOurs(pid: number, identity: Identity): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (isZombie(pid)) return false;
  const args = argv(pid);
  // The program check keeps a `grep <marker>` or an editor from passing for the server.
  return (
    args !== undefined && basename(args[0]!) === identity.program && args.join(' ').includes(identity.marker)
  );
}

/** Finds our server among all processes: for when its pid file was lost. */
export function findProcess(identity: Identity): number | undefined {
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (Number.isInteger(pid) && pid !== process.pid && isOurs(pid, identity)) return pid;
  }
  return undefined;
}

export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** The pid recorded in `pidFile` if that process is still ours. */
export function ownedPid(pidFile: string, identity: Identity): number | undefined {
  const pid = readPid(pidFile);
  return pid !== undefined && isOurs(pid, identity) ? pid : undefined;
}

/** Starts a detached server whose stdout/stderr append to `logFile`; records its pid. */
export function launch(spec: LaunchSpec, logFile: string, pidFile: string): number {
  mkdirSync(dirname(logFile), { recursive: true });
  mkdirSync(dirname(pidFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  try {
    writeFileSync(
      fd,
      `\n---- ${new Date().toISOString()} starting: ${spec.command} ${spec.args.join(' ')}\n`,
    );
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: envWith(spec.env),
      stdio: ['ignore', fd, fd],
      // Own process group: the servers outlive `stack up`, the test runner and Ctrl-C in its terminal.
      detached: true,
      ...(spec.uid === undefined ? {} : { uid: spec.uid, gid: spec.gid }),
    });
    if (child.pid === undefined) throw new Error(`could not start ${spec.command}`);
    child.on('error', () => {}); // a failed exec surfaces as "process exited" while waiting
    child.unref();
    writeFileSync(pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/**
 * Stops a process we own: `signal` first (each server's graceful one), SIGKILL after `timeoutMs`.
 * Re-checks ownership before every signal, so a pid that was reused is never signalled.
 */
export async function stop(
  pid: number,
  identity: Identity,
  signal: NodeJS.Signals,
  timeoutMs: number,
): Promise<'stopped' | 'killed' | 'gone'> {
  if (!isOurs(pid, identity)) return 'gone';
  process.kill(pid, signal);
  const deadline = Date.now() + timeoutMs;
  while (isOurs(pid, identity) && Date.now() < deadline) await sleep(200);
  if (!isOurs(pid, identity)) return 'stopped';
  process.kill(pid, 'SIGKILL');
  while (isOurs(pid, identity)) await sleep(100);
  return 'killed';
}

/** True when something accepts TCP connections on host:port. */
export function portOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * True as soon as one of `attempts` connections to host:port succeeds, `pauseMs` apart. What decides
 * whether a server must be started: on a loaded machine one connect can miss a server that is there,
 * and starting a second one on its port only fails later with "Address already in use".
 */
export async function portAnswers(
  host: string,
  port: number,
  opts: { attempts?: number; timeoutMs?: number; pauseMs?: number } = {},
): Promise<boolean> {
  const attempts = opts.attempts ?? 3;
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await sleep(opts.pauseMs ?? 500);
    if (await portOpen(host, port, opts.timeoutMs ?? 2_000)) return true;
  }
  return false;
}

/** The last `lines` lines of a log file, for error messages. */
export function logTail(logFile: string, lines = 40): string {
  if (!existsSync(logFile)) return `(no log at ${logFile})`;
  const text = readFileSync(logFile, 'utf8');
  return text.split('\n').slice(-lines).join('\n');
}

/**
 * Runs a setup command to completion (initdb, Maven, tar) without blocking the event loop, so
 * one service's setup overlaps another's start; throws with the command's output on failure.
 */
export function run(
  command: string,
  args: string[],
  opts: Omit<LaunchSpec, 'command' | 'args'>,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: envWith(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.gid }),
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => {
      output += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      output += b.toString();
    });
    child.once('error', (err) =>
      reject(new Error(`${command} could not run: ${err.message}`, { cause: err })),
    );
    child.once('close', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} failed (exit ${code}):\n${output.trim()}`));
    });
  });
}
