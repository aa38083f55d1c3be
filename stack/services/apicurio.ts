// Apicurio Registry 3: the Confluent-compatible schema registry (API under /apis/ccompat/v7).
// The `all` tar.gz on Maven Central is the runnable Quarkus app. Its storage is SQL on our
// PostgreSQL (database `apicurio`), so schema ids survive restarts just as Kafka's records do.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { copyArtifact, hasMarker, writeMarker } from '../maven.ts';
import { registryReady } from '../probes.ts';
import { run } from '../proc.ts';
import { logsDir, once, type Service, timed } from '../service.ts';
import { defaultEndpoints, host, ports, postgresCredentials, stateDir, versions } from '../settings.ts';
import { type Java, javaFor } from './java.ts';
import { apicurioJdbcUrl } from './postgres.ts';

const baseDir = join(stateDir, 'apicurio');
const downloadDir = join(baseDir, 'download');
const appDir = join(baseDir, 'app');
const workDir = join(baseDir, 'work');
const cdsDir = join(baseDir, 'cds');
/** The Java chosen in prepare(); see java.ts. */
let java: Java = { bin: 'java', major: 0 };

// Quarkus reads these as system properties; see application.properties inside
// app/apicurio-registry-app-<v>.jar for the names and their defaults.
function systemProperties(): Record<string, string | number> {
  return {
    'quarkus.http.host': host,
    'quarkus.http.port': ports.apicurio,
    'quarkus.management.host': host,
    'quarkus.management.port': ports.apicurioManagement,
    'apicurio.storage.kind': 'sql',
    'apicurio.storage.sql.kind': 'postgresql',
    'apicurio.datasource.url': apicurioJdbcUrl,
    'apicurio.datasource.username': postgresCredentials.user,
    'apicurio.datasource.password': postgresCredentials.password,
    // The default pool holds 20 connections open from the start; a dev box needs a few.
    'apicurio.datasource.jdbc.initial-size': 2,
    'apicurio.datasource.jdbc.min-size': 2,
    'apicurio.datasource.jdbc.max-size': 20,
    // Defaults are /tmp, shared with everything else on the machine.
    'apicurio.storage.snapshot.location': workDir,
    'apicurio.import.work-dir': workDir,
    'java.io.tmpdir': workDir,
  };
}

export const apicurio: Service = {
  name: 'apicurio',
  port: ports.apicurio,
  program: 'java',
  marker: `-Dvoiceloop.stack=${appDir}`,
  logFile: join(logsDir, 'apicurio.log'),
  startTimeoutMs: 180_000,
  stopSignal: 'SIGTERM',
  stopTimeoutMs: 30_000,

  fetch: once(async (log) => {
    if (hasMarker(appDir, versions.apicurio)) return;
    const coords = `io.apicurio:apicurio-registry-app:${versions.apicurio}:tar.gz:all`;
    await timed(log, `fetched ${coords} with Maven`, () =>
      copyArtifact(coords, downloadDir, versions.apicurio),
    );
    const tarball = join(downloadDir, `apicurio-registry-app-${versions.apicurio}-all.tar.gz`);
    await timed(log, `unpacked into ${appDir}`, async () => {
      rmSync(appDir, { recursive: true, force: true });
      mkdirSync(appDir, { recursive: true });
      await run('tar', ['-xzf', tarball, '-C', appDir], { cwd: baseDir });
    });
    // The tarball's root is the Quarkus fast-jar layout: quarkus-run.jar next to lib/ app/ quarkus/.
    if (!existsSync(join(appDir, 'quarkus-run.jar'))) throw new Error(`no quarkus-run.jar in ${tarball}`);
    writeMarker(appDir, versions.apicurio);
    rmSync(downloadDir, { recursive: true, force: true }); // ~/.m2 keeps a copy
  }),

  async prepare(log) {
    await apicurio.fetch!(log);
    java = await javaFor(21);
    mkdirSync(cdsDir, { recursive: true });
    mkdirSync(workDir, { recursive: true });
  },

  command() {
    const props = Object.entries(systemProperties()).map(([k, v]) => `-D${k}=${v}`);
    // A class-data-sharing archive, written by the JVM at the first clean exit and reused after,
    // cuts Apicurio's start by a quarter or more (measured 8.0 s -> 5.8 s alone; more when three
    // JVMs start at once on two cores). Java 19+; the JVM rebuilds it if it no longer matches.
    const cds =
      java.major >= 19
        ? [
            '-XX:+AutoCreateSharedArchive',
            `-XX:SharedArchiveFile=${join(cdsDir, `apicurio-${versions.apicurio}.jsa`)}`,
          ]
        : [];
    return {
      command: java.bin,
      args: [
        `-Dvoiceloop.stack=${appDir}`,
        '-Xmx512m',
        ...cds,
        ...props,
        '-jar',
        join(appDir, 'quarkus-run.jar'),
      ],
      cwd: workDir,
    };
  },

  answers: () => registryReady(defaultEndpoints.schemaRegistryUrl),
  ready: () => registryReady(defaultEndpoints.schemaRegistryUrl),
};
