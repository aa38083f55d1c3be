// Readiness: every downstream a process needs, each checked with a deadline, the failing one named.
// Served by GET /health/ready and watched by the webhook monitor (readiness.lost).
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Kafka } from 'kafkajs';
import type { Pool } from '../storage/db.ts';

export interface ReadinessDeps {
  kafka: Kafka;
  pool: Pool;
  s3: S3Client;
  bucket: string;
  registryUrl: string;
  timeoutMs?: number;
}

export interface Check {
  name: string;
  ok: boolean;
  ms: number;
  error?: string;
}

async function check(name: string, timeoutMs: number, fn: () => Promise<unknown>): Promise<Check> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { name, ok: true, ms: Math.round(performance.now() - started) };
  } catch (err) {
    return { name, ok: false, ms: Math.round(performance.now() - started), error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

type Name = 'kafka' | 'schema_registry' | 'postgres' | 'object_store';

/** A readiness checker holding one Kafka admin connection (opened on first use); close() releases it. */
export function createReadiness(deps: ReadinessDeps) {
  const timeoutMs = deps.timeoutMs ?? 2_000;
  const admin = deps.kafka.admin();
  let adminConnected: Promise<void> | null = null;
  const probes: Record<Name, () => Promise<unknown>> = {
    kafka: async () => {
      adminConnected ??= admin.connect().catch((err) => {
        adminConnected = null;
        throw err;
      });
      await adminConnected;
      await admin.describeCluster();
    },
    schema_registry: async () => {
      const res = await fetch(`${deps.registryUrl}/subjects`, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
    },
    postgres: () => deps.pool.query('SELECT 1'),
    object_store: () => deps.s3.send(new HeadBucketCommand({ Bucket: deps.bucket })),
  };
  const names = Object.keys(probes) as Name[];
  return {
    check(): Promise<Check[]> {
      return Promise.all(names.map((name) => check(name, timeoutMs, probes[name])));
    },
    /** One downstream's check (for the outage log's probe). */
    async checkOne(name: Name): Promise<boolean> {
      return (await check(name, timeoutMs, probes[name])).ok;
    },
    async close(): Promise<void> {
      if (adminConnected) await admin.disconnect().catch(() => {});
    },
  };
}
