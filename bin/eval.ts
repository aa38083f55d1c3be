// `npm run eval`: the loop on generated impairment profiles, judged by PESQ and STOI (issue 10).
// Needs no stack: the loop runs in process (eval/loop.ts). Installs the speech prompts, espeak-ng (the
// TTS voice) and the PESQ/STOI sidecar when missing.
import { writeFileSync } from 'node:fs';
import { SIM_SPEECH_NEEDS } from '../engines/debian.ts';
import { ArgError, parseEvalArgs } from '../eval/args.ts';
import { createEvalProgress, runEval } from '../eval/run.ts';
import { renderPriors, renderSummary } from '../eval/summary.ts';
import { openQualityJudge } from '../quality/index.ts';
import { ensureDebianPackages } from '../stack/debian.ts';

let args: ReturnType<typeof parseEvalArgs>;
try {
  args = parseEvalArgs(process.argv.slice(2));
} catch (err) {
  if (err instanceof ArgError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}

const log = (s: string) => console.error(`• ${s}`);
await ensureDebianPackages([...SIM_SPEECH_NEEDS], log).catch((err: Error) =>
  log(`running on synthetic speech: ${err.message}`),
);
const judge = await openQualityJudge({ log });
try {
  const report = await runEval(args, judge, createEvalProgress(args.quiet));
  console.log(`\n${renderSummary(report.summary)}`);
  if (report.priors) console.log(renderPriors(report.priors));
  console.log(
    `\n${args.profiles} profiles x ${args.calls} calls x ${args.segments} iterations in ${report.seconds.toFixed(0)} s`,
  );
  if (args.json) {
    writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`report written to ${args.json}`);
  }
} finally {
  await judge.close();
}
