// A private S3 store (S3Proxy, filesystem backend) and a private schema registry (Apicurio) for tests
// that must destroy a whole stack's data (the backup/restore test) or kill a service (the registry fault
// test) without touching the shared one. The same jars the stack runs (stack/services/s3proxy.ts,
// apicurio.ts fetch them, cached), their own ports and folders; destroyed with SIGKILL and the folder
// removed.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { localS3 } from '../../stack/endpoints.ts';
import { stateDir } from '../../stack/layout.ts';
import { registryReady, s3Answers } from '../../stack/probes.ts';
import { apicurio } from '../../stack/services/apicurio.ts';
import { javaFor } from '../../stack/services/java.ts';
import { s3proxy } from '../../stack/services/s3proxy.ts';
import { freePort } from './privatePostgres.ts';
import { sigkill } from './privateProcess.ts';

export interface PrivateService {
  url: string;
  destroy(): Promise<void>;
}

async function waitUp(
  proc: ChildProcess,
  what: string,
  ready: () => Promise<boolean>,
  ms: number,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ready().catch(() => false))) {
    if (proc.exitCode !== null) throw new Error(`private ${what} exited with ${proc.exitCode}`);
    if (Date.now() > deadline) throw new Error(`private ${what} did not answer within ${ms / 1000} s`);
    await sleep(250);
  }
}

function destroyer(proc: ChildProcess, dir: string) {
  return async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
}

export async function startPrivateS3(): Promise<PrivateService> {
  await s3proxy.fetch!(() => {});
  const java = (await javaFor(17)).bin;
  const dir = mkdtempSync(join(tmpdir(), 'voiceloop-s3-'));
  mkdirSync(join(dir, 'data'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const props = {
    's3proxy.endpoint': url,
    's3proxy.authorization': 'aws-v2-or-v4',
    's3proxy.identity': localS3.accessKeyId,
    's3proxy.credential': localS3.secretAccessKey,
    'jclouds.provider': 'filesystem',
    'jclouds.filesystem.basedir': join(dir, 'data'),
    'jclouds.identity': localS3.accessKeyId,
    'jclouds.credential': localS3.secretAccessKey,
  };
  writeFileSync(
    join(dir, 's3proxy.properties'),
    Object.entries(props)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(''),
  );
  writeFileSync(join(dir, 'logback.xml'), '<configuration><root level="WARN"/></configuration>\n');
  const proc = spawn(
    java,
    [
      '-Xmx256m',
      `-Dlogback.configurationFile=${join(dir, 'logback.xml')}`,
      '-cp',
      `${join(stateDir, 's3proxy', 'libs')}/*`,
      'org.gaul.s3proxy.Main',
      '--properties',
      join(dir, 's3proxy.properties'),
    ],
    { cwd: dir, stdio: 'ignore' },
  );
  await waitUp(proc, 'S3Proxy', () => s3Answers({ ...localS3, endpoint: url }), 90_000);
  return { url, destroy: destroyer(proc, dir) };
}

export interface PrivateRegistry extends PrivateService {
  /** Starts the registry again after kill() (same port, same storage). */
  start(): Promise<void>;
  /** SIGKILL: a crash, not a controlled shutdown. */
  kill(): Promise<void>;
}

/**
 * A private Apicurio. Without `database` it keeps its schemas in memory (gone with the process); with
 * a PostgreSQL database (3.x) it stores them there, as the stack does, so they survive a kill and a
 * restart. The 2.x line can only store in H2: a file under the registry's folder then, as the stack's.
 */
export async function startPrivateRegistry(
  opts: { database?: { host: string; port: number; name: string; user: string } } = {},
): Promise<PrivateRegistry> {
  await apicurio.fetch!(() => {});
  const app = join(stateDir, 'apicurio', 'app');
  // Whichever line the stack chose is unpacked there: 3.x (quarkus-run.jar, Java 21) or 2.x (runner jar, 17).
  const line3 = existsSync(join(app, 'quarkus-run.jar'));
  const jar = line3
    ? join(app, 'quarkus-run.jar')
    : join(app, readdirSync(app).find((f) => f.endsWith('-runner.jar'))!);
  const java = (await javaFor(line3 ? 21 : 17)).bin;
  const dir = mkdtempSync(join(tmpdir(), 'voiceloop-registry-'));
  const [port, management] = [await freePort(), await freePort()];
  const db = opts.database;
  const storage: Record<string, string | number> = !db
    ? {} // the registry's own default: an in-memory database
    : line3
      ? {
          'apicurio.storage.kind': 'sql',
          'apicurio.storage.sql.kind': 'postgresql',
          'apicurio.datasource.url': `jdbc:postgresql://${db.host}:${db.port}/${db.name}`,
          'apicurio.datasource.username': db.user,
          'apicurio.datasource.password': 'unused',
          'apicurio.datasource.jdbc.initial-size': 2,
          'apicurio.datasource.jdbc.min-size': 2,
        }
      : { REGISTRY_DATASOURCE_URL: `jdbc:h2:file:${join(dir, 'h2')};DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0` };
  const props = {
    'quarkus.http.host': '127.0.0.1',
    'quarkus.http.port': port,
    'quarkus.management.host': '127.0.0.1',
    'quarkus.management.port': management,
    'java.io.tmpdir': dir,
    'apicurio.storage.snapshot.location': dir,
    'CoreEnvironmentBean.processImplementationClassName':
      'com.arjuna.ats.internal.arjuna.utils.UuidProcessId',
    ...storage,
  };
  const url = `http://127.0.0.1:${port}/apis/ccompat/v7`;
  let proc: ChildProcess | undefined;
  const self: PrivateRegistry = {
    url,
    async start() {
      proc = spawn(java, ['-Xmx384m', ...Object.entries(props).map(([k, v]) => `-D${k}=${v}`), '-jar', jar], {
        cwd: dir,
        stdio: 'ignore',
      });
      await waitUp(proc, 'schema registry', () => registryReady(url), 180_000);
    },
    kill: () => sigkill(proc),
    async destroy() {
      await sigkill(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await self.start();
  return self;
}
