// Liveness says the process serves requests; readiness checks every downstream it needs, each with
// a deadline, and names the one that fails.
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import type { FastifyPluginAsync } from 'fastify';
import type { Kafka } from 'kafkajs';
import type { Pool } from '../../storage/db.ts';

export interface HealthDeps {
  kafka: Kafka;
  pool: Pool;
  s3: S3Client;
  bucket: string;
  registryUrl: string;
  timeoutMs?: number;
}

async function check(name: string, timeoutMs: number, fn: () => Promise<unknown>) {
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

export const healthRoutes: FastifyPluginAsync<HealthDeps> = async (app, deps) => {
  const timeoutMs = deps.timeoutMs ?? 2_000;
  const admin = deps.kafka.admin();
  let adminConnected: Promise<void> | null = null;
  app.addHook('onClose', async () => {
    if (adminConnected) await admin.disconnect().catch(() => {});
  });

  app.get('/health/live', { schema: { summary: 'Liveness' } }, async () => ({ status: 'live' }));

  app.get(
    '/health/ready',
    { schema: { summary: 'Readiness with downstream checks' } },
    async (_req, reply) => {
      const checks = await Promise.all([
        check('kafka', timeoutMs, async () => {
          adminConnected ??= admin.connect().catch((err) => {
            adminConnected = null;
            throw err;
          });
          await adminConnected;
          await admin.describeCluster();
        }),
        check('schema_registry', timeoutMs, async () => {
          const res = await fetch(`${deps.registryUrl}/subjects`, { signal: AbortSignal.timeout(timeoutMs) });
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
        }),
        check('postgres', timeoutMs, () => deps.pool.query('SELECT 1')),
        check('object_store', timeoutMs, () => deps.s3.send(new HeadBucketCommand({ Bucket: deps.bucket }))),
      ]);
      const ok = checks.every((c) => c.ok);
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not_ready', checks });
    },
  );
};
