// Blind SNR by WADA (waveform amplitude distribution analysis, Kim & Stern 2008): a live station has
// no clean reference, so the SNR is read off how far the amplitude distribution is from Gaussian.
// Calibrated for speech (Gamma(0.4) amplitudes); on music or tones it reads whatever G says.

import { WADA_MAX_DB, WADA_MIN_DB } from './wada-model.ts';
import { WADA_G_TABLE } from './wada-table.ts';

/**
 * Amplitudes below this fraction of the peak count as this fraction (the paper's MATLAB code uses 1e-10
 * after peak normalisation), so digital silence adds a large but finite ln|z|.
 */
const AMPLITUDE_EPS = 1e-10;

/** Reading for a signal with no energy: an SNR of 0 dB says "no speech above the noise". */
export const SILENCE_SNR_DB = 0;

/**
 * WADA-SNR of `x` after removing `mean` (a DC offset would distort the amplitude distribution), dB,
 * clamped to the table's -20 .. 100 dB range.
 */
export function wadaSnr(x: Float32Array, mean: number): number {
  const n = x.length;
  let peak = 0;
  for (let i = 0; i < n; i++) {
    const a = Math.abs(x[i]! - mean);
    if (a > peak) peak = a;
  }
  if (n === 0 || peak === 0) return SILENCE_SNR_DB;
  const floor = AMPLITUDE_EPS * peak;
  let sumAbs = 0;
  let sumLog = 0;
  for (let i = 0; i < n; i++) {
    const a = Math.max(floor, Math.abs(x[i]! - mean));
    sumAbs += a;
    sumLog += Math.log(a);
  }
  // ln E|z| - E ln|z| is scale-invariant, so normalising to the peak first is unnecessary.
  return snrFromG(Math.log(sumAbs / n) - sumLog / n);
}

/** Inverse of the table by linear interpolation; clamps outside it. */
export function snrFromG(g: number): number {
  const table = WADA_G_TABLE;
  const last = table.length - 1;
  if (!(g > table[0]!)) return WADA_MIN_DB;
  if (g >= table[last]!) return WADA_MAX_DB;
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (table[mid]! <= g) lo = mid;
    else hi = mid;
  }
  const g0 = table[lo]!;
  const g1 = table[hi]!;
  return WADA_MIN_DB + lo + (g - g0) / (g1 - g0);
}
