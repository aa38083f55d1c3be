// Integrated loudness per ITU-R BS.1770-4 for one (mono) channel: K-weighting, mean square over
// 400 ms gating blocks overlapping by 75 %, absolute gate at -70 LKFS, relative gate 10 LU below
// the absolutely-gated loudness. LUFS and LKFS are the same unit.

import { DB_FLOOR } from './levels.ts';

/** Direct-form biquad coefficients with a0 normalised to 1. */
export interface Biquad {
  readonly b0: number;
  readonly b1: number;
  readonly b2: number;
  readonly a1: number;
  readonly a2: number;
}

// BS.1770 publishes the K-weighting biquads for 48 kHz only. These are the analog-prototype parameters
// (centre frequency, gain, Q) that reproduce the published 48 kHz coefficients through the bilinear
// transform with frequency prewarping, as derived and used by libebur128 (and pyloudnorm); re-running
// the transform at another rate gives that rate's filter. unit tests check the 48 kHz result.
const SHELF_F0_HZ = 1681.974450955533;
const SHELF_GAIN_DB = 3.999843853973347;
const SHELF_Q = 0.7071752369554196;
const SHELF_VB_EXPONENT = 0.4996667741545416;
const RLB_F0_HZ = 38.13547087602444;
const RLB_Q = 0.5003270373238773;

/** BS.1770 stage 1: the high-shelf modelling the acoustic effect of the head. */
export function shelfFilter(sampleRate: number): Biquad {
  const k = Math.tan((Math.PI * SHELF_F0_HZ) / sampleRate);
  const vh = 10 ** (SHELF_GAIN_DB / 20);
  const vb = vh ** SHELF_VB_EXPONENT;
  const a0 = 1 + k / SHELF_Q + k * k;
  return {
    b0: (vh + (vb * k) / SHELF_Q + k * k) / a0,
    b1: (2 * (k * k - vh)) / a0,
    b2: (vh - (vb * k) / SHELF_Q + k * k) / a0,
    a1: (2 * (k * k - 1)) / a0,
    a2: (1 - k / SHELF_Q + k * k) / a0,
  };
}

/** BS.1770 stage 2: the revised low-frequency B-weighting (RLB) high-pass. */
export function rlbFilter(sampleRate: number): Biquad {
  const k = Math.tan((Math.PI * RLB_F0_HZ) / sampleRate);
  const a0 = 1 + k / RLB_Q + k * k;
  return { b0: 1, b1: -2, b2: 1, a1: (2 * (k * k - 1)) / a0, a2: (1 - k / RLB_Q + k * k) / a0 };
}

/** BS.1770 eq. 2: loudness = -0.691 + 10·log10(Σ G_i·z_i); one channel, G = 1. */
const LOUDNESS_OFFSET_DB = -0.691;
/** BS.1770-4 §2.6: gating block length 400 ms ... */
const BLOCK_S = 0.4;
/** ... stepped by 100 ms (75 % overlap). */
const STEP_S = 0.1;
/** BS.1770-4 absolute gate, LKFS. */
const ABSOLUTE_GATE_LKFS = -70;
/** BS.1770-4 relative gate, LU below the absolutely-gated loudness. */
const RELATIVE_GATE_LU = -10;

interface FilterCache {
  rate: number;
  shelf: Biquad;
  rlb: Biquad;
}
let filters: FilterCache | null = null;
let stepEnergy = new Float64Array(0);
let blockPower = new Float64Array(0);

function filtersFor(sampleRate: number): FilterCache {
  if (filters?.rate !== sampleRate) {
    filters = { rate: sampleRate, shelf: shelfFilter(sampleRate), rlb: rlbFilter(sampleRate) };
  }
  return filters;
}

const toLkfs = (meanSquare: number) => LOUDNESS_OFFSET_DB + 10 * Math.log10(meanSquare);

/**
 * Integrated loudness of a mono signal, LUFS. A 0 dBFS 997 Hz sine reads -3.01 LUFS (BS.1770-4 §2.7's
 * check, one channel). A signal shorter than one 400 ms block is measured as a single block, so short
 * segments still get a reading; when every block falls below the absolute gate the result is the
 * -120 floor (BS.1770 leaves it undefined).
 */
export function integratedLoudness(x: Float32Array, sampleRate: number): number {
  const n = x.length;
  if (n === 0) return DB_FLOOR;
  const { shelf, rlb } = filtersFor(sampleRate);
  // 100 ms steps (rounded at rates where 0.1 s is not a whole number of samples); a block is 4 steps.
  const step = Math.max(1, Math.round(STEP_S * sampleRate));
  const stepsPerBlock = Math.round(BLOCK_S / STEP_S);
  const steps = Math.ceil(n / step);
  if (stepEnergy.length < steps) stepEnergy = new Float64Array(steps);
  stepEnergy.fill(0, 0, steps);

  // Both biquads in transposed direct form II, in double precision, accumulating z per 100 ms step.
  let s1 = 0;
  let s2 = 0;
  let r1 = 0;
  let r2 = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    const y = shelf.b0 * v + s1;
    s1 = shelf.b1 * v - shelf.a1 * y + s2;
    s2 = shelf.b2 * v - shelf.a2 * y;
    const z = rlb.b0 * y + r1;
    r1 = rlb.b1 * y - rlb.a1 * z + r2;
    r2 = rlb.b2 * y - rlb.a2 * z;
    stepEnergy[(i / step) | 0]! += z * z;
  }

  const blockLen = step * stepsPerBlock;
  if (n < blockLen) {
    let e = 0;
    for (let k = 0; k < steps; k++) e += stepEnergy[k]!;
    const l = toLkfs(e / n);
    return Number.isFinite(l) && l > ABSOLUTE_GATE_LKFS ? l : DB_FLOOR;
  }

  const blocks = Math.floor((n - blockLen) / step) + 1;
  if (blockPower.length < blocks) blockPower = new Float64Array(blocks);
  const absGate = 10 ** ((ABSOLUTE_GATE_LKFS - LOUDNESS_OFFSET_DB) / 10);
  let sumAbs = 0;
  let countAbs = 0;
  for (let j = 0; j < blocks; j++) {
    let e = 0;
    for (let k = j; k < j + stepsPerBlock; k++) e += stepEnergy[k]!;
    const z = e / blockLen;
    blockPower[j] = z;
    if (z > absGate) {
      sumAbs += z;
      countAbs++;
    }
  }
  if (countAbs === 0) return DB_FLOOR;
  const relGate = 10 ** ((toLkfs(sumAbs / countAbs) + RELATIVE_GATE_LU - LOUDNESS_OFFSET_DB) / 10);
  const gate = Math.max(absGate, relGate);
  let sum = 0;
  let count = 0;
  for (let j = 0; j < blocks; j++) {
    const z = blockPower[j]!;
    if (z > gate) {
      sum += z;
      count++;
    }
  }
  return count === 0 ? DB_FLOOR : Math.max(DB_FLOOR, toLkfs(sum / count));
}
