// The local service stack (DESIGN §10): PostgreSQL, Kafka, Apicurio Registry and S3Proxy on
// loopback, started by this project without Docker. `ensureStack` is what `npm test`, the demo and
// the benchmarks call; `stack/cli.ts` wraps it for `npm run stack:up|down|status`.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  defaultEndpoints,
  externalEndpoints,
  host,
  partialExternalVars,
  type StackEndpoints,
  stateDir,
} from './layout.ts';
import { withLock } from './lock.ts';
import { kafkaReady, postgresReady, registryReady, s3Ready } from './probes.ts';
import { portOpen, stop } from './proc.ts';
import {
  elapsed,
  ensureService,
  type Log,
  pidFileOf,
  planService,
  probe,
  runningPid,
  type Service,
} from './service.ts';
import { apicurio } from './services/apicurio.ts';
import { kafka } from './services/kafka.ts';
import { postgres } from './services/postgres.ts';
import { s3proxy } from './services/s3proxy.ts';

export { defaultEndpoints, endpoints, type StackEndpoints } from './layout.ts';

export interface StackInfo extends StackEndpoints {
  /** True when the endpoints came from the environment and nothing was started here. */
  external: boolean;
  stateDir: string;
}

export interface ServiceStatus {
  name: string;
  /** Pid of our running process; undefined when not running or not started by this stack. */
  pid?: number;
  port?: number;
  endpoint: string;
  ready: boolean;
  /** Why it is not ready: the probe's error. */
  detail?: string;
  logFile?: string;
}

// Apicurio stores its schemas in PostgreSQL, so PostgreSQL comes first; the rest start together.
// Apicurio leads its wave because it is the slowest to start and Maven runs are queued in order.
const startWaves: Service[][] = [[postgres], [apicurio, kafka, s3proxy]];
const allServices = startWaves.flat();
const lockFile = join(stateDir, 'run', 'lock');
const lockTimeoutMs = 10 * 60_000;

const silent: Log = () => {};
let inFlight: Promise<StackInfo> | undefined;

/** Brings up whatever is not running, waits until every service is ready, returns the endpoints. */
export function ensureStack(opts: { log?: Log } = {}): Promise<StackInfo> {
  // Concurrent callers in one process share one bring-up.
  inFlight ??= bringUp(opts.log ?? silent).finally(() => {
    inFlight = undefined;
  });
  return inFlight;
}

async function bringUp(log: Log): Promise<StackInfo> {
  const t0 = Date.now();
  if (externalEndpoints) {
    log(
      'KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL and S3_ENDPOINT are set: using external services, starting nothing',
    );
    await checkExternal(externalEndpoints, log);
    log(`external services ready (${elapsed(t0)})`);
    return { ...externalEndpoints, external: true, stateDir };
  }
  if (partialExternalVars.length > 0) {
    log(
      `only ${partialExternalVars.join(', ')} set (external services need all four); using the local stack`,
    );
  }
  await withLock(lockFile, log, lockTimeoutMs, async () => {
    // Only a service that must be started here has its jars fetched: one whose port already answers
    // (this checkout's or another's stack) is used as it is. Downloads (queued one Maven run at a
    // time, in this order) overlap PostgreSQL's start; a failure resurfaces from the service's own
    // prepare step, with its name on it. A running server's files are left alone.
    const plans = await Promise.all(allServices.map((svc) => planService(svc)));
    allServices.forEach((svc, i) => {
      if (plans[i] === 'start') svc.fetch?.((s) => log(`${svc.name}: ${s}`)).catch(() => {});
    });
    for (const wave of startWaves) {
      const results = await Promise.allSettled(wave.map((svc) => ensureService(svc, log)));
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
      if (failures.length === 1) throw failures[0];
      if (failures.length > 1) {
        throw new AggregateError(failures, failures.map((e) => e.message).join('\n\n'));
      }
    }
  });
  log(`stack ready in ${elapsed(t0)} (state: ${stateDir})`);
  return { ...defaultEndpoints, external: false, stateDir };
}

