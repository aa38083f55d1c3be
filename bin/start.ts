// `npm start`: the API and all consumer roles in one process (ROLES=... to run some alone).
import { loadSettings } from '../lib/settings.ts';
import { startTracing } from '../lib/tracing.ts';
import { parseRoles, startApp } from '../runtime/app.ts';
import { checkKafkaCredentials } from '../runtime/kafkaCredentials.ts';

const cfg = loadSettings();
// A broker that wants credentials this process lacks (or refuses its own): said in words, not kafkajs's.
await checkKafkaCredentials(cfg, 'api').catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
const stopTracing = startTracing(cfg.otlpEndpoint);
const app = await startApp(cfg, parseRoles(cfg.roles ?? undefined));

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, async () => {
    if (stopping) return;
    stopping = true;
    app.rt.log.info({ sig }, 'shutting down');
    await app.stop();
    await stopTracing();
    process.exit(0);
  });
}
