// `npm run demo`: brings up the local stack if needed, runs every role and the simulated stations,
// shows the loop converging, prints the summary, optionally writes it as JSON.
import { writeFileSync } from 'node:fs';
import { ArgError, parseDemoArgs } from '../demo/args.ts';
import { createProgress } from '../demo/progress.ts';
import { renderSummary } from '../demo/report.ts';
import { runDemo } from '../demo/run.ts';
import { ensureSpeechAndEngines } from '../engines/debian.ts';
import { mintToken } from '../lib/auth.ts';
import { createLogger } from '../lib/log.ts';
import { loadSettings } from '../lib/settings.ts';
import { openQualityJudge } from '../quality/index.ts';
import type { App } from '../runtime/app.ts';
import { ensureStack } from '../stack/index.ts';

let args: ReturnType<typeof parseDemoArgs>;
try {
  args = parseDemoArgs(process.argv.slice(2));
} catch (err) {
  if (err instanceof ArgError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}

const progress = createProgress(args.quiet);
// Quiet by default: errors only, as sentences; LOG_LEVEL asks for the JSON log lines at that level.
let cfg = loadSettings(undefined, { logLevel: 'error' });
const log = createLogger(cfg.logLevel, 'voiceloop', cfg.logLevelGiven ? 'json' : 'words');
if (!cfg.externalServices) {
  progress.step('bringing up the local stack (Kafka, schema registry, PostgreSQL, S3) if it is not running');
  await ensureStack({ log: (s) => progress.step(`  ${s}`) });
  // Read again: the stack's first start writes the Kafka credentials file the clients sign in with.
  cfg = loadSettings(undefined, { logLevel: 'error' });
}
// Real speech and the local engines: installed when missing; without root, one line says what runs without.
await ensureSpeechAndEngines((s) => progress.step(`  ${s}`)).catch((err: Error) =>
  progress.step(`running without them: ${err.message}`),
);
// PESQ/STOI judge the yardstick's sets at the end; its Python environment installs itself once.
const judge = await openQualityJudge({ log: (s) => progress.step(`  ${s}`) });
const started = Date.now();
let held: App | undefined;
const hold = args.serve ? (app: App) => (held = app) : undefined;
const summary = await runDemo(cfg, args, progress, judge, log, hold).finally(() => judge.close());
console.log(`\n${renderSummary(summary)}`);
console.log(
  `\n${args.calls} calls x ${args.segments} iterations x ${summary.stations.length} stations in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
if (args.json) {
  writeFileSync(args.json, `${JSON.stringify(summary, null, 2)}\n`);
  console.log(`summary written to ${args.json}`);
}
if (summary.console_url) {
  // An operator token of the run's tenant, in the fragment (never sent to a server): one click opens the run.
  const consoleToken = mintToken(cfg.api.tokenSecret, {
    sub: 'demo',
    role: 'operator',
    tenant: summary.tenant_id,
    exp: Math.floor(Date.now() / 1000) + 12 * 3600,
  });
  console.log(`\nconsole: ${summary.console_url}#token=${consoleToken}`);
  if (!held) console.log('(it stopped with the demo; `npm run demo -- --serve` keeps it serving)');
}
if (held) {
  const app = held;
  console.log('serving the API and the console until Ctrl-C');
  const stop = () => void app.stop().finally(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} else {
  process.exit(0);
}
