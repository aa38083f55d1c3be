// A process the benchmarks start beside themselves, so the system under test does not share an event
// loop with the load generator (as in production, where roles and clients are separate processes):
//
//   tsx bench/child.ts app ROLES     startApp(cfg, ROLES) from runtime/app.ts; with 'api', listens on
//                                    an ephemeral loopback port
//   tsx bench/child.ts bare          a bare fastify answering POST /v1/stations/snapshot with 202
//
// Configuration comes from the environment (TOPIC_PREFIX etc., see lib/config.ts). Prints one JSON
// line `{"ready":true,"url":...}` on stdout when ready; stops on SIGTERM.
import Fastify from 'fastify';
import { loadConfig } from '../lib/config.ts';
import { parseRoles, startApp } from '../runtime/app.ts';

const [mode, roles] = process.argv.slice(2);
let stop: () => Promise<void>;
let url: string | null = null;

if (mode === 'app') {
  const cfg = loadConfig();
  const app = await startApp(cfg, parseRoles(roles), { listen: false, online: { fromBeginning: false } });
  if (app.api) url = await app.api.listen({ host: '127.0.0.1', port: 0 });
  stop = () => app.stop();
} else if (mode === 'bare') {
  const app = Fastify({ logger: false });
  app.post('/v1/stations/snapshot', async (_req, reply) => reply.status(202).send({ snapshot_id: 'x' }));
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  stop = () => app.close();
} else {
  console.error('usage: tsx bench/child.ts app ROLES | bare');
  process.exit(2);
}

process.on('SIGTERM', () => {
  stop()
    .catch(() => {})
    .finally(() => process.exit(0));
});
process.stdout.write(`${JSON.stringify({ ready: true, url })}\n`);
