// Noise and interference generators of the simulator: white, pink and babble noise, mains hum with
// harmonics, and a line echo path. Each returns a new buffer; levels are set by the caller (impair.ts).
import { RealFft } from '../../audio/dsp/realFft.ts';
import { gaussian, type Rng, rngFor, uniform } from './random.ts';
import { speechSource } from './speech.ts';

// Talkers mixed into babble: with 6 or more, single voices stop being intelligible (the
// "cocktail party" crowd of e.g. the NOISEX-92 babble recording).
const BABBLE_TALKERS = 6;

export function whiteNoise(n: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = gaussian(rng);
  return out;
}

/**
 * Pink (1/f power, -3 dB/octave) noise by shaping white noise in one FFT: exact at every sample rate,
 * unlike the fixed-pole filter approximations tuned for 44.1 kHz. The spectrum is circular over the
 * next power of two above n, which only matters below fs / 2^k Hz.
 */
export function pinkNoise(n: number, rng: Rng): Float32Array {
  let size = 4;
  while (size < n) size <<= 1;
  const fft = new RealFft(size);
  const x = new Float64Array(size);
  for (let i = 0; i < size; i++) x[i] = gaussian(rng);
  const spec = new Float64Array(2 * size);
  fft.forward(x, spec);
  spec[0] = 0;
  spec[1] = 0;
  for (let k = 1; k <= size / 2; k++) {
    const g = 1 / Math.sqrt(k);
    spec[2 * k] = (spec[2 * k] as number) * g;
    spec[2 * k + 1] = (spec[2 * k + 1] as number) * g;
  }
  const y = new Float64Array(size);
  fft.inverse(spec, y);
  return Float32Array.from(y.subarray(0, n));
}

/**
 * Each babble talker joins at a random point of its own stream, up to this far in: a stream opens on
 * its first prompt's leading silence, and six opening together made every babble call start with
 * ~100 ms of near silence, which a noise-floor reader took for a clean line until it left its window.
 */
const BABBLE_MAX_OFFSET_MS = 3000;

/** Babble: BABBLE_TALKERS independent speech streams (seeded from `rng`), each joined mid-stream, summed. */
export function babbleNoise(n: number, sampleRate: number, rng: Rng, promptDir?: string): Float32Array {
  const out = new Float32Array(n);
  const durationMs = (n / sampleRate) * 1000;
  for (let t = 0; t < BABBLE_TALKERS; t++) {
    const seed = Math.floor(rng() * 2 ** 32);
    const offset = Math.floor(rng() * BABBLE_MAX_OFFSET_MS * (sampleRate / 1000));
    const clip = speechSource(seed, {
      durationMs: durationMs + BABBLE_MAX_OFFSET_MS,
      sampleRate,
      voice: 'babble',
      ...(promptDir ? { promptDir } : {}),
    });
    const m = Math.min(n, clip.samples.length - offset);
    for (let i = 0; i < m; i++) out[i] = (out[i] as number) + (clip.samples[i + offset] as number);
  }
  return out;
}

/**
 * Mains hum: `harmonics[h-1]` x sin(2 pi h f t + phase_h) for every harmonic below Nyquist, random
 * phases, scaled to an overall RMS of `rms`.
 */
export function hum(
  n: number,
  sampleRate: number,
  freqHz: number,
  harmonics: readonly number[],
  rms: number,
  rng: Rng,
): Float32Array {
  const out = new Float32Array(n);
  let power = 0;
  harmonics.forEach((a, idx) => {
    const f = freqHz * (idx + 1);
    if (a === 0 || f >= sampleRate / 2) return;
    power += (a * a) / 2;
    const phase = uniform(rng, 0, 2 * Math.PI);
    const w = (2 * Math.PI * f) / sampleRate;
    for (let i = 0; i < n; i++) out[i] = (out[i] as number) + a * Math.sin(w * i + phase);
  });
  const g = power > 0 ? rms / Math.sqrt(power) : 0;
  for (let i = 0; i < n; i++) out[i] = (out[i] as number) * g;
  return out;
}

/**
 * Impulse response of a line echo path: a bulk delay, then an exponentially decaying dispersion of
 * random-sign taps (a hybrid's reflection is not a single tap), normalized to unit energy and scaled
 * by `gainDb`.
 */
export function echoPath(
  sampleRate: number,
  delayMs: number,
  dispersionMs: number,
  gainDb: number,
  seed: number,
): Float64Array {
  const rng = rngFor('echo-path', seed);
  const delay = Math.round((delayMs / 1000) * sampleRate);
  const taps = Math.max(1, Math.round((dispersionMs / 1000) * sampleRate));
  const h = new Float64Array(delay + taps);
  let energy = 0;
  for (let k = 0; k < taps; k++) {
    // Decays by 30 dB over the dispersion.
    const v = (rng() < 0.5 ? -1 : 1) * 10 ** ((-30 * k) / taps / 20) * uniform(rng, 0.5, 1);
    h[delay + k] = v;
    energy += v * v;
  }
  const g = 10 ** (gainDb / 20) / Math.sqrt(energy);
  for (let k = delay; k < h.length; k++) h[k] = (h[k] as number) * g;
  return h;
}

/** Causal convolution of x with a sparse-at-the-start impulse response, cut to x's length. */
export function convolve(x: Float32Array, h: Float64Array): Float32Array {
  const out = new Float32Array(x.length);
  let first = 0;
  while (first < h.length && h[first] === 0) first++;
  for (let k = first; k < h.length; k++) {
    const c = h[k] as number;
    if (c === 0) continue;
    for (let i = k; i < x.length; i++) out[i] = (out[i] as number) + c * (x[i - k] as number);
  }
  return out;
}
