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

export const ports = Object.freeze({
  kafka: 39092,
  kafkaController: 39093,
  apicurio: 38081,
  // Quarkus always opens a management interface (health, metrics); pin it to loopback too,
  // otherwise it takes 0.0.0.0:9000.
  apicurioManagement: 38082,
  postgres: 35432,
  s3proxy: 39000,
});

// Versions are also in stack/pom.xml (which Maven reads); the markers written after a fetch carry
// these, so changing one here without the pom fails loudly instead of running stale jars.
export const versions = Object.freeze({
  kafka: '4.1.1',
  apicurio: '3.3.3',
  s3proxy: '4.1.0',
});

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
const env = process.env;

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
