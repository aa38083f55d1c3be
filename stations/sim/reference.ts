// The simulator's ground-truth quality metric, `reference_seg_snr_db`: segmental SNR of a station's
// output against the clean speech that went in. Only a simulator knows the clean signal, so only it
// sets the metric; it is what lets a test (and the batch optimizer's counterfactual replay) see
// whether a parameter change really made the audio better rather than just moving a blind estimate.
//
// Definition: segmental SNR in the spirit of Quackenbush, Barnwell & Clements ("Objective Measures of
// Speech Quality", 1988) on 20 ms Hann frames with a 10 ms hop, per-frame SNR clamped to [-10, 35] dB,
// averaged over the frames where the clean speech is active. Three deliberate choices:
// - Magnitude spectra, not waveforms: each frame's SNR is sum |C_k|^2 / sum (|Y_k| - |C_k|)^2 over
//   its FFT bins. A waveform SNR counts any phase change as distortion, so the 4th-order high-pass
//   that removes hum (an all-pass-like phase shift over the whole low band) would read as damage and
//   the ground truth would punish the very fix it should reward. Magnitudes still see noise, hum,
//   echo, clipping, concealed packets and a gate chopping a word, and a high-pass cutting into the voice.
// - Gain: each frame's reference is scaled by the least-squares gain over a +-200 ms window around it,
//   so a level change (AGC, input gain, compressor at syllable rate or slower) is not distortion.
// - Activity: a frame is active when its clean level is within 30 dB of the segment's P.56 active
//   speech level; pauses carry no speech to distort, and counting them would score the noise floor twice.

import { RealFft } from '../../audio/dsp/realFft.ts';
import { activeSpeechLevel } from '../../audio/metrics/index.ts';

export const SEG_FRAME_MS = 20;
export const SEG_SNR_MIN_DB = -10;
export const SEG_SNR_MAX_DB = 35;
// +-10 hops of 10 ms: the +-200 ms gain window.
const GAIN_WINDOW_FRAMES = 20;
const ACTIVE_BELOW_LEVEL_DB = 30;

const ffts = new Map<number, { fft: RealFft; window: Float64Array }>();

function plan(frame: number): { fft: RealFft; window: Float64Array } {
  let p = ffts.get(frame);
  if (p === undefined) {
    let size = 4;
    while (size < frame) size <<= 1;
    const window = Float64Array.from(
      { length: frame },
      (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / frame),
    );
    p = { fft: new RealFft(size), window };
    ffts.set(frame, p);
  }
  return p;
}

/**
 * Segmental SNR of `output` against `clean`, both already time-aligned (sample i of each is the same
 * instant); compared over the shorter length. null when the clean signal has no active frame.
 */
export function segmentalSnrDb(output: Float32Array, clean: Float32Array, sampleRate: number): number | null {
  const frame = Math.round((sampleRate * SEG_FRAME_MS) / 1000);
  const hop = frame >> 1;
  const n = Math.min(output.length, clean.length);
  const frames = n < frame ? 0 : 1 + Math.floor((n - frame) / hop);
  if (frames === 0) return null;
  const level = activeSpeechLevel(clean.subarray(0, n), sampleRate).levelDbov;
  if (level <= -100) return null;
  const activePower = 10 ** ((level - ACTIVE_BELOW_LEVEL_DB) / 10);
  const { fft, window } = plan(frame);
  const size = fft.size;
  const bufY = new Float64Array(size);
  const bufC = new Float64Array(size);
  const specY = new Float64Array(2 * size);
  const specC = new Float64Array(2 * size);
  const syc = new Float64Array(frames);
  const scc = new Float64Array(frames);
  const syy = new Float64Array(frames);
  const active = new Uint8Array(frames);
  for (let f = 0; f < frames; f++) {
    const at = f * hop;
    let power = 0;
    for (let i = 0; i < frame; i++) {
      const c = clean[at + i] as number;
      power += c * c;
      const w = window[i] as number;
      bufY[i] = w * (output[at + i] as number);
      bufC[i] = w * c;
    }
    active[f] = power / frame >= activePower ? 1 : 0;
    fft.forward(bufY, specY);
    fft.forward(bufC, specC);
    let yc = 0;
    let cc = 0;
    let yy = 0;
    for (let k = 0; k <= size / 2; k++) {
      const my = Math.hypot(specY[2 * k] as number, specY[2 * k + 1] as number);
      const mc = Math.hypot(specC[2 * k] as number, specC[2 * k + 1] as number);
      yc += my * mc;
      cc += mc * mc;
      yy += my * my;
    }
    syc[f] = yc;
    scc[f] = cc;
    syy[f] = yy;
  }
  let sum = 0;
  let count = 0;
  for (let f = 0; f < frames; f++) {
    if (active[f] === 0) continue;
    let wyc = 0;
    let wcc = 0;
    for (
      let k = Math.max(0, f - GAIN_WINDOW_FRAMES);
      k <= Math.min(frames - 1, f + GAIN_WINDOW_FRAMES);
      k++
    ) {
      wyc += syc[k] as number;
      wcc += scc[k] as number;
    }
    const g = wcc > 0 ? wyc / wcc : 0;
    // sum (|Y| - g|C|)^2 = yy - 2 g yc + g^2 cc, from the frame sums.
    const cc = scc[f] as number;
    const signal = g * g * cc;
    const error = Math.max(0, (syy[f] as number) - 2 * g * (syc[f] as number) + signal);
    const snr = signal <= 0 ? SEG_SNR_MIN_DB : error <= 0 ? SEG_SNR_MAX_DB : 10 * Math.log10(signal / error);
    sum += Math.min(SEG_SNR_MAX_DB, Math.max(SEG_SNR_MIN_DB, snr));
    count++;
  }
  return count === 0 ? null : sum / count;
}

/**
 * The lag (in samples, among `candidates`) by which `output` trails `clean` best: the highest
 * normalized cross-correlation over the overlap. Used where the delay is known only up to whole
 * packets (a jitter buffer anchored on a packet other than the first one sent).
 */
export function bestLag(output: Float32Array, clean: Float32Array, candidates: readonly number[]): number {
  let best = candidates[0] ?? 0;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (const lag of candidates) {
    let xy = 0;
    let xx = 0;
    let yy = 0;
    // output[i] ~ clean[i - lag]
    const from = Math.max(0, lag);
    const to = Math.min(output.length, clean.length + lag);
    for (let i = from; i < to; i++) {
      const y = output[i] as number;
      const c = clean[i - lag] as number;
      xy += y * c;
      xx += c * c;
      yy += y * y;
    }
    const score = xx > 0 && yy > 0 ? xy / Math.sqrt(xx * yy) : Number.NEGATIVE_INFINITY;
    if (score > bestScore) {
      bestScore = score;
      best = lag;
    }
  }
  return best;
}
