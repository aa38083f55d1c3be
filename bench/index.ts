// `npm run bench [-- --full] [--only NAME,...] [--json OUT] [--list]`: every benchmark beside its
// baseline in the same run, against the real stack (started here unless external), one table, JSON
// (quick by default, under 5 minutes; `--full` for the long run; `--quick` is accepted and changes nothing)
// under bench/results/. Numbers are reported, never asserted: the exit code is 0 unless the harness
// itself breaks (a benchmark that fails is reported as failed and the others still run).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, loadavg } from 'node:os';
import { join } from 'node:path';
import { SIM_SPEECH_NEEDS } from '../engines/debian.ts';
import { ensureDebianPackages } from '../stack/debian.ts';
import { ensureStack } from '../stack/index.ts';
import { avroBench } from './benches/avro.ts';
import { dspBench } from './benches/dsp.ts';
import { httpBench } from './benches/http.ts';
import { kafkaAuthBench } from './benches/kafkaAuth.ts';
import { memoryBench } from './benches/memory.ts';
import { metricsBench } from './benches/metrics.ts';
import { onlineBench } from './benches/online.ts';
import { onlineScalingBench } from './benches/onlineScaling.ts';
import { persisterBench } from './benches/persister.ts';
import { producerBench } from './benches/producer.ts';
import { replayBench } from './benches/replay.ts';
import { scalingBench } from './benches/scaling.ts';
import { shedBench } from './benches/shed.ts';
import { createRunScope } from './lib/context.ts';
import { addServiceVersions, machineInfo } from './lib/machine.ts';
import { type Row, renderMarkdown, renderTable, summarize } from './lib/report.ts';
import type { Bench, BenchContext, Figure } from './lib/types.ts';

const BENCHES: Bench[] = [
  dspBench,
  metricsBench,
  avroBench,
  producerBench,
  persisterBench,
  httpBench,
  shedBench,
  onlineBench,
  onlineScalingBench,
  replayBench,
  scalingBench,
  memoryBench,
  kafkaAuthBench,
];

interface Args {
  quick: boolean;
  only: string[] | null;
  json: string | null;
  list: boolean;
  markdown: string | null;
}

function usage(msg?: string): never {
  if (msg) console.error(msg);
  console.error(
    `usage: npm run bench [-- --full] [--only ${BENCHES.map((b) => b.name).join(',')}] [--json OUT] [--list] [--markdown RESULTS.json]`,
  );
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: true, only: null, json: null, list: false, markdown: null };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) usage(`${x} needs a value`);
      return v;
    };
    if (x === '--quick')
      a.quick = true; // the default; kept for scripts written when it was not
    else if (x === '--full') a.quick = false;
    else if (x === '--list') a.list = true;
    else if (x === '--only')
      a.only = value()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (x.startsWith('--only=')) a.only = x.slice(7).split(',').filter(Boolean);
    else if (x === '--json') a.json = value();
    else if (x === '--markdown') a.markdown = value();
    else if (x.startsWith('--json=')) a.json = x.slice(7);
    else if (x === '--help' || x === '-h') usage();
    else usage(`unknown argument ${x}`);
  }
  if (a.only) {
    const known = new Set(BENCHES.map((b) => b.name));
    const bad = a.only.filter((n) => !known.has(n));
    if (bad.length) usage(`unknown benchmark(s): ${bad.join(', ')}`);
  }
  return a;
}

const args = parseArgs(process.argv.slice(2));
if (args.markdown) {
  // Re-renders a results file as the Markdown table bench/README.md shows.
  const r = JSON.parse(readFileSync(args.markdown, 'utf8')) as {
    mode: string;
    started_at: string;
    total_seconds: number;
    machine: { host: string; cores: number; cpu: string; memory_gib: number; node: string; kafka: string };
    rows: Row[];
  };
  const m = r.machine;
  console.log(
    `${r.mode} run, ${r.started_at.slice(0, 16).replace('T', ' ')} UTC, ${Math.round(r.total_seconds)} s; ${m.host}: ${m.cores} cores (${m.cpu}), ${m.memory_gib} GiB, Node ${m.node}, Kafka ${m.kafka}\n`,
  );
  console.log(renderMarkdown(r.rows));
  process.exit(0);
}
if (args.list) {
  for (const b of BENCHES) console.log(`${b.name.padEnd(10)} ${b.title}`);
  process.exit(0);
}

