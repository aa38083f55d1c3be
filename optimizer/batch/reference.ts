// The batch optimizer's reference guard (issue 10, point 1): where the stored history carries the
// clean speech (simulated calls), a parameter set's output on the replayed segments is judged against
// it with the field's measures, ITU-T P.862 PESQ and STOI (quality/), and a candidate that scores
// better but sounds worse is not proposed. One pair per parameter set (its output on every segment,
// end to end, beside the clean speech) and every set of a step in one batch to the sidecar, so a
// group costs two sidecar calls (the screening on training audio, the verification on held-out audio).
//
// It replaces a segmental SNR against the clean speech, which disagreed with PESQ exactly where it
// mattered: it fell 0.5-1.8 dB when RNNoise was switched on while PESQ rose, and blocked it.
import { setImmediate as yieldNow } from 'node:timers/promises';
import type { QualityJudge, QualityPair, QualityScores } from '../../quality/index.ts';
import { UnscorablePairError } from '../../quality/index.ts';
import { processBufferOnce } from '../../stations/pipeline.ts';
import type { ReplaySegment } from './counterfactual.ts';

/** A kept candidate may cost at most this much PESQ (MOS-LQO) against the current defaults... */
export const PESQ_TOLERANCE = 0.05;
/** ...and at most this much STOI. */
export const STOI_TOLERANCE = 0.01;

export interface ReferenceComparison {
  readonly pesq_before: number;
  readonly pesq_after: number;
  readonly pesq_gain: number;
  readonly stoi_before: number;
  readonly stoi_after: number;
  readonly stoi_gain: number;
  /** Seconds of audio judged (the segments with a clean reference at the judged rate). */
  readonly seconds: number;
}

const RATES = new Set([8000, 16000]);

/** The segments a reference judgement uses: those with the clean speech, at the first one's rate. */
export function judgeableSegments(segments: readonly ReplaySegment[]): ReplaySegment[] {
  const withClean = segments.filter((s) => s.audio.clean !== null && RATES.has(s.audio.sampleRate));
  const rate = withClean[0]?.audio.sampleRate;
  return withClean.filter((s) => s.audio.sampleRate === rate);
}

/** A set's output on the segments, joined end to end, beside the clean speech joined the same way. */
export function referencePair(
  stationId: number,
  params: Readonly<Record<string, number>>,
  segments: readonly ReplaySegment[],
): QualityPair | null {
  const segs = judgeableSegments(segments);
  const first = segs[0];
  if (!first) return null;
  const n = segs.reduce((a, s) => a + s.audio.samples.length, 0);
  const ref = new Float32Array(n);
  const deg = new Float32Array(n);
  let at = 0;
  for (const s of segs) {
    const a = s.audio;
    // processBufferOnce flushes the chain's delay: the output lines up with the input and its clean.
    const { output } = processBufferOnce(stationId, params, {
      stationId,
      sampleRate: a.sampleRate,
      samples: a.samples,
      ...(a.clean ? { clean: a.clean } : {}),
      ...(a.farEnd ? { farEnd: a.farEnd } : {}),
    });
    deg.set(output.subarray(0, a.samples.length), at);
    ref.set(a.clean!.subarray(0, a.samples.length), at);
    at += a.samples.length;
  }
  return { ref, deg, sampleRate: first.audio.sampleRate as 8000 | 16000 };
}

/**
 * PESQ and STOI of each set's output on the segments, in one batch to the judge; null for every set
 * when no segment has the clean speech, and for a set the reference code cannot judge (no speech).
 */
export async function judgeReference(
  judge: QualityJudge,
  stationId: number,
  sets: readonly Readonly<Record<string, number>>[],
  segments: readonly ReplaySegment[],
  signal?: AbortSignal,
): Promise<{ scores: (QualityScores | null)[]; seconds: number }> {
  const pairs: QualityPair[] = [];
  for (const params of sets) {
    signal?.throwIfAborted();
    const p = referencePair(stationId, params, segments);
    if (p === null) return { scores: sets.map(() => null), seconds: 0 };
    pairs.push(p);
    await yieldNow();
  }
  const seconds = pairs[0] ? pairs[0].ref.length / pairs[0].sampleRate : 0;
  try {
    return { scores: await judge.scoreMany(pairs), seconds };
  } catch (err) {
    if (err instanceof UnscorablePairError) return { scores: err.partial, seconds };
    throw err;
  }
}

/** A candidate's reference quality against the baseline's; null when either could not be judged. */
export function compareReference(
  candidate: Pick<QualityScores, 'pesq' | 'stoi'> | null | undefined,
  baseline: Pick<QualityScores, 'pesq' | 'stoi'> | null | undefined,
  seconds: number,
): ReferenceComparison | null {
  if (!candidate || !baseline) return null;
  return {
    pesq_before: baseline.pesq,
    pesq_after: candidate.pesq,
    pesq_gain: candidate.pesq - baseline.pesq,
    stoi_before: baseline.stoi,
    stoi_after: candidate.stoi,
    stoi_gain: candidate.stoi - baseline.stoi,
    seconds,
  };
}

/** Why a candidate fails the reference guard, or null when it holds (or there is nothing to judge). */
export function referenceFault(r: ReferenceComparison | null): string | null {
  if (r === null) return null;
  const f = (x: number, d: number) => x.toFixed(d);
  if (r.pesq_gain < -PESQ_TOLERANCE)
    return `PESQ falls ${f(r.pesq_before, 2)} -> ${f(r.pesq_after, 2)} MOS (more than ${PESQ_TOLERANCE})`;
  if (r.stoi_gain < -STOI_TOLERANCE)
    return `STOI falls ${f(r.stoi_before, 3)} -> ${f(r.stoi_after, 3)} (more than ${STOI_TOLERANCE})`;
  return null;
}
