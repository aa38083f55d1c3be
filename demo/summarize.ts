// The demo's counterfactual evaluation: every parameter set the loop ran is re-run on the same audio
// and scored by the yardstick (and judged with PESQ/STOI), against an offline search for each
// station's best; the recognizer's WER with the defaults and the final sets; the pipeline's means.
import { stationById } from '../catalog/index.ts';
import type { StageEngines } from '../engines/index.ts';
import { callWer } from '../engines/stt/evaluate.ts';
import { pooledWer } from '../engines/stt/wer.ts';
import type { QualityJudge } from '../quality/index.ts';
import type { DemoArgs } from './args.ts';
import type { LiveRecord } from './live.ts';
import type { Progress } from './progress.ts';
import type { DemoSummary, StationSummary } from './types.ts';
import { judgeSets, type StationYardstick, yardstick } from './yardstick.ts';

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const meanOf = (xs: (number | null)[]) => mean(xs.filter((x): x is number => x !== null));

export interface SummaryContext {
  stations: readonly number[];
  args: Pick<DemoArgs, 'calls' | 'segments' | 'seed' | 'searchBudget'>;
  record: LiveRecord;
  judge: QualityJudge;
  engines: StageEngines;
  progress: Progress;
}

/** Station 4: the recognizer on every utterance of the calls, with the defaults and each call's final set. */
async function werBeforeAfter(
  ctx: SummaryContext,
  s: number,
  defaults: Record<string, number>,
): Promise<{ wer_before: number | null; wer_after: number | null }> {
  if (!stationById(s)!.stage_metrics.includes('stt_confidence')) return { wer_before: null, wer_after: null };
  const recognizer = ctx.engines.recognizer;
  ctx.progress.step(
    `station ${s}: the recognizer (${recognizer.name}) on every utterance, defaults vs final sets`,
  );
  const before = [];
  const after = [];
  for (const h of ctx.record.history.get(s)!) {
    before.push(...(await callWer(recognizer, s, defaults, h.inputs)));
    after.push(...(await callWer(recognizer, s, h.params.at(-1)!, h.inputs)));
  }
  return { wer_before: pooledWer(before), wer_after: pooledWer(after) };
}

async function summarizeStation(
  ctx: SummaryContext,
  s: number,
  y: StationYardstick,
): Promise<StationSummary> {
  const { record } = ctx;
  const history = record.history.get(s)!;
  const q = await judgeSets(ctx.judge, s, y.audio, {
    defaults: [y.defaults],
    final: history.map((h) => h.params.at(-1)!),
    best: [y.best.params],
  });
  const scores = record.scores.get(s)!;
  return {
    station_id: s,
    component: stationById(s)!.component,
    default_score: y.defaultScore,
    final_score: y.finalScore,
    best_offline_score: y.bestScore,
    ratio_to_best: y.finalScore / y.bestScore,
    iterations_to_within_5pct: y.reachedAt.every((i) => i !== null) ? mean(y.reachedAt as number[]) : null,
    ref_quality_before_db: y.refBefore,
    ref_quality_after_db: y.refAfter,
    pesq_before: q['defaults']!.pesq,
    pesq_after: q['final']!.pesq,
    pesq_best: q['best']!.pesq,
    stoi_before: q['defaults']!.stoi,
    stoi_after: q['final']!.stoi,
    live_first_score: mean(scores.map((xs) => xs[0]!)),
    live_final_score: mean(scores.map((xs) => mean(xs.slice(-2)))),
    ...record.counts.get(s)!,
    ...(await werBeforeAfter(ctx, s, y.defaults)),
    tts_latency_ms:
      stationById(s)!.stage_metrics.includes('tts_latency_ms') && record.ttsLatencies.length > 0
        ? mean(record.ttsLatencies)
        : null,
    trajectory: y.trajectory,
    final_params: record.lastParams.get(s) ?? {},
    best_params: y.best.params,
  };
}

/** The means over stations, and the pipeline's own trajectory against 95% of its mean best. */
function pipelineMean(
  ctx: SummaryContext,
  summaries: StationSummary[],
  yards: ReadonlyMap<number, StationYardstick>,
): DemoSummary['mean'] {
  const { stations, args } = ctx;
  const refB = summaries.map((x) => x.ref_quality_before_db).filter((x): x is number => x !== null);
  const refA = summaries.map((x) => x.ref_quality_after_db).filter((x): x is number => x !== null);
  const finalScore = mean(summaries.map((x) => x.final_score));
  const bestScore = mean(summaries.map((x) => x.best_offline_score));
  // The mean over stations of the running sets' scores, per call and iteration, against 95% of the
  // mean best: the first iteration of each call where the whole pipeline is within 5% of the best.
  const trajectory = Array.from({ length: args.calls }, (_, c) =>
    Array.from({ length: args.segments }, (_, i) =>
      mean(stations.map((s) => yards.get(s)!.trajectory[c]![i] ?? Number.NaN)),
    ),
  );
  const bestPerCall = Array.from({ length: args.calls }, (_, c) =>
    mean(stations.map((s) => yards.get(s)!.bestPerCall[c]!)),
  );
  const reached = trajectory.map((xs, c) => xs.findIndex((x) => x >= 0.95 * bestPerCall[c]!));
  return {
    default_score: mean(summaries.map((x) => x.default_score)),
    final_score: finalScore,
    best_offline_score: bestScore,
    ratio_to_best: finalScore / bestScore,
    ref_quality_before_db: mean(refB),
    ref_quality_after_db: mean(refA),
    pesq_before: meanOf(summaries.map((x) => x.pesq_before)),
    pesq_after: meanOf(summaries.map((x) => x.pesq_after)),
    stoi_before: meanOf(summaries.map((x) => x.stoi_before)),
    stoi_after: meanOf(summaries.map((x) => x.stoi_after)),
    iterations_to_within_5pct: reached.every((i) => i >= 0) ? reached.map((i) => i + 1) : null,
    trajectory,
    best_per_call: bestPerCall,
  };
}

/** Per station, then over the pipeline. */
export async function summarize(
  ctx: SummaryContext,
): Promise<{ stations: StationSummary[]; mean: DemoSummary['mean'] }> {
  ctx.progress.step(
    `counterfactual evaluation: every parameter set re-run on the same audio; offline search for each station's best (${ctx.args.searchBudget} evaluations each)`,
  );
  const summaries: StationSummary[] = [];
  const yards = new Map<number, StationYardstick>();
  for (const s of ctx.stations) {
    const y = yardstick(s, ctx.record.history.get(s)!, ctx.args.searchBudget, ctx.args.seed);
    yards.set(s, y);
    summaries.push(await summarizeStation(ctx, s, y));
  }
  return { stations: summaries, mean: pipelineMean(ctx, summaries, yards) };
}
