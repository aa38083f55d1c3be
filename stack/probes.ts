// Readiness checks written against endpoints, not processes, so the same checks serve the local
// stack and external services (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL, S3_ENDPOINT).

import { randomBytes } from 'node:crypto';
import { HeadBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import kafkajs, { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import pg from 'pg';
import { quietSdkNodeWarning } from '../lib/settings.ts';
import type { AclRule } from './kafkaAuth.ts';
import type { S3Endpoint } from './layout.ts';

/** The group whose coordinator `kafkaReady` looks up; nothing ever joins it. */
const probeGroup = 'voiceloop-stack-probe';

function kafkaClient(brokers: string[], sasl?: SASLOptions) {
  return new Kafka({
    clientId: 'voiceloop-stack-probe',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    retry: { retries: 0 },
    ...(sasl ? { sasl } : {}),
  });
}

const kafkaAdmin = (brokers: string[], sasl?: SASLOptions) => kafkaClient(brokers, sasl).admin();

/** The broker answers metadata requests. */
export async function kafkaAnswers(brokers: string[], sasl?: SASLOptions): Promise<boolean> {
  const admin = kafkaAdmin(brokers, sasl);
  try {
    await admin.connect();
    await admin.listTopics();
    return true;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Topics can be listed, a consumer group's coordinator is found (describeGroups starts with
 * FindCoordinator, which fails until a fresh cluster has created __consumer_offsets), and an
 * idempotent producer gets its id (InitProducerId answers "coordinator is loading" for a few
 * seconds after a restart, which kafkajs logs as an error before retrying).
 */
export async function kafkaReady(brokers: string[], sasl?: SASLOptions): Promise<boolean> {
  const kafka = kafkaClient(brokers, sasl);
  const admin = kafka.admin();
  // kafkajs refuses an idempotent producer without retries.
  const producer = kafka.producer({ idempotent: true, retry: { retries: 1 } });
  try {
    // Inside the try: a connect that fails half way is disconnected too.
    await admin.connect();
    await admin.listTopics();
    const { groups } = await admin.describeGroups([probeGroup]);
    await producer.connect();
    return groups.length === 1;
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
}

/**
 * The broker's listener asks for SASL: a made-up user is refused by the authenticator (a plaintext
 * listener answers the SASL handshake with a protocol error instead).
 */
export async function kafkaWantsSasl(brokers: string[]): Promise<boolean> {
  const sasl: SASLOptions = {
    mechanism: 'plain',
    username: 'voiceloop-probe',
    password: randomBytes(12).toString('hex'),
  };
  const admin = kafkaAdmin(brokers, sasl);
  try {
    await admin.connect();
    return false;
  } catch (err) {
    return (err as Error).name === 'KafkaJSSASLAuthenticationError';
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

// kafkajs's ACL enums are not among the names Node finds in its CommonJS exports.
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

const ACL_OPERATION: Record<AclRule['operation'], kafkajs.AclOperationTypes> = {
  read: AclOperationTypes.READ,
  write: AclOperationTypes.WRITE,
  create: AclOperationTypes.CREATE,
  delete: AclOperationTypes.DELETE,
  describe: AclOperationTypes.DESCRIBE,
  all: AclOperationTypes.ALL,
};

/** Grants `rules` as the given (super-)user; returns how many. An ACL that exists already is left as it is. */
export async function grantAcls(brokers: string[], sasl: SASLOptions, rules: AclRule[]): Promise<number> {
  const admin = kafkaAdmin(brokers, sasl);
  await admin.connect();
  try {
    await admin.createAcls({
      acl: rules.map((r) => ({
        resourceType: r.resource === 'topic' ? AclResourceTypes.TOPIC : AclResourceTypes.GROUP,
        resourceName: r.name,
        resourcePatternType:
          r.pattern === 'prefixed' ? ResourcePatternTypes.PREFIXED : ResourcePatternTypes.LITERAL,
        principal: `User:${r.principal}`,
        host: '*',
        operation: ACL_OPERATION[r.operation],
        permissionType: r.permission === 'allow' ? AclPermissionTypes.ALLOW : AclPermissionTypes.DENY,
      })),
    });
    return rules.length;
  } finally {
    await admin.disconnect();
  }
}

/** The Confluent-compatible API lists subjects. `url` ends with the API root (…/apis/ccompat/v7). */
export async function registryReady(url: string): Promise<boolean> {
  const res = await fetch(`${url.replace(/\/$/, '')}/subjects`, { signal: AbortSignal.timeout(2000) });
  const body: unknown = await res.json().catch(() => undefined);
  return res.status === 200 && Array.isArray(body);
}

export async function withPg<T>(config: pg.ClientConfig, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionTimeoutMillis: 2000, ...config });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function postgresReady(databaseUrl: string): Promise<boolean> {
  return withPg(
    { connectionString: databaseUrl },
    async (c) => (await c.query('select 1 as ok')).rows[0]?.ok === 1,
  );
}

/**
 * An S3 client for S3Proxy: path-style, because S3Proxy serves buckets as paths unless it is given
 * a virtual host. SDK v3's default CRC32 checksums (and aws-chunked uploads) work with S3Proxy 4,
 * so no checksum settings are needed; see README.md.
 */
export function s3Client(s3: S3Endpoint): S3Client {
  quietSdkNodeWarning();
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    maxAttempts: 1,
  });
}

export async function s3Answers(s3: S3Endpoint): Promise<boolean> {
  const client = s3Client(s3);
  try {
    await client.send(new ListBucketsCommand({}));
    return true;
  } finally {
    client.destroy();
  }
}

/** Buckets can be listed and ours is there. */
export async function s3Ready(s3: S3Endpoint): Promise<boolean> {
  const client = s3Client(s3);
  try {
    const { Buckets } = await client.send(new ListBucketsCommand({}));
    if (!Buckets?.some((b) => b.Name === s3.bucket)) return false;
    await client.send(new HeadBucketCommand({ Bucket: s3.bucket }));
    return true;
  } finally {
    client.destroy();
  }
}
