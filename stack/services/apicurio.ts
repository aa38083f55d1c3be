// Apicurio Registry: the Confluent-compatible schema registry (API under /apis/ccompat/v7).
// 3.x is compiled for Java 21; when no Java 21+ is found (Debian 12 packages none) it falls back
// to 2.6, built for Java 17, which serves the same ccompat API on the same port. For both lines
// the `all` tar.gz on Maven Central is the runnable Quarkus app.
//
// Storage differs. 3.x keeps its schemas in our PostgreSQL (database `apicurio`). The 2.x app on
// Maven Central is the H2-only build: the datasource kind is fixed when Quarkus builds the app
// (overriding it at run time is ignored with a warning), and the PostgreSQL build of 2.x was
// never published there. So 2.x keeps them in an H2 file under apicurio/h2. Either way schema ids
// survive restarts, as Kafka's records do; the two stores are separate, so switching lines
// resets the registry (see README).
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  apicurioLine,
  defaultEndpoints,
  host,
  ports,
  postgresCredentials,
  stateDir,
  versions,
} from '../layout.ts';
import { copyArtifact, hasMarker, writeMarker } from '../maven.ts';
import { registryReady } from '../probes.ts';
import { run } from '../proc.ts';
import { type Log, logsDir, once, type Service, timed } from '../service.ts';
import { findJava, type Java, javaFor } from './java.ts';
import { apicurioJdbcUrl } from './postgres.ts';

const baseDir = join(stateDir, 'apicurio');
const downloadDir = join(baseDir, 'download');
// Whichever line runs is unpacked here (its marker file names the version), so the process
// marker below is the same for both and `down` stops either.
const appDir = join(baseDir, 'app');
const workDir = join(baseDir, 'work');
const cdsDir = join(baseDir, 'cds');
const h2Dir = join(baseDir, 'h2');

interface Line {
  version: string;
  minJava: number;
  /** The jar to run, relative to the unpacked tarball. */
  jar: string;
  /** Quarkus reads these as system properties; names from application.properties in the app's jar. */
  systemProperties(): Record<string, string | number>;
}

const line3: Line = {
  version: versions.apicurio,
  minJava: 21,
  // The tarball's root is the Quarkus fast-jar layout: quarkus-run.jar next to lib/ app/ quarkus/.
  jar: 'quarkus-run.jar',
  // See application.properties inside app/apicurio-registry-app-<v>.jar.
  systemProperties: () => ({
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
  }),
};

const line2: Line = {
  version: versions.apicurio2,
  minJava: 17,
  // A Quarkus legacy jar: the runner next to lib/.
  jar: `apicurio-registry-app-${versions.apicurio2}-runner.jar`,
  // See application.properties inside the runner jar. This build has no management interface
  // (health and metrics are on the main port), so there is no second port to pin.
  systemProperties: () => ({
    'quarkus.http.host': host,
    'quarkus.http.port': ports.apicurio,
    // application.properties reads the URL from this name (an env var or a property).
    // WRITE_DELAY=0: by default H2 writes a commit to the file in the background, and a registration
    // answered just before a SIGKILL was gone after the restart (a producer may have used its id
    // already); with 0 it survived three of three. DB_CLOSE_ON_EXIT=FALSE leaves closing to Quarkus at
    // shutdown, as Quarkus advises for H2.
    REGISTRY_DATASOURCE_URL: `jdbc:h2:file:${join(h2Dir, 'registry')};DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0`,
    // The jar sets the pool under the %prod profile (20 open from the start, up to 100); a system
    // property with the same profile prefix outranks it.
    '%prod.quarkus.datasource.jdbc.initial-size': 2,
    '%prod.quarkus.datasource.jdbc.min-size': 2,
    '%prod.quarkus.datasource.jdbc.max-size': 20,
    // Narayana (transactions) otherwise binds an ephemeral loopback port only to derive a process id.
    'CoreEnvironmentBean.processImplementationClassName':
      'com.arjuna.ats.internal.arjuna.utils.UuidProcessId',
    'java.io.tmpdir': workDir,
  }),
};

interface Choice {
  line: Line;
  java: Java;
}

let choice: Promise<Choice> | undefined;
/** Set in prepare(): what command() launches. */
let chosen: Choice | undefined;
let cds: string[] = [];

/** The line to run and its Java, decided once per process (fetch and prepare both need it). */
function choose(log: Log): Promise<Choice> {
  choice ??= pick(log).catch((err: unknown) => {
    choice = undefined;
    throw err;
  });
  return choice;
}

