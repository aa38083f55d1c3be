// Sample-domain level metrics: RMS, peak, crest factor (DC removed), DC offset, clipping and noise floor.
// One pass over the samples for the sums, one over 20 ms frames for the noise floor.

import { quantileSorted } from 'simple-statistics';

/** Reading for silence and for anything below it, so every metric stays finite (no -Infinity). */
export const DB_FLOOR = -120;

/**
 * AES17 defines 0 dBFS as the RMS of a full-scale sine, so RMS dBFS = 20·log10(rms) + 20·log10(√2):
 * a sine of peak amplitude 0.1 reads -20.00 dBFS RMS and -20.00 dBFS peak.
 */
export const AES17_SINE_OFFSET_DB = 20 * Math.log10(Math.SQRT2);

/**
 * 16-bit full scale is +32767/32768 and -1; "at or within 1 LSB of full scale" (the avro field doc)
 * is then |x| >= 32766/32768 (slightly generous on the negative side, where -32767/32768 would do).
 */
export const CLIP_THRESHOLD = 32766 / 32768;

/** Frame length for the noise floor: 20 ms is short enough to land inside speech pauses. */
export const NOISE_FRAME_S = 0.02;
/**
 * The noise floor is the 10th percentile (linear interpolation, numpy's default) of frame levels: the
 * quiet frames, yet robust to a few digital dropouts.
 */
export const NOISE_PERCENTILE = 0.1;

/** 10·log10(power) clamped to the floor. */
export function powerDb(power: number): number {
  return power > 0 ? Math.max(DB_FLOOR, 10 * Math.log10(power)) : DB_FLOOR;
}

/** 20·log10(amplitude) clamped to the floor. */
export function amplitudeDb(amplitude: number): number {
  return amplitude > 0 ? Math.max(DB_FLOOR, 20 * Math.log10(amplitude)) : DB_FLOOR;
}

/** Mean-square power to dBFS under AES17, clamped to the floor. */
export function powerDbfs(meanSquare: number): number {
  return meanSquare > 0 ? Math.max(DB_FLOOR, 10 * Math.log10(meanSquare) + AES17_SINE_OFFSET_DB) : DB_FLOOR;
}

export interface Levels {
  /** Mean sample value. */
  readonly mean: number;
  /** Mean of x² (DC included). */
  readonly meanSquare: number;
  /** max |x|. */
  readonly peak: number;
  /** Largest and smallest sample (0 and 0 for no samples): the peak around the mean, for the crest factor. */
  readonly max: number;
  readonly min: number;
  /** Samples with |x| >= CLIP_THRESHOLD. */
  readonly clipped: number;
}

/** The one pass over the samples that every other metric starts from. */
export function sampleLevels(x: Float32Array): Levels {
  const n = x.length;
  let sum = 0;
  let sumSq = 0;
  let max = Number.NEGATIVE_INFINITY;
  let min = Number.POSITIVE_INFINITY;
  let clipped = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    sum += v;
    sumSq += v * v;
    if (v > max) max = v;
    if (v < min) min = v;
    if (v >= CLIP_THRESHOLD || v <= -CLIP_THRESHOLD) clipped++;
  }
  return n === 0
    ? { mean: 0, meanSquare: 0, peak: 0, max: 0, min: 0, clipped: 0 }
    : { mean: sum / n, meanSquare: sumSq / n, peak: Math.max(max, -min), max, min, clipped };
}

/**
 * Crest factor in dB: the peak over the RMS of the signal with its DC removed (max |x - mean| over
 * sqrt(mean square - mean²)), 0 for silence. DC is reported on its own; counted here it would read a
 * quiet talker over an offset as squashed (the offset fills the RMS, not the peaks).
 */
export function crestFactorDb(l: Levels): number {
  const variance = l.meanSquare - l.mean * l.mean;
  const peak = Math.max(l.max - l.mean, l.mean - l.min);
  // A constant signal's variance is rounding residue (about 1e-16 of its square): no dynamics at all.
  if (!(variance > 1e-12 * l.meanSquare) || !(peak > 0)) return 0;
  const db = 20 * Math.log10(peak / Math.sqrt(variance));
  return Number.isFinite(db) ? Math.max(0, db) : 0;
}

let framePowers = new Float64Array(0);

/**
 * Noise floor: the 10th percentile of the mean-square levels of consecutive 20 ms frames, with the
 * signal's DC removed first (DC is reported on its own and would otherwise masquerade as noise).
 * A signal shorter than one frame is one frame.
 */
export function noiseFloorDbfs(x: Float32Array, sampleRate: number, mean: number): number {
  const n = x.length;
  if (n === 0) return DB_FLOOR;
  const frame = Math.max(1, Math.round(NOISE_FRAME_S * sampleRate));
  const frames = Math.max(1, Math.floor(n / frame));
  const len = frames === 1 ? n : frame;
  if (framePowers.length < frames) framePowers = new Float64Array(frames);
  for (let f = 0; f < frames; f++) {
    let s = 0;
    const start = f * len;
    for (let i = start; i < start + len; i++) {
      const d = x[i]! - mean;
      s += d * d;
    }
    framePowers[f] = s / len;
  }
  const sorted = framePowers.subarray(0, frames).sort();
  return powerDbfs(quantileSorted(Array.from(sorted), NOISE_PERCENTILE));
}