/** Waits up to a minute for the external services; names the ones that never answered. */
async function checkExternal(ep: StackEndpoints, log: Log): Promise<void> {
  const checks: [string, string, () => Promise<boolean>][] = [
    ['kafka', ep.kafkaBrokers.join(','), () => kafkaReady(ep.kafkaBrokers)],
    ['schema registry', ep.schemaRegistryUrl, () => registryReady(ep.schemaRegistryUrl)],
    ['postgres', redact(ep.databaseUrl), () => postgresReady(ep.databaseUrl)],
    ['s3', `${ep.s3.endpoint} bucket ${ep.s3.bucket}`, () => s3Ready(ep.s3)],
  ];
  const deadline = Date.now() + 60_000;
  const results = await Promise.all(
    checks.map(async ([name, where, check]) => {
      let lastError = 'not ready';
      while (Date.now() < deadline) {
        try {
          if (await check()) {
            log(`${name}: ready at ${where}`);
            return undefined;
          }
        } catch (err) {
          lastError = (err as Error).message;
        }
        await sleep(500);
      }
      return `${name} at ${where}: ${lastError}`;
    }),
  );
  const failed = results.filter((r) => r !== undefined);
  if (failed.length > 0) throw new Error(`external services not ready:\n${failed.join('\n')}`);
}

function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

/** Each service's pid (if ours), port and readiness. Starts and stops nothing. */
export async function stackStatus(): Promise<{ external: boolean; services: ServiceStatus[] }> {
  if (externalEndpoints) {
    const ep = externalEndpoints;
    const services: ServiceStatus[] = await Promise.all([
      status('kafka', ep.kafkaBrokers.join(','), () => kafkaReady(ep.kafkaBrokers)),
      status('schema registry', ep.schemaRegistryUrl, () => registryReady(ep.schemaRegistryUrl)),
      status('postgres', redact(ep.databaseUrl), () => postgresReady(ep.databaseUrl)),
      status('s3', ep.s3.endpoint, () => s3Ready(ep.s3)),
    ]);
    return { external: true, services };
  }
  const services = await Promise.all(
    allServices.map(async (svc): Promise<ServiceStatus> => {
      const pid = runningPid(svc);
      // Skip the client probe when nothing listens: a refused kafkajs connect is slow to give up.
      const result = (await portOpen(host, svc.port))
        ? await probe(() => svc.ready())
        : { ok: false, error: pid === undefined ? 'not running' : `pid ${pid} is not listening yet` };
      return {
        name: svc.name,
        pid,
        port: svc.port,
        endpoint: `${host}:${svc.port}`,
        ready: result.ok,
        detail: result.error,
        logFile: svc.logFile,
      };
    }),
  );
  return { external: false, services };
}

async function status(name: string, endpoint: string, check: () => Promise<boolean>): Promise<ServiceStatus> {
  const result = await probe(check);
  return { name, endpoint, ready: result.ok, detail: result.error };
}

/** Stops the processes this stack started, in reverse start order. Foreign processes are left alone. */
export async function stopStack(opts: { log?: Log } = {}): Promise<void> {
  const log = opts.log ?? silent;
  if (externalEndpoints) {
    log('using external services: nothing to stop');
    return;
  }
  await withLock(lockFile, log, lockTimeoutMs, async () => {
    for (const wave of [...startWaves].reverse()) {
      await Promise.all(
        wave.map(async (svc) => {
          const t0 = Date.now();
          const pid = runningPid(svc);
          if (pid === undefined) {
            log(`${svc.name}: not running`);
          } else {
            const how = await stop(pid, svc, svc.stopSignal, svc.stopTimeoutMs);
            const detail =
              how === 'killed' ? `, SIGKILL after ${svc.stopTimeoutMs / 1000}s of ${svc.stopSignal}` : '';
            log(`${svc.name}: stopped pid ${pid} (${elapsed(t0)}${detail})`);
          }
          rmSync(pidFileOf(svc), { force: true });
        }),
      );
    }
  });
}