const t0 = performance.now();
const clock = () => `${((performance.now() - t0) / 1000).toFixed(1)}s`;
const log = (line: string) => console.error(`[bench +${clock()}] ${line}`);
const selected = BENCHES.filter((b) => !args.only || args.only.includes(b.name));
const scope = createRunScope();
const machine = machineInfo();
log(
  `${args.quick ? 'quick' : 'full'} run ${scope.runId}: ${selected.map((b) => b.name).join(', ')} on ${machine.cores} cores (${machine.cpu}), Node ${machine.node}`,
);

const cleanups: (() => unknown)[] = [];
const ctx: BenchContext = {
  quick: args.quick,
  cfg: scope.cfg,
  runId: scope.runId,
  runtime: () => scope.runtime(),
  tenant: (label) => scope.tenant(label),
  defer: (fn) => cleanups.push(fn),
  log,
};

// The DSP bench runs on the simulator's voices: the same speech on every machine, whatever ran before.
await ensureDebianPackages([...SIM_SPEECH_NEEDS], (s) => log(`speech: ${s}`)).catch((err: Error) =>
  log(`speech: running on synthetic speech: ${err.message}`),
);
if (selected.some((b) => b.stack)) {
  if (scope.cfg.externalServices) log('using the external services named in the environment');
  else log('making sure the local stack is up (Kafka, Apicurio, PostgreSQL, S3Proxy)');
  await ensureStack({ log: (s) => log(`stack: ${s}`) });
  await addServiceVersions(machine, await scope.runtime());
}

interface BenchRecord {
  name: string;
  title: string;
  status: 'ok' | 'failed';
  seconds: number;
  error?: string;
  details?: Record<string, unknown>;
}
const figures: Figure[] = [];
const records: BenchRecord[] = [];
for (const b of selected) {
  const start = performance.now();
  log(`${b.name}: ${b.title}`);
  try {
    const out = await b.run(ctx);
    figures.push(...out.figures);
    records.push({
      name: b.name,
      title: b.title,
      status: 'ok',
      seconds: (performance.now() - start) / 1000,
      ...(out.details ? { details: out.details } : {}),
    });
    log(`${b.name}: done in ${((performance.now() - start) / 1000).toFixed(1)} s`);
  } catch (err) {
    const e = err as Error;
    log(`${b.name}: FAILED: ${e.stack ?? e.message}`);
    records.push({
      name: b.name,
      title: b.title,
      status: 'failed',
      seconds: (performance.now() - start) / 1000,
      error: e.message,
    });
  } finally {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        log(`${b.name}: cleanup failed: ${(err as Error).message}`);
      }
    }
  }
}

await scope.cleanup(log);

const rows: Row[] = figures.map(summarize);
const totalSeconds = (performance.now() - t0) / 1000;
console.log('');
console.log(
  `voiceloop bench (${args.quick ? 'quick' : 'full'}), ${new Date().toISOString()}, ${machine.host}: ${machine.cores} cores ${machine.cpu}, ${machine.memory_gib} GiB, Node ${machine.node}, Kafka ${machine.kafka}, PostgreSQL ${machine.postgres ?? '-'}`,
);
console.log(renderTable(rows));
const failed = records.filter((r) => r.status === 'failed');
if (failed.length) console.log(`\nFAILED: ${failed.map((r) => `${r.name} (${r.error})`).join('; ')}`);
const notes = rows.filter((r) => r.note);
if (notes.length) {
  console.log('\nnotes:');
  for (const r of notes) console.log(`  ${r.name}: ${r.note}`);
}
console.log(
  `\nmedian of each figure's runs; ratio = median / baseline median; total ${totalSeconds.toFixed(1)} s (${records.map((r) => `${r.name} ${r.seconds.toFixed(0)}s`).join(', ')})`,
);

const result = {
  started_at: new Date(Date.now() - totalSeconds * 1000).toISOString(),
  mode: args.quick ? 'quick' : 'full',
  run_id: scope.runId,
  machine: { ...machine, loadavg_at_end: loadavg().map((x) => Math.round(x * 100) / 100) },
  total_seconds: totalSeconds,
  benches: records,
  rows,
  figures,
};
const dir = join(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:]/g, '-').replace(/\..+$/, '');
const file = join(dir, `${stamp}-${hostname()}${args.quick ? '-quick' : ''}.json`);
const text = `${JSON.stringify(result, null, 2)}\n`;
writeFileSync(file, text);
writeFileSync(join(dir, 'latest.json'), text);
if (args.json) writeFileSync(args.json, text);
console.log(`results: ${file}${args.json ? ` and ${args.json}` : ''}`);
// Kafka clients and pools are closed; anything left (a stray timer in a library) must not hold CI.
process.exit(0);
