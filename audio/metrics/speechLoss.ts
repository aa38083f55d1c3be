// Speech loss: how much of the speech its own input carried a station's DSP chain took away (issue 10,
// "a scorecard that agrees with the listener"). Blind: no clean reference, only the chain's input
// and output, which every live station has. The blind output metrics (SNR, hum, noise floor) cannot
// tell a suppressor that removed the noise from one that removed the noise and half the words; this
// can, because it looks only where the input was clearly speech.
//
// Method. Short-time spectra (Hann, ~32 ms, half overlap) of the input and of the output aligned
// with it. Each input bin's noise is a low percentile of its power over the segment's frames (noise
// and hum are stationary, speech is not). A cell (frame, bin) is speech-dominated when the input
// holds SPEECH_CELL_DB over that noise: there the input is, within a dB, the speech itself, and a
// chain that preserves speech passes it at the chain's overall gain. That gain is the median of the
// cells' output/input ratio per frame, smoothed by a running median over GAIN_SPAN_S, so level
// changes (input gain, AGC, a limiter's slow release) are not counted as loss. The loss is the
// speech-dominated energy the output lacks beyond TOLERANCE_DB under that gain, as dB of the whole:
// 0 dB when every speech cell passes, 3 dB when half the speech energy is gone.
//
// What it is blind to, on purpose: attenuation of noise-dominated cells (the suppressor's job), level
// moves, and anything that happens before the signal it is given (the network's loss is the
// E-model's). The pipeline gives it the chain's near end after the echo canceller, not before: there
// the near end holds echo, which the canceller rightly removes.
import FFT from 'fft.js';
import { quantileSorted } from 'simple-statistics';
import { hann } from './spectrum.ts';

/** A cell is speech-dominated when its input power is this far over the bin's noise estimate. */
const SPEECH_CELL_DB = 12;
/**
 * A bin's noise is this percentile of its power over the segment's frames, scaled to the mean: a
 * noise bin's power is exponentially distributed, whose p-quantile is -ln(1 - p) times its mean.
 */
const NOISE_QUANTILE = 0.1;
const NOISE_QUANTILE_OF_MEAN = -Math.log(1 - NOISE_QUANTILE);
/** Attenuation under the chain's gain up to this much is ordinary processing (a Wiener gain, a compressor). */
const TOLERANCE_DB = 3;
/**
 * The chain's gain is this quantile of the per-frame gains within GAIN_SPAN_S: the upper quartile,
 * so a gate or suppressor closing on half the syllables reads as loss, not as the chain's level.
 */
const GAIN_SPAN_S = 0.5;
const GAIN_QUANTILE = 0.75;
/**
 * Cells are summed as loudness (power^0.3, Stevens/Zwicker), so quiet speech cells (consonants, upper
 * formants) count as a listener hears them rather than by their small share of the energy.
 */
const LOUDNESS_EXPONENT = 0.3;
/** A frame's gain is measured only from this many speech-dominated cells or more. */
const MIN_CELLS_PER_FRAME = 3;
/** Fewer speech-dominated cells than this in the segment: nothing to judge (null). */
const MIN_CELLS = 40;
/** Cells under this power (dBFS per bin, -90) are below any codec's floor: never speech-dominated. */
const ABS_FLOOR = 1e-9;
/** Bins from this frequency up: under it there is no speech, only hum and rumble. */
const LOW_HZ = 70;
/**
 * The most a level control (AGC, compressor) turns the speech down within one segment against the
 * segment's own gain: a gate shut for longer than GAIN_SPAN_S reads as loss, not as a level change.
 */
const LEVEL_SWING_DB = 10;
/** Speech cells 60 dB down in most frames: the output is muted, not turned down. */
const MUTE_RATIO = 1e-6;
/** The largest loss reported: beyond this the output has no speech left to speak of. */
const MAX_LOSS_DB = 30;

/** FFT plans and Hann windows per frame size, made once. */
const kits = new Map<number, { fft: FFT; window: Float64Array }>();

/**
 * simple-statistics' quantile of `x`, sorted in place first: a typed array sorts numerically without
 * a comparator call per pair, which made the generic sort most of this metric's cost.
 */
function sortedQuantile(x: Float64Array, p: number): number {
  return quantileSorted(x.sort() as unknown as number[], p);
}

function frameSize(sampleRate: number): number {
  return 2 ** Math.max(4, Math.round(Math.log2(0.032 * sampleRate)));
}

