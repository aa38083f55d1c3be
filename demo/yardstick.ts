// The yardstick of one station over the calls of a run, shared by the demo and `npm run eval`: every
// parameter set the loop ran is re-run on the same audio (each call's last segments), beside the
// catalog defaults and the best set an offline search finds, by score and reference SNR; and, given a
// PESQ/STOI judge, the defaults', final and best sets' output judged against the clean speech.
import { defaultsForStation } from '../catalog/index.ts';
import type { QualityJudge, QualityPair, QualityScores } from '../quality/index.ts';
import { UnscorablePairError } from '../quality/index.ts';
import type { StationInput } from '../stations/pipeline.ts';
import {
  type CallAudio,
  callAudio,
  type Evaluation,
  evaluateCall,
  type OfflineBest,
  offlineBest,
} from './offline.ts';

/** Segments at the end of each call that every parameter set is scored on (after a warm-up). */
export const EVAL_SEGMENTS = 2;

export interface CallHistory {
  inputs: readonly StationInput[];
  /** The set that processed each segment. */
  params: readonly Record<string, number>[];
}

export interface StationYardstick {
  audio: CallAudio[];
  defaults: Record<string, number>;
  best: OfflineBest;
  perCallDefault: Evaluation[];
  finals: Evaluation[];
  bestOnAll: Evaluation[];
  defaultScore: number;
  finalScore: number;
  /** The better of the search's best (mean over calls) and any call's final set. */
  bestScore: number;
  /** Per call and iteration: the running set's score on the call's yardstick audio. */
  trajectory: number[][];
  /** Per call: the best score on its audio (search's best or its own final, whichever is higher). */
  bestPerCall: number[];
  /** Per call: first iteration (1-based) whose set scores within 5% of that call's best; null = never. */
  reachedAt: (number | null)[];
  refBefore: number | null;
  refAfter: number | null;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

function meanOrNull(xs: (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? mean(v) : null;
}

/**
 * The search runs on the first call's audio (it is the costly part); its best set is then scored on
 * every call like the others.
 */
export function yardstick(
  stationId: number,
  calls: readonly CallHistory[],
  searchBudget: number,
  seed: number,
  judgedSegments = EVAL_SEGMENTS,
): StationYardstick {
  const audio = calls.map((h) => callAudio(h.inputs, judgedSegments));
  const defaults = defaultsForStation(stationId);
  const best = offlineBest(stationId, audio.slice(0, 1), searchBudget, seed, defaults);
  const perCallDefault = audio.map((a) => evaluateCall(stationId, defaults, a));
  const finals = calls.map((h, c) => evaluateCall(stationId, h.params.at(-1)!, audio[c]!));
  const bestOnAll = audio.map((a) => evaluateCall(stationId, best.params, a));
  const bestScore = Math.max(mean(bestOnAll.map((x) => x.score)), ...finals.map((x) => x.score));
  const trajectory = calls.map((h, c) => h.params.map((p) => evaluateCall(stationId, p, audio[c]!).score));
  const bestPerCall = bestOnAll.map((b, c) => Math.max(b.score, finals[c]!.score));
  const reachedAt = trajectory.map((xs, c) => {
    const i = xs.findIndex((x) => x >= 0.95 * bestPerCall[c]!);
    return i < 0 ? null : i + 1;
  });
  return {
    audio,
    defaults,
    best,
    perCallDefault,
    finals,
    bestOnAll,
    defaultScore: mean(perCallDefault.map((x) => x.score)),
    finalScore: mean(finals.map((x) => x.score)),
    bestScore,
    trajectory,
    bestPerCall,
    reachedAt,
    refBefore: meanOrNull(perCallDefault.map((x) => x.ref)),
    refAfter: meanOrNull(finals.map((x) => x.ref)),
  };
}

export interface SetQuality {
  /** Mean over calls; null when no call could be judged (silence, a rate PESQ does not define). */
  pesq: number | null;
  /** The same mean of the readings as given (QualityScores.pesqPlain). */
  pesqPlain: number | null;
  stoi: number | null;
  /** Per call, null where that call could not be judged. */
  perCall: (QualityScores | null)[];
}

const PESQ_RATES = new Set([8000, 16000]);

/** Each named set's output on every call's yardstick audio, as pairs for the judge (judgePairs). */
export interface SetPairs {
  names: string[];
  calls: number;
  pairs: QualityPair[];
  slots: { name: string; call: number }[];
}

/**
 * The DSP half of judgeSets: each named set run on every call's yardstick audio, its output and the
 * clean speech kept as a pair (none where PESQ defines no rate). CPU only, so it can run on another
 * thread than the judge's (eval/pool.ts).
 */
export function setPairs(
  stationId: number,
  audio: readonly CallAudio[],
  sets: Record<string, readonly Record<string, number>[]>,
): SetPairs {
  const names = Object.keys(sets);
  const pairs: QualityPair[] = [];
  const slots: { name: string; call: number }[] = [];
  for (const name of names) {
    for (const [c, a] of audio.entries()) {
      const params = sets[name]![c] ?? sets[name]![0]!;
      const scored = evaluateCall(stationId, params, a, { keepAudio: true }).audio!;
      if (!PESQ_RATES.has(scored.sampleRate)) continue;
      pairs.push({ ref: scored.ref, deg: scored.deg, sampleRate: scored.sampleRate as 8000 | 16000 });
      slots.push({ name, call: c });
    }
  }
  return { names, calls: audio.length, pairs, slots };
}

/**
 * The judge's half: PESQ and STOI of the pairs in one batch, per set the mean over the calls it could
 * judge (a call with no utterance in the scored segments is left out of the mean).
 */
export async function judgePairs(judge: QualityJudge, p: SetPairs): Promise<Record<string, SetQuality>> {
  let scores: (QualityScores | null)[];
  try {
    scores = await judge.scoreMany(p.pairs);
  } catch (err) {
    if (!(err instanceof UnscorablePairError)) throw err;
    scores = err.partial;
  }
  const out: Record<string, SetQuality> = {};
  for (const name of p.names)
    out[name] = { pesq: null, pesqPlain: null, stoi: null, perCall: Array(p.calls).fill(null) };
  for (const [k, slot] of p.slots.entries()) out[slot.name]!.perCall[slot.call] = scores[k] ?? null;
  for (const q of Object.values(out)) {
    const got = q.perCall.filter((x): x is QualityScores => x !== null);
    q.pesq = got.length ? mean(got.map((x) => x.pesq)) : null;
    q.pesqPlain = got.length ? mean(got.map((x) => x.pesqPlain)) : null;
    q.stoi = got.length ? mean(got.map((x) => x.stoi)) : null;
  }
  return out;
}

/**
 * PESQ and STOI of each named set's output on every call's yardstick audio, in one batch to the
 * judge. A call PESQ cannot judge (no utterance in the scored segments) is left out of the mean.
 */
export async function judgeSets(
  judge: QualityJudge,
  stationId: number,
  audio: readonly CallAudio[],
  sets: Record<string, readonly Record<string, number>[]>,
): Promise<Record<string, SetQuality>> {
  return judgePairs(judge, setPairs(stationId, audio, sets));
}
