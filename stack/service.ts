// The shape every local server shares, and the one routine that brings any of them up:
// reuse it if it is ours and running, otherwise prepare, launch, wait, bootstrap.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { host, stateDir } from './layout.ts';
import {
  findProcess,
  type Identity,
  isOurs,
  type LaunchSpec,
  launch,
  logTail,
  ownedPid,
  portAnswers,
} from './proc.ts';

export type Log = (line: string) => void;

/** `program` and `marker` (an argument only our copy has) identify the server's process; see proc.ts. */
export interface Service extends Identity {
  name: string;
  /** The port clients use; `status` shows it, and a busy port blocks a second copy. */
  port: number;
  /** Where the server's own output goes; its tail is printed when it fails to start. */
  logFile: string;
  startTimeoutMs: number;
  /** Graceful stop signal; SIGKILL follows after stopTimeoutMs. */
  stopSignal: NodeJS.Signals;
  stopTimeoutMs: number;
  /**
   * Downloads and unpacks the server (Maven), if missing. Kicked off for every service at the start
   * of `up` so downloads overlap PostgreSQL's start; memoised (see `once`).
   */
  fetch?(log: Log): Promise<void>;
  /** Everything else before launch (initdb, storage format, config files). Fast when already done. */
  prepare(log: Log): Promise<void>;
  command(): LaunchSpec;
  /** One probe: the server answers. Used while waiting after launch. */
  answers(): Promise<boolean>;
  /** Creates what clients expect (roles, databases, buckets); idempotent. */
  bootstrap?(log: Log): Promise<void>;
  /** One probe: usable by clients, bootstrap included. Used by `status` and at the end of `up`. */
  ready(): Promise<boolean>;
}

export const pidFileOf = (svc: Service): string => join(stateDir, 'run', `${svc.name}.pid`);

export const logsDir = join(stateDir, 'logs');

/**
 * Our running server's pid: from its pid file, or found among all processes when the pid file was
 * lost (deleted run/, a crash between launch and write); the pid file is then rewritten.
 */
export function runningPid(svc: Service): number | undefined {
  const pidFile = pidFileOf(svc);
  const recorded = ownedPid(pidFile, svc);
  if (recorded !== undefined) return recorded;
  const found = findProcess(svc);
  if (found !== undefined) {
    mkdirSync(dirname(pidFile), { recursive: true });
    writeFileSync(pidFile, `${found}\n`);
  }
  return found;
}

/** Runs `fn` at most once at a time and keeps its success; a failure is forgotten, so a later call retries. */
export function once(fn: (log: Log) => Promise<void>): (log: Log) => Promise<void> {
  let result: Promise<void> | undefined;
  return (log) => {
    result ??= fn(log).catch((err: unknown) => {
      result = undefined;
      throw err;
    });
    return result;
  };
}