/** Per-frame power spectra, frames of `size` hopping by size/2, bins lo..size/2. */
function spectra(x: Float32Array, size: number, lo: number): Float64Array[] {
  let kit = kits.get(size);
  if (!kit) {
    kit = { fft: new FFT(size), window: hann(size) };
    kits.set(size, kit);
  }
  const { fft, window } = kit;
  const hop = size >> 1;
  const bins = size / 2 - lo + 1;
  const frame = new Float64Array(size);
  const out = new Float64Array(2 * size);
  const frames: Float64Array[] = [];
  for (let start = 0; start + size <= x.length; start += hop) {
    for (let i = 0; i < size; i++) frame[i] = x[start + i]! * window[i]!;
    fft.realTransform(out, frame);
    const p = new Float64Array(bins);
    for (let b = 0; b < bins; b++) {
      const re = out[2 * (b + lo)]!;
      const im = out[2 * (b + lo) + 1]!;
      p[b] = (re * re + im * im) / size;
    }
    frames.push(p);
  }
  return frames;
}

/**
 * The speech a chain removed, dB (0 = none), from its `input` and its `output` aligned with it (same
 * length; output[i] is what input[i] became). Null when the segment holds too little clear speech to
 * judge.
 */
export function speechLossDb(input: Float32Array, output: Float32Array, sampleRate: number): number | null {
  if (output.length !== input.length) {
    throw new RangeError(`output has ${output.length} samples, input ${input.length}`);
  }
  const size = frameSize(sampleRate);
  if (input.length < 2 * size) return null;
  const lo = Math.max(1, Math.ceil((LOW_HZ * size) / sampleRate));
  const X = spectra(input, size, lo);
  const Y = spectra(output, size, lo);
  const nFrames = X.length;
  const bins = X[0]!.length;
  const threshold = 10 ** (SPEECH_CELL_DB / 10);
  const noise = new Float64Array(bins);
  const column = new Float64Array(nFrames);
  for (let b = 0; b < bins; b++) {
    for (let f = 0; f < nFrames; f++) column[f] = X[f]![b]!;
    noise[b] = sortedQuantile(column, NOISE_QUANTILE) / NOISE_QUANTILE_OF_MEAN;
  }
  // Speech cells per frame, and each frame's gain (median output/input ratio over its cells).
  const cells: number[][] = [];
  const frameGain: (number | null)[] = [];
  let total = 0;
  for (let f = 0; f < nFrames; f++) {
    const list: number[] = [];
    for (let b = 0; b < bins; b++) {
      const x = X[f]![b]!;
      if (x > ABS_FLOOR && x > threshold * noise[b]!) list.push(b);
    }
    cells.push(list);
    total += list.length;
    if (list.length < MIN_CELLS_PER_FRAME) {
      frameGain.push(null);
      continue;
    }
    const ratios = new Float64Array(list.length);
    for (let k = 0; k < list.length; k++) ratios[k] = Y[f]![list[k]!]! / X[f]![list[k]!]!;
    frameGain.push(sortedQuantile(ratios, 0.5));
  }
  if (total < MIN_CELLS) return null;
  const gains = Float64Array.from(frameGain.filter((g): g is number => g !== null));
  // The speech cells came out MUTE_RATIO (60 dB) down in most frames: the chain muted them (a gain
  // cannot be told from a mute frame by frame, but no station's level control goes 60 dB down).
  const segmentGain = gains.length === 0 ? 0 : sortedQuantile(gains, GAIN_QUANTILE);
  if (segmentGain < MUTE_RATIO) return MAX_LOSS_DB;
  // Level control moves slowly: a local gain far under the segment's is speech shut off, not a level.
  const lowestGain = segmentGain * 10 ** (-LEVEL_SWING_DB / 10);
  const span = Math.max(1, Math.round((GAIN_SPAN_S * sampleRate) / (size >> 1) / 2));
  const tolerance = 10 ** (-TOLERANCE_DB / 10);
  let wanted = 0;
  let kept = 0;
  for (let f = 0; f < nFrames; f++) {
    if (cells[f]!.length === 0) continue;
    const near: number[] = [];
    for (let g = Math.max(0, f - span); g <= Math.min(nFrames - 1, f + span); g++) {
      const v = frameGain[g];
      if (v !== null && v !== undefined) near.push(v);
    }
    if (near.length === 0) continue;
    const gain = Math.max(lowestGain, sortedQuantile(Float64Array.from(near), GAIN_QUANTILE));
    for (const b of cells[f]!) {
      const expect = gain * X[f]![b]!;
      const loud = expect ** LOUDNESS_EXPONENT;
      const got = Y[f]![b]! / tolerance;
      wanted += loud;
      kept += got >= expect ? loud : got ** LOUDNESS_EXPONENT;
    }
  }
  if (!(wanted > 0)) return null;
  if (!(kept > 0)) return MAX_LOSS_DB;
  return Math.min(MAX_LOSS_DB, Math.max(0, (10 / LOUDNESS_EXPONENT) * Math.log10(wanted / kept)));
}
