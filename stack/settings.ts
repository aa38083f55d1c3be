// The local stack's settings: the one module under stack/ that reads process.env (STYLE rule 5).
// Everything else receives these frozen values. Ports are fixed so the program's config, the demo
// and docker-compose.yml can all point at the same loopback addresses.
import { join } from 'node:path';

export interface S3Endpoint {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  forcePathStyle: boolean;
}

export interface StackEndpoints {
  kafkaBrokers: string[];
  schemaRegistryUrl: string;
  databaseUrl: string;
  s3: S3Endpoint;
}

export const host = '127.0.0.1';

const env = process.env;

/** A port from the environment, for running a second copy of one service beside the stack (tests of the stack itself). */
function portFrom(name: string, fallback: number): number {
  const value = env[name];
  if (!value) return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${name}=${value} is not a port`);
  return port;
}

export const ports = Object.freeze({
  kafka: 39092,
  kafkaController: 39093,
  // Overridable only to try the registry on its own beside a running stack. defaultEndpoints
  // follows, so clients in the same process do; docker-compose.yml keeps 38081.
  apicurio: portFrom('VOICELOOP_APICURIO_PORT', 38081),
  // Quarkus always opens a management interface (health, metrics); pin it to loopback too,
  // otherwise it takes 0.0.0.0:9000. (Registry 2.x is built without one; see services/apicurio.ts.)
  apicurioManagement: portFrom('VOICELOOP_APICURIO_MANAGEMENT_PORT', 38082),
  postgres: 35432,
  s3proxy: 39000,
});

// Versions are also in stack/pom.xml (which Maven reads); the markers written after a fetch carry
// these, so changing one here without the pom fails loudly instead of running stale jars.
export const versions = Object.freeze({
  kafka: '4.1.1',
  apicurio: '3.3.3',
  // The fallback when no Java 21+ is found: the last 2.x line, built for Java 17. Fetched by its
  // coordinates like 3.x (services/apicurio.ts), so it is not in the pom.
  apicurio2: '2.6.13.Final',
  s3proxy: '4.1.0',
});

/**
 * Which Apicurio Registry line runs: `VOICELOOP_APICURIO_VERSION=2` forces the Java 17 fallback
 * (to test it on a machine that has Java 21+), `3` insists on 3.x; unset picks 3 when a Java 21+
 * is found, else 2.
 */
export const apicurioLine: 2 | 3 | undefined = (() => {
  const value = env['VOICELOOP_APICURIO_VERSION'];
  if (!value) return undefined;
  if (value === '2' || value === '3') return Number(value) as 2 | 3;
  throw new Error(`VOICELOOP_APICURIO_VERSION=${value}: expected 2 or 3 (or unset)`);
})();

export const postgresCredentials = Object.freeze({
  user: 'voiceloop',
  password: 'voiceloop',
  database: 'voiceloop',
  // Apicurio keeps its schemas here so schema ids survive restarts, as Kafka's data does.
  apicurioDatabase: 'apicurio',
});

export const defaultEndpoints: StackEndpoints = Object.freeze({
  kafkaBrokers: [`${host}:${ports.kafka}`],
  schemaRegistryUrl: `http://${host}:${ports.apicurio}/apis/ccompat/v7`,
  databaseUrl: `postgres://${postgresCredentials.user}:${postgresCredentials.password}@${host}:${ports.postgres}/${postgresCredentials.database}`,
  s3: Object.freeze({
    endpoint: `http://${host}:${ports.s3proxy}`,
    region: 'us-east-1',
    accessKeyId: 'voiceloop',
    secretAccessKey: 'voiceloop-secret',
    bucket: 'voiceloop-audio',
    forcePathStyle: true,
  }),
});

const repoRoot = join(import.meta.dirname, '..');

/** Root of everything the stack writes: data, logs, pid files, unpacked servers. Gitignored. */
export const stateDir = env['VOICELOOP_STACK_DIR'] || join(repoRoot, '.stack');
export const pomFile = join(import.meta.dirname, 'pom.xml');
/** A JDK to consider when `java` on PATH is too old for a server (Apicurio needs 21). */
export const javaHome: string | undefined = env['JAVA_HOME'] || undefined;

const externalVars = ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'DATABASE_URL', 'S3_ENDPOINT'] as const;
const setVars = externalVars.filter((k) => Boolean(env[k]));

/**
 * External services are used only when all four endpoints are given: a partial set would mix a
 * local stack with remote services, which nobody means on purpose.
 */
export const externalEndpoints: StackEndpoints | undefined =
  setVars.length === externalVars.length
    ? Object.freeze({
        kafkaBrokers: env['KAFKA_BROKERS']!.split(',')
          .map((s) => s.trim())
          .filter(Boolean),
        schemaRegistryUrl: env['SCHEMA_REGISTRY_URL']!,
        databaseUrl: env['DATABASE_URL']!,
        s3: Object.freeze({
          ...defaultEndpoints.s3,
          endpoint: env['S3_ENDPOINT']!,
          region: env['S3_REGION'] || defaultEndpoints.s3.region,
          accessKeyId: env['S3_ACCESS_KEY_ID'] || defaultEndpoints.s3.accessKeyId,
          secretAccessKey: env['S3_SECRET_ACCESS_KEY'] || defaultEndpoints.s3.secretAccessKey,
          bucket: env['S3_BUCKET'] || defaultEndpoints.s3.bucket,
        }),
      })
    : undefined;

/** Names of the external-endpoint variables that are set when not all of them are (for a warning). */
export const partialExternalVars: readonly string[] =
  setVars.length > 0 && setVars.length < externalVars.length ? setVars : [];

/** What clients should use: the external services when configured, else the local stack. */
export const endpoints: StackEndpoints = externalEndpoints ?? defaultEndpoints;
