// `npm run batch -- --from TIME --to TIME [--station N] [--tenant T]`: one batch optimizer run from the
// command line — replay, learning, counterfactual verification — with a live progress bar, the same
// run row (GET /v1/optimizer/runs/:id) as an API-started run, and a summary at the end. Bad flags get a
// message naming the flag and exit code 2; a failed run exits 1.
import { writeFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { ChangeService } from '../config/changes.ts';
import { loadSettings } from '../lib/settings.ts';
import { ArgError, parseBatchArgs } from '../optimizer/batch/args.ts';
import { type BatchProgress, type BatchResult, startBatchRunner } from '../optimizer/batch/index.ts';
import { bootstrap } from '../runtime/bootstrap.ts';
import { batchDepsFor } from '../runtime/deps.ts';
import { ensureStack } from '../stack/index.ts';

let args: ReturnType<typeof parseBatchArgs>;
try {
  args = parseBatchArgs(process.argv.slice(2));
} catch (err) {
  if (err instanceof ArgError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}

let cfg = loadSettings(undefined, { logLevel: 'error' });
const say = (s: string) => {
  if (!args.quiet) console.log(`• ${s}`);
};
if (!cfg.externalServices) {
  say('bringing up the local stack (Kafka, schema registry, PostgreSQL, S3) if it is not running');
  await ensureStack({ log: (s) => say(`  ${s}`) });
  // Read again: the stack's first start writes the Kafka credentials file the clients sign in with.
  cfg = loadSettings(undefined, { logLevel: 'error' });
}
const rt = await bootstrap(cfg);
const changes = new ChangeService(rt.pool, rt.registry, cfg.topics.prefix);
const service = await startBatchRunner(batchDepsFor(rt, changes), { maxConcurrent: 1 });

const tty = Boolean(process.stdout.isTTY) && !args.quiet;
const bar = tty
  ? new cliProgress.SingleBar(
      {
        format: ' {phase} {bar} {percentage}% | {detail}',
        barsize: 30,
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    )
  : null;
let lastLine = 0;
const detail = (p: BatchProgress) =>
  p.phase === 'replay'
    ? `${p.replay.read}/${p.replay.records_total} records, ${p.replay.in_scope} in scope, ${p.replay.snapshots_per_s}/s`
    : p.phase === 'learn'
      ? `group ${p.learn.groups_done + 1}/${p.learn.groups_total}: ${p.learn.evaluations}/${p.learn.budget} evaluations, best ${p.learn.best_score?.toFixed(1) ?? '-'}`
      : p.message;
let announced = false;
const onProgress = (p: BatchProgress) => {
  if (!announced) return;
  if (bar) {
    bar.update(Math.round(p.percent), { phase: p.phase.padEnd(7), detail: detail(p) });
  } else if (!args.quiet && Date.now() - lastLine > 2_000) {
    lastLine = Date.now();
    console.log(`  ${p.phase} ${p.percent.toFixed(0)}%: ${detail(p)}`);
  }
};

let stopping = false;
process.on('SIGINT', () => {
  if (stopping) return;
  stopping = true;
  console.error('\nstopping the run (it is recorded as stopped)…');
  service.stop().catch(() => {});
});

let code = 0;
let result: BatchResult | null = null;
const runId = await service.submit(args.request, `user:${cfg.user}:batch-cli`, {
  onProgress,
});
say(`run ${runId} (GET /v1/optimizer/runs/${runId})`);
bar?.start(100, 0, { phase: 'starting', detail: '' });
announced = true;
try {
  result = await service.result(runId);
} catch (err) {
  code = 1;
  bar?.stop();
  console.error(`batch run ${runId} ${stopping ? 'stopped' : 'failed'}: ${(err as Error).message}`);
}
bar?.stop();

if (result) {
  const r = result;
  console.log(`\nbatch run ${r.run_id}`);
  console.log(
    `  replay: ${r.replay.read} records in ${(r.replay.elapsed_ms / 1000).toFixed(1)} s (${r.replay.snapshots_per_s.toFixed(0)} snapshots/s), ${r.replay.in_scope} in scope`,
  );
  console.log(
    `  counterfactual: ${r.counterfactual.audio_seconds.toFixed(0)} s of audio re-processed at ${r.counterfactual.audio_seconds_per_s.toFixed(1)} s/s`,
  );
  for (const g of r.groups) {
    const head = `  station ${g.context.station_id} [${g.context.key}] ${g.history.snapshots} snapshots`;
    if (g.status === 'skipped') {
      console.log(`${head}: skipped (${g.reason})`);
      continue;
    }
    const screen = g.learning!.reference_screen;
    console.log(
      `${head}: ${g.learning!.evaluations.length} evaluations, warm start from ${g.warm_start!.observations} earlier observation(s) and ${g.warm_start!.proposals.length} earlier proposal(s)${screen ? `; PESQ/STOI screening dropped ${screen.dropped.length} of ${screen.judged}` : ''}`,
    );
    for (const [i, c] of g.candidates.entries()) {
      const v = c.verification;
      const sign = (x: number, d: number) => `${x >= 0 ? '+' : ''}${x.toFixed(d)}`;
      const ref =
        c.reference === null
          ? ''
          : `, PESQ ${sign(c.reference.pesq_gain, 2)}, STOI ${sign(c.reference.stoi_gain, 3)}`;
      console.log(
        `    ${i === g.winner ? '*' : ' '} candidate ${i + 1}${c.earlier ? ' (earlier proposal)' : ''}: ${v.baseline_score.toFixed(1)} -> ${v.candidate_score.toFixed(1)} (${v.gain >= 0 ? '+' : ''}${v.gain.toFixed(1)}${ref}) ${c.kept ? 'kept' : 'dropped'}: ${c.why}`,
      );
    }
  }
  console.log(
    r.proposals.length
      ? `  ${r.proposals.length} proposal(s); nothing applied — roll them out as A/B experiments`
      : '  no proposal: the current defaults hold',
  );
  if (args.json) {
    writeFileSync(args.json, `${JSON.stringify(r, null, 2)}\n`);
    console.log(`  result written to ${args.json}`);
  }
}
await service.stop();
await rt.close();
process.exit(code);
