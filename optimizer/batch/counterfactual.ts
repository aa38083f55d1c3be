// Counterfactual replay (issue 6, item 3): stored station input re-run through the station's DSP chain
// (stations/pipeline.ts processBufferOnce: a fresh chain per segment, its delay flushed) with a given
// parameter set, measured, and scored by the same scorecard the live loop uses — on a copy of the
// recorded snapshot, so its targets and constraints apply. Where the simulator stored the clean signal
// the reference-based quality (segmental SNR against it) is measured too: the ground truth the blind
// scorecard is checked against.
//
// CPU-bound but cooperative: it yields to the event loop between segments, so an API process running
// a batch keeps answering requests, and it stops at the next segment once aborted.
import { setImmediate as yieldNow } from 'node:timers/promises';
import type { StationSnapshot } from '../../contracts/generated.ts';
import { processBufferOnce, type StationInput } from '../../stations/pipeline.ts';
import type { ReplayAudio } from '../../storage/replayAudio.ts';
import { scoreSnapshot } from '../core/scorecard.ts';

export interface ReplaySegment {
  readonly snapshot: StationSnapshot;
  readonly audio: ReplayAudio;
}

export interface Outcome {
  readonly score: number;
  /** Reference segmental SNR, dB; null without a clean reference. */
  readonly ref: number | null;
}

export async function evaluate(
  stationId: number,
  params: Readonly<Record<string, number>>,
  segments: readonly ReplaySegment[],
  signal?: AbortSignal,
): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (const seg of segments) {
    signal?.throwIfAborted();
    const a = seg.audio;
    const input: StationInput = {
      stationId,
      sampleRate: a.sampleRate,
      samples: a.samples,
      ...(a.clean ? { clean: a.clean } : {}),
      ...(a.farEnd ? { farEnd: a.farEnd } : {}),
    };
    const { metrics } = processBufferOnce(stationId, params, input);
    const score = scoreSnapshot({ ...seg.snapshot, metrics }, params, { input: false }).score;
    out.push({ score, ref: metrics.reference_seg_snr_db });
    await yieldNow();
  }
  return out;
}

export const meanOf = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

// Two-sided 95% quantiles of Student's t for 1-4 degrees of freedom (exact to 3 decimals); beyond,
// the Cornish–Fisher expansion around z = 1.959964 (Abramowitz & Stegun 26.7.5), within 1e-3 from 5 on.
const T975_SMALL = [12.706, 4.303, 3.182, 2.776];
const Z975 = 1.959964;

export function tQuantile975(df: number): number {
  if (!(df >= 1)) return Number.POSITIVE_INFINITY;
  if (df <= 4) return T975_SMALL[Math.round(df) - 1]!;
  const z = Z975;
  const g1 = (z ** 3 + z) / 4;
  const g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96;
  const g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384;
  const g4 = (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160;
  return z + g1 / df + g2 / df ** 2 + g3 / df ** 3 + g4 / df ** 4;
}

export interface Comparison {
  readonly segments: number;
  readonly baseline_score: number;
  readonly candidate_score: number;
  /** Mean paired score gain (candidate - baseline), points on the 0..100 scale. */
  readonly gain: number;
  readonly gain_sd: number;
  /** 95% confidence interval of the mean gain (paired t). */
  readonly gain_ci95: [number, number];
  /** Segments where the candidate scored higher. */
  readonly wins: number;
  /** Reference quality over the segments that have a clean reference (null: none have). */
  readonly ref_segments: number;
  readonly baseline_ref_db: number | null;
  readonly candidate_ref_db: number | null;
  readonly ref_gain_db: number | null;
}

/** Paired comparison of two evaluations of the same segments. */
export function compare(candidate: readonly Outcome[], baseline: readonly Outcome[]): Comparison {
  if (candidate.length !== baseline.length)
    throw new RangeError(`${candidate.length} candidate outcomes for ${baseline.length} baseline ones`);
  const n = candidate.length;
  const d = candidate.map((c, i) => c.score - baseline[i]!.score);
  const gain = meanOf(d);
  const sd = n > 1 ? Math.sqrt(d.reduce((a, x) => a + (x - gain) ** 2, 0) / (n - 1)) : 0;
  const half = n > 1 ? (tQuantile975(n - 1) * sd) / Math.sqrt(n) : Number.POSITIVE_INFINITY;
  const refIdx = candidate
    .map((_c, i) => i)
    .filter((i) => candidate[i]!.ref !== null && baseline[i]!.ref !== null);
  const baseRef = refIdx.length ? meanOf(refIdx.map((i) => baseline[i]!.ref!)) : null;
  const candRef = refIdx.length ? meanOf(refIdx.map((i) => candidate[i]!.ref!)) : null;
  return {
    segments: n,
    baseline_score: meanOf(baseline.map((b) => b.score)),
    candidate_score: meanOf(candidate.map((c) => c.score)),
    gain,
    gain_sd: sd,
    gain_ci95: [gain - half, gain + half],
    wins: d.filter((x) => x > 0).length,
    ref_segments: refIdx.length,
    baseline_ref_db: baseRef,
    candidate_ref_db: candRef,
    ref_gain_db: baseRef !== null && candRef !== null ? candRef - baseRef : null,
  };
}