export function elapsed(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)}s`;
}

/** Runs `fn` and logs `label` with its duration; a failure propagates as it is. */
export async function timed<T>(log: Log, label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  const result = await fn();
  log(`${label} (${elapsed(t0)})`);
  return result;
}

/** Runs one probe; a throw counts as "no", with its message kept for the report. */
export async function probe(fn: () => Promise<boolean>): Promise<{ ok: boolean; error?: string }> {
  try {
    return (await fn()) ? { ok: true } : { ok: false, error: 'probe said no' };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

export class StartError extends Error {
  constructor(svc: Service, reason: string, showLog = true) {
    super(
      showLog
        ? `${svc.name} ${reason}; log: ${svc.logFile}\n---- last lines of ${svc.logFile}\n${logTail(svc.logFile)}`
        : `${svc.name} ${reason}`,
    );
    this.name = 'StartError';
  }
}

/** Polls `check` until it holds; fails early when the process dies, late on the timeout. */
async function waitFor(
  svc: Service,
  check: () => Promise<boolean>,
  what: string,
  pid: number | undefined,
  startedAt: number,
): Promise<void> {
  for (;;) {
    const result = await probe(check);
    if (result.ok) return;
    if (pid !== undefined && !isOurs(pid, svc)) {
      throw new StartError(svc, `exited while starting (pid ${pid})`);
    }
    if (Date.now() - startedAt > svc.startTimeoutMs) {
      throw new StartError(
        svc,
        `not ${what} after ${svc.startTimeoutMs / 1000}s (last probe: ${result.error})`,
      );
    }
    await sleep(250);
  }
}

/**
 * What bringing a service up will do: reuse our running copy, use a server another checkout (or
 * anyone) runs on its port, or start one here — only then are its jars fetched.
 */
export async function planService(svc: Service): Promise<'ours' | 'foreign' | 'start'> {
  if (runningPid(svc) !== undefined) return 'ours';
  return (await portAnswers(host, svc.port)) ? 'foreign' : 'start';
}

/**
 * Brings one service to ready. A running copy of ours is reused; a foreign server already on our
 * port is used if it answers (with a warning: `down` will not stop it) rather than fought over.
 */
export async function ensureService(svc: Service, log: Log): Promise<void> {
  const t0 = Date.now();
  const say = (s: string) => log(`${svc.name}: ${s}`);
  const pid = runningPid(svc);
  if (pid !== undefined) {
    // Ours and alive: possibly still starting (a parallel `up`), so wait rather than judge.
    await waitFor(svc, () => svc.answers(), 'answering', pid, t0);
    if (svc.bootstrap) await svc.bootstrap(say);
    await waitFor(svc, () => svc.ready(), 'ready', pid, t0);
    say(`already running, pid ${pid}, ready (${elapsed(t0)})`);
    return;
  }
  if (await portAnswers(host, svc.port)) {
    // Another checkout's stack (or any server) already serving what clients need: use it as it is.
    // Its admin access (e.g. PostgreSQL's unix socket in that checkout's state folder) is not ours.
    if ((await probe(() => svc.ready())).ok) {
      say(
        `port ${svc.port} is served, ready, by a process this stack did not start; using it (down will not stop it)`,
      );
      return;
    }
    const answered = await probe(() => svc.answers());
    if (answered.ok) {
      if (svc.bootstrap) await svc.bootstrap(say);
      await waitFor(svc, () => svc.ready(), 'ready', undefined, t0);
      say(
        `port ${svc.port} is served by a process this stack did not start; using it (down will not stop it)`,
      );
      return;
    }
    throw new StartError(
      svc,
      `cannot start: port ${host}:${svc.port} is taken by another process (${answered.error})`,
      false,
    );
  }
  await svc.prepare(say);
  const { pid: newPid, started } = await launchUntilAnswering(svc, say);
  if (svc.bootstrap) await svc.bootstrap(say);
  await waitFor(svc, () => svc.ready(), 'ready', newPid, started);
  say(`ready (${elapsed(t0)} total)`);
}

/** Launches beyond the first after a lost race for the port (see launchUntilAnswering). */
export const BIND_RETRIES = 2;
/** The log line where a server says its port was taken (s3proxy, Java, PostgreSQL, Kafka, Prometheus, Node). */
const bindFailureLine =
  /.*(?:failed to bind|could not bind|address already in use|BindException|EADDRINUSE).*/i;

/** What the log gained since `from` bytes: one launch's own output. */
function logSince(logFile: string, from: number): string {
  try {
    const text = readFileSync(logFile);
    return text.subarray(Math.min(from, text.length)).toString('utf8');
  } catch {
    return '';
  }
}

const sizeOf = (file: string): number => (existsSync(file) ? statSync(file).size : 0);

/**
 * Launches the server and waits until it answers. Our fixed ports lie inside Linux's ephemeral range
 * (32768-60999), and the services start side by side: an outgoing connection (the registry's to
 * PostgreSQL, say) can hold one of them as its local port for the instant a server binds it. A
 * server that exits while starting, saying its port was taken, with nothing answering there a moment
 * later, is therefore launched again, up to BIND_RETRIES more times a second apart. Any other
 * failure (a crash, a timeout, a server that does answer there) is reported at once.
 */
async function launchUntilAnswering(svc: Service, say: Log): Promise<{ pid: number; started: number }> {
  for (let attempt = 0; ; attempt++) {
    const logFrom = sizeOf(svc.logFile);
    const started = Date.now();
    const pid = launch(svc.command(), svc.logFile, pidFileOf(svc));
    say(`started pid ${pid}, waiting for it to answer on ${host}:${svc.port}`);
    try {
      await waitFor(svc, () => svc.answers(), 'answering', pid, started);
      say(`answers (${elapsed(started)} after launch)`);
      return { pid, started };
    } catch (err) {
      const said = logSince(svc.logFile, logFrom).match(bindFailureLine);
      const retry =
        attempt < BIND_RETRIES &&
        said !== null &&
        !isOurs(pid, svc) &&
        !(await portAnswers(host, svc.port, { attempts: 1, timeoutMs: 500 }));
      if (!retry) throw err;
      say(
        `exited while starting, its port taken for a moment ("${said[0].trim()}"); nothing answers there now, launching it again in 1 s (attempt ${attempt + 2} of ${BIND_RETRIES + 1})`,
      );
      await sleep(1000);
    }
  }
}
