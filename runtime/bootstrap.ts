// Wires the shared infrastructure once per process: logger, Kafka, registry (schemas registered),
// topics, PostgreSQL (migrations applied, catalog seeded), object store. Every role gets its deps from here.
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Kafka } from 'kafkajs';
import { wrapIo } from '../lib/errors.ts';
import { createLogger, type Logger } from '../lib/log.ts';
import { createMetrics, type Metrics } from '../lib/metrics.ts';
import type { Settings } from '../lib/settings.ts';
import type { Principal } from '../stack/kafkaAuth.ts';
import { AudioStore, createS3 } from '../storage/audioStore.ts';
import { createPool, type Pool } from '../storage/db.ts';
import { migrate, seedParameters } from '../storage/migrate.ts';
import { createKafka } from '../streams/kafka.ts';
import { createRegistry, type Registry } from '../streams/registry.ts';
import { ensureTopics } from '../streams/topics.ts';

export interface Runtime {
  cfg: Readonly<Settings>;
  log: Logger;
  /** The process's client (topics, metrics), acting as the process's principal. */
  kafka: Kafka;
  /** A client acting as `principal` (one per principal, made on first use): each role its own. */
  kafkaAs(principal: Principal): Kafka;
  registry: Registry;
  pool: Pool;
  s3: S3Client;
  audio: AudioStore;
  metrics: Metrics;
  close(): Promise<void>;
}

export async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    try {
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists')
        throw wrapIo('OBJECT_STORE', `creating bucket ${bucket}`, err);
    }
  }
}

export async function bootstrap(
  cfg: Readonly<Settings>,
  opts: { log?: Logger; metrics?: Metrics; principal?: Principal } = {},
): Promise<Runtime> {
  const log = opts.log ?? createLogger(cfg.logLevel);
  const metrics = opts.metrics ?? createMetrics();
  const principal = opts.principal ?? 'api';
  const kafka = createKafka(cfg, log, principal);
  const clients = new Map<Principal, Kafka>([[principal, kafka]]);
  const kafkaAs = (p: Principal): Kafka => {
    const known = clients.get(p);
    if (known) return known;
    const made = createKafka(cfg, log, p);
    clients.set(p, made);
    return made;
  };
  const pool = createPool(cfg, log);
  const s3 = createS3(cfg);
  try {
    const [migrations] = await Promise.all([
      migrate(cfg.database.url, log),
      ensureTopics(kafka, cfg).then((t) => t.length && log.info({ topics: t }, 'created topics')),
      ensureBucket(s3, cfg.s3.bucket),
    ]);
    if (migrations.length) log.info({ migrations }, 'applied migrations');
    await seedParameters(pool);
    const registry = await createRegistry(cfg);
    return {
      cfg,
      log,
      kafka,
      kafkaAs,
      registry,
      pool,
      s3,
      audio: new AudioStore(s3, cfg.s3.bucket),
      metrics,
      async close() {
        await pool.end().catch(() => {});
        s3.destroy();
      },
    };
  } catch (err) {
    await pool.end().catch(() => {});
    s3.destroy();
    throw err;
  }
}

/** What a station agent process needs: Kafka (topics ensured), the registry and the object store; no database. */
export interface StationRuntime {
  cfg: Readonly<Settings>;
  log: Logger;
  kafka: Kafka;
  registry: Registry;
  s3: S3Client;
  audio: AudioStore;
  metrics: Metrics;
  close(): Promise<void>;
}

export async function bootstrapStation(
  cfg: Readonly<Settings>,
  opts: { log?: Logger; metrics?: Metrics; principal?: Principal } = {},
): Promise<StationRuntime> {
  const log = opts.log ?? createLogger(cfg.logLevel);
  const kafka = createKafka(cfg, log, opts.principal ?? 'station');
  const s3 = createS3(cfg);
  try {
    await Promise.all([ensureTopics(kafka, cfg), ensureBucket(s3, cfg.s3.bucket)]);
    const registry = await createRegistry(cfg);
    return {
      cfg,
      log,
      kafka,
      registry,
      s3,
      audio: new AudioStore(s3, cfg.s3.bucket),
      metrics: opts.metrics ?? createMetrics(),
      async close() {
        s3.destroy();
      },
    };
  } catch (err) {
    s3.destroy();
    throw err;
  }
}
