// A process the benchmarks start beside themselves, so the system under test does not share an event
// loop with the load generator (as in production, where roles and clients are separate processes):
//
//   tsx bench/child.ts app ROLES     startApp(cfg, ROLES) from runtime/app.ts; with 'api', listens on
//                                    an ephemeral loopback port
//   tsx bench/child.ts persister TOPIC GROUP
//                                    one startPersister consumer (consumers/persister) on TOPIC in GROUP,
//                                    as the persister role runs it; several such processes in one group
//                                    scale out by partition
//   tsx bench/child.ts bare          a bare fastify answering POST /v1/stations/snapshot with 202
//
// Configuration comes from the environment (TOPIC_PREFIX etc., see lib/settings.ts). Prints one JSON
// line `{"ready":true,"url":...}` on stdout when ready; stops on SIGTERM.
//
// When started with an IPC channel (bench/lib/child.ts does), it sends `{"count":N}` every
// BENCH_CHILD_COUNT_MS ms (default 20; snapshots persisted, or decisions made by the online role),
// and answers `{"type":"memory"}` with `{"memory":{rss,heapUsed,heapTotal,heapPhysical,v8Malloced,external,
// arrayBuffers},"spaces":{...},"count":N}` after a full GC when run with --expose-gc.
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import Fastify from 'fastify';
import { startPersister } from '../consumers/persister/index.ts';
import { createLogger } from '../lib/log.ts';
import { createMetrics } from '../lib/metrics.ts';
import { loadSettings, readBenchEnv } from '../lib/settings.ts';
import { parseRoles, startApp } from '../runtime/app.ts';
import { bootstrap } from '../runtime/bootstrap.ts';

const [mode, roles, group] = process.argv.slice(2);
let stop: () => Promise<void>;
let url: string | null = null;
let count: () => Promise<number> = async () => 0;

const counterOf = (m: ReturnType<typeof createMetrics>) => async () =>
  (await m.snapshotsPersisted.get()).values.reduce((s, x) => s + x.value, 0);

if (mode === 'app') {
  const cfg = loadSettings();
  let decided = 0;
  const app = await startApp(cfg, parseRoles(roles), {
    listen: false,
    online: { fromBeginning: false, onDecision: () => decided++ },
  });
  if (app.api) url = await app.api.listen({ host: '127.0.0.1', port: 0 });
  const persisted = counterOf(app.rt.metrics);
  count = app.persister ? persisted : async () => decided;
  stop = () => app.stop();
} else if (mode === 'persister') {
  const topic = roles;
  if (!topic || !group) {
    console.error('usage: tsx bench/child.ts persister TOPIC GROUP');
    process.exit(2);
  }
  const cfg = loadSettings();
  const rt = await bootstrap(cfg);
  const metrics = createMetrics();
  const persister = await startPersister(
    {
      kafka: rt.kafka,
      pool: rt.pool,
      codec: rt.registry.codec('StationSnapshot'),
      log: createLogger('error'),
      metrics,
    },
    {
      topics: { snapshots: topic, deadLetters: cfg.topics.deadLetters },
      groupId: group,
      partitionRetentionMs: cfg.topics.snapshotRetentionMs,
    },
  );
  count = counterOf(metrics);
  stop = async () => {
    await persister.stop();
    await rt.close();
  };
} else if (mode === 'bare') {
  const app = Fastify({ logger: false });
  app.post('/v1/stations/snapshot', async (_req, reply) => reply.status(202).send({ snapshot_id: 'x' }));
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  stop = () => app.close();
} else {
  console.error('usage: tsx bench/child.ts app ROLES | persister TOPIC GROUP | bare');
  process.exit(2);
}

/** process.memoryUsage() with V8's share of the RSS: heap pages touched, and its own malloc (compiler zones). */
const usage = () => {
  const u = process.memoryUsage();
  const h = getHeapStatistics();
  return {
    rss: u.rss,
    heapUsed: u.heapUsed,
    heapTotal: u.heapTotal,
    heapPhysical: h.total_physical_size,
    v8Malloced: h.malloced_memory,
    external: u.external,
    arrayBuffers: u.arrayBuffers,
  };
};

if (process.send) {
  const send = (m: unknown) => {
    if (process.connected) process.send!(m);
  };
  const every = readBenchEnv().childCountMs;
  let last = -1;
  setInterval(() => {
    count()
      .then((n) => {
        if (n !== last) send({ count: n });
        last = n;
      })
      .catch(() => {});
  }, every).unref();
  process.on('message', (m: { type?: string }) => {
    if (m?.type !== 'memory') return;
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const memory = usage();
    const spaces = Object.fromEntries(
      getHeapSpaceStatistics().map((x) => [x.space_name, [x.space_size, x.space_used_size]]),
    );
    count()
      .then((n) => send({ memory, spaces, gc: gc !== undefined, count: n }))
      .catch(() => {});
  });
  process.channel?.unref();
}

process.on('SIGTERM', () => {
  stop()
    .catch(() => {})
    .finally(() => process.exit(0));
});
process.stdout.write(`${JSON.stringify({ ready: true, url })}\n`);
