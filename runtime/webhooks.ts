// The webhook delivery role as a process runs it: the worker (webhooks/worker.ts) with the monitor's
// probes — the dead-letter topic's end offsets and the readiness checks — and the pending count for
// /metrics.
import type { Role } from '../lib/lifecycle.ts';
import { pendingCount } from '../storage/webhooks.ts';
import { startWebhookWorker, type WebhookWorker } from '../webhooks/worker.ts';
import type { Runtime } from './bootstrap.ts';
import { createReadiness } from './readiness.ts';

export async function startWebhookRole(
  rt: Runtime,
  opts: { stream: string; pollMs?: number } = { stream: rt.cfg.topics.prefix },
): Promise<WebhookWorker> {
  const readiness = createReadiness({
    kafka: rt.kafkaAs('api'),
    pool: rt.pool,
    s3: rt.s3,
    bucket: rt.cfg.s3.bucket,
    registryUrl: rt.cfg.schemaRegistry.url,
  });
  const admin = rt.kafkaAs('api').admin();
  let connected: Promise<void> | null = null;
  rt.metrics.setSources({ webhooks: async () => ({ pending: await pendingCount(rt.pool, opts.stream) }) });
  const worker = await startWebhookWorker(
    {
      pool: rt.pool,
      log: rt.log.child({ role: 'webhooks' }),
      metrics: rt.metrics,
      monitor: {
        deadLetterTopic: rt.cfg.topics.deadLetters,
        async deadLetters() {
          connected ??= admin.connect().catch((err) => {
            connected = null;
            throw err;
          });
          await connected;
          const offsets = await admin.fetchTopicOffsets(rt.cfg.topics.deadLetters);
          return offsets.reduce((n, p) => n + Number(p.high), 0);
        },
        async readiness() {
          return (await readiness.check())
            .filter((c) => !c.ok)
            .map((c) => ({ name: c.name, error: c.error ?? 'failed' }));
        },
      },
    },
    { ...rt.cfg.webhooks, stream: opts.stream, ...(opts.pollMs ? { pollMs: opts.pollMs } : {}) },
  );
  // The probes' connections close with the worker.
  void worker.done.then(async () => {
    await readiness.close();
    if (connected) await admin.disconnect().catch(() => {});
  });
  return worker satisfies Role;
}
