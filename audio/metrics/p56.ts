// Active speech level per ITU-T P.56 (12/2011) method B, following the reference implementation
// `sv56` of the ITU-T Software Tool Library (G.191): a two-stage exponential envelope, a hangover per
// threshold, then the threshold at which the active level sits exactly M dB above it.

import { DB_FLOOR } from './levels.ts';

/** P.56 Annex B (method B): envelope time constant, s. */
const ENVELOPE_TIME_CONSTANT_S = 0.03;
/** P.56 Annex B: hangover, s. */
const HANGOVER_S = 0.2;
/** P.56 Annex B: margin between the active level and its threshold, dB. */
const MARGIN_DB = 15.9;
/**
 * sv56 for 16-bit words uses 15 thresholds, one per bit below the sign bit: 2^-15 .. 2^-1 of full
 * scale, a factor of two (6.02 dB) apart.
 */
const THRESHOLDS = 15;
const LOWEST_THRESHOLD_LOG2 = -15;

export interface ActiveSpeechLevel {
  /** Active level, dBov: 10·log10 of the mean square over active samples (full-scale square wave = 0). */
  readonly levelDbov: number;
  /** Fraction of samples counted active at the chosen threshold (hangover included). */
  readonly activity: number;
}

const THRESHOLD_VALUES = Float64Array.from(
  { length: THRESHOLDS },
  (_, j) => 2 ** (j + LOWEST_THRESHOLD_LOG2),
);
const activeCount = new Float64Array(THRESHOLDS);
/** Sample index at which the envelope last rose to / fell below each threshold (-1: never). */
const aboveSince = new Float64Array(THRESHOLDS);
const belowSince = new Float64Array(THRESHOLDS);

/**
 * P.56 method B on floating-point samples (full scale = 1). Silence reads the -120 floor with
 * activity 0. When even the lowest threshold leaves the level within the margin (a signal below about
 * -75 dBov) the level at the lowest threshold is returned rather than nothing.
 */
export function activeSpeechLevel(x: Float32Array, sampleRate: number): ActiveSpeechLevel {
  const n = x.length;
  const g = Math.exp(-1 / (sampleRate * ENVELOPE_TIME_CONSTANT_S));
  const hangover = Math.ceil(sampleRate * HANGOVER_S);
  activeCount.fill(0);
  belowSince.fill(-1);
  // sv56 counts, per threshold, every sample where the envelope reaches it plus at most `hangover`
  // samples after it falls below. Counting whole runs at each crossing gives the same counts without a
  // loop over thresholds per sample: the envelope is smooth, so crossings are rare.
  const settle = (j: number, below: number, until: number) => {
    if (below >= 0) activeCount[j]! += Math.min(until - below, hangover);
  };
  let reached = -1; // thresholds 0..reached are at or under the envelope
  let sumSq = 0;
  let p = 0;
  let q = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    sumSq += v * v;
    p = g * p + (1 - g) * Math.abs(v);
    q = g * q + (1 - g) * p;
    while (reached + 1 < THRESHOLDS && q >= THRESHOLD_VALUES[reached + 1]!) {
      reached++;
      settle(reached, belowSince[reached]!, i);
      aboveSince[reached] = i;
    }
    while (reached >= 0 && q < THRESHOLD_VALUES[reached]!) {
      activeCount[reached]! += i - aboveSince[reached]!;
      belowSince[reached] = i;
      reached--;
    }
  }
  for (let j = 0; j < THRESHOLDS; j++) {
    if (j <= reached) activeCount[j]! += n - aboveSince[j]!;
    else settle(j, belowSince[j]!, n);
  }
  if (n === 0 || activeCount[0] === 0 || sumSq === 0) return { levelDbov: DB_FLOOR, activity: 0 };

  // A_j: active level if threshold j is the right one; C_j: threshold level; want A - C = M.
  const activeDb = (j: number) => 10 * Math.log10(sumSq / activeCount[j]!);
  const thresholdDb = (j: number) => 20 * Math.log10(2) * (j + LOWEST_THRESHOLD_LOG2);
  let prevA = activeDb(0);
  let prevDelta = prevA - thresholdDb(0);
  if (prevDelta <= MARGIN_DB) return { levelDbov: Math.max(DB_FLOOR, prevA), activity: activeCount[0]! / n };
  let last = 0;
  for (let j = 1; j < THRESHOLDS && activeCount[j]! > 0; j++) {
    const a = activeDb(j);
    const delta = a - thresholdDb(j);
    if (delta <= MARGIN_DB) {
      // A and C are both close to linear in dB between neighbouring thresholds; interpolate the crossing
      // (sv56 bisects the same two lines to within 0.5 dB; this solves them exactly).
      const t = (prevDelta - MARGIN_DB) / (prevDelta - delta);
      const level = prevA + t * (a - prevA);
      const count = activeCount[j - 1]! + t * (activeCount[j]! - activeCount[j - 1]!);
      return { levelDbov: Math.max(DB_FLOOR, level), activity: count / n };
    }
    prevA = a;
    prevDelta = delta;
    last = j;
  }
  // The margin was never reached before the thresholds ran out: the highest active one is the level.
  return { levelDbov: Math.max(DB_FLOOR, prevA), activity: activeCount[last]! / n };
}

/** Below this active level (dBov) a signal holds no speech: the scorecard's NO_SIGNAL_DB. */
const NO_SPEECH_DBOV = -70;

/** The P.56 active level of `x` in dBov, or null when it holds no speech. */
export function speechLevelOrNull(x: Float32Array, sampleRate: number): number | null {
  const lv = activeSpeechLevel(x, sampleRate);
  return lv.activity > 0 && lv.levelDbov > NO_SPEECH_DBOV ? lv.levelDbov : null;
}