async function pick(log: Log): Promise<Choice> {
  if (apicurioLine === 2) {
    const java = await javaFor(line2.minJava);
    log(`VOICELOOP_APICURIO_VERSION=2: Apicurio Registry ${line2.version} on ${java.bin} (${java.major})`);
    return { line: line2, java };
  }
  // Forced to 3, a missing Java 21 is an error rather than a fallback.
  if (apicurioLine === 3) return { line: line3, java: await javaFor(line3.minJava) };
  const newest = await findJava(line3.minJava);
  if (newest.java) return { line: line3, java: newest.java };
  const java = await javaFor(line2.minJava);
  log(
    `no Java ${line3.minJava}+ for Apicurio Registry ${line3.version} (found ${newest.found.join(', ') || 'none'}); ` +
      `falling back to ${line2.version} on ${java.bin} (${java.major}), storage in ${h2Dir}`,
  );
  return { line: line2, java };
}

/**
 * A class-data-sharing archive of the app's classes cuts Apicurio's start by a quarter or more
 * (3.3.3 on Java 25: 8.0 s -> 5.8 s alone; 2.6 on Java 17: 6.6 s -> 3.5 s). Java 19+ writes it at
 * the first clean exit and rebuilds it when it no longer matches. Java 17 can only either write
 * one at exit or use one, and silently runs without one it cannot use (another JDK build, or a
 * write cut short by a kill, which leaves no header), so the archive is checked first: a JVM with
 * -Xshare:on refuses it then (0.1 s). An unusable one is deleted and this run writes a new one.
 */
async function cdsArgs({ line, java }: Choice, log: Log): Promise<string[]> {
  if (java.major >= 19) {
    return [
      '-XX:+AutoCreateSharedArchive',
      `-XX:SharedArchiveFile=${join(cdsDir, `apicurio-${line.version}.jsa`)}`,
    ];
  }
  const archive = join(cdsDir, `apicurio-${line.version}-java${java.major}.jsa`);
  if (existsSync(archive)) {
    try {
      // A cut archive can crash this JVM outright; keep one crash report, not one per attempt.
      const crashLog = `-XX:ErrorFile=${join(workDir, 'cds-check-crash.log')}`;
      const args = [
        '-Xshare:on',
        `-XX:SharedArchiveFile=${archive}`,
        crashLog,
        '-cp',
        join(appDir, line.jar),
      ];
      await run(java.bin, [...args, '-version'], { cwd: workDir });
      return [`-XX:SharedArchiveFile=${archive}`];
    } catch {
      rmSync(archive, { force: true });
      log(`deleted the unusable class-data archive ${archive}; this run writes a new one at exit`);
    }
  }
  return [`-XX:ArchiveClassesAtExit=${archive}`];
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
    const { line } = await choose(log);
    if (hasMarker(appDir, line.version)) return;
    const coords = `io.apicurio:apicurio-registry-app:${line.version}:tar.gz:all`;
    await timed(log, `fetched ${coords} with Maven`, () => copyArtifact(coords, downloadDir, line.version));
    const tarball = join(downloadDir, `apicurio-registry-app-${line.version}-all.tar.gz`);
    await timed(log, `unpacked into ${appDir}`, async () => {
      rmSync(appDir, { recursive: true, force: true });
      mkdirSync(appDir, { recursive: true });
      await run('tar', ['-xzf', tarball, '-C', appDir], { cwd: baseDir });
    });
    if (!existsSync(join(appDir, line.jar))) throw new Error(`no ${line.jar} in ${tarball}`);
    writeMarker(appDir, line.version);
    rmSync(downloadDir, { recursive: true, force: true }); // ~/.m2 keeps a copy
  }),

  async prepare(log) {
    await apicurio.fetch!(log);
    chosen = await choose(log);
    mkdirSync(cdsDir, { recursive: true });
    mkdirSync(workDir, { recursive: true });
    if (chosen.line === line2) mkdirSync(h2Dir, { recursive: true });
    cds = await cdsArgs(chosen, log);
  },

  command() {
    if (!chosen) throw new Error('apicurio: command() called before prepare()');
    const props = Object.entries(chosen.line.systemProperties()).map(([k, v]) => `-D${k}=${v}`);
    return {
      command: chosen.java.bin,
      args: [
        `-Dvoiceloop.stack=${appDir}`,
        '-Xmx512m',
        ...cds,
        ...props,
        '-jar',
        join(appDir, chosen.line.jar),
      ],
      cwd: workDir,
    };
  },

  answers: () => registryReady(defaultEndpoints.schemaRegistryUrl),
  ready: () => registryReady(defaultEndpoints.schemaRegistryUrl),
};
