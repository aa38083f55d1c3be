// A private schema registry (Apicurio) for tests that must destroy a whole stack's data (the
// backup/restore test) or kill the registry (its fault test) without touching the shared one: the jars
// the stack runs (stack/services/apicurio.ts fetches them, cached), its own ports and folder; killed
// with SIGKILL and the folder removed. (The private S3 store is test/helpers/privateS3.ts.)
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stateDir } from '../../stack/layout.ts';
import { registryReady } from '../../stack/probes.ts';
import { apicurio } from '../../stack/services/apicurio.ts';
import { javaFor } from '../../stack/services/java.ts';
import { freePort, type PrivateServer, startPrivateServer } from './privateProcess.ts';

export interface PrivateRegistry extends PrivateServer {
  url: string;
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
  const server = await startPrivateServer({
    name: 'private schema registry',
    dir,
    spawn: () =>
      spawn(java, ['-Xmx384m', ...Object.entries(props).map(([k, v]) => `-D${k}=${v}`), '-jar', jar], {
        cwd: dir,
        stdio: 'ignore',
      }),
    ready: () => registryReady(url),
    // 5 minutes: a restart on the loaded 2-core machine once took longer than 180 s (about a minute's
    // start on a quiet one).
    timeoutMs: 300_000,
  });
  return { ...server, url };
}
