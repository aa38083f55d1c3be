// Deterministic test signals for the metrics: sines, and a speech-like synthesiser (glottal pulse
// train through three formant resonators, syllable envelopes, word pauses) whose spectrum, amplitude
// distribution and on/off structure are close enough to speech for VAD, P.56 and WADA-SNR to treat it
// as speech, with every quantity (active span, signal energy) known exactly.

import { gaussian, mulberry32, type Rng } from '../../../audio/metrics/random.ts';

export function sine(sampleRate: number, seconds: number, freqHz: number, amplitude: number): Float32Array {
  const n = Math.round(sampleRate * seconds);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = amplitude * Math.sin((2 * Math.PI * freqHz * i) / sampleRate);
  return out;
}

export function meanSquare(x: Float32Array, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i]! * x[i]!;
  return to > from ? s / (to - from) : 0;
}

/** Scales `x` in place to the given RMS. */
export function setRms(x: Float32Array, rms: number): Float32Array {
  const g = rms / Math.sqrt(meanSquare(x));
  for (let i = 0; i < x.length; i++) x[i] = x[i]! * g;
  return x;
}

/** speech + noise scaled so that 10·log10(Σspeech² / Σnoise²) = snrDb exactly. */
export function mixAtSnr(speech: Float32Array, noise: Float32Array, snrDb: number): Float32Array {
  const g = Math.sqrt(meanSquare(speech) / meanSquare(noise) / 10 ** (snrDb / 10));
  const out = new Float32Array(speech.length);
  for (let i = 0; i < out.length; i++) out[i] = speech[i]! + g * noise[i]!;
  return out;
}

// Peterson & Barney (1952) average adult male formants F1..F3 for ten English vowels, Hz.
const VOWELS: readonly (readonly [number, number, number])[] = [
  [270, 2290, 3010],
  [390, 1990, 2550],
  [530, 1840, 2480],
  [660, 1720, 2410],
  [730, 1090, 2440],
  [570, 840, 2410],
  [440, 1020, 2240],
  [300, 870, 2240],
  [640, 1190, 2390],
  [490, 1350, 1690],
];
const FORMANT_BANDWIDTH_HZ = [80, 100, 140] as const;

/** Two-pole formant resonator, unity gain at DC (Klatt's cascade normalisation). */
class Resonator {
  private y1 = 0;
  private y2 = 0;
  private a1 = 0;
  private a2 = 0;
  private b0 = 0;
  tune(freqHz: number, bandwidthHz: number, sampleRate: number): void {
    // Keep formants below Nyquist at 8 kHz.
    const f = Math.min(freqHz, 0.45 * sampleRate);
    const r = Math.exp((-Math.PI * bandwidthHz) / sampleRate);
    this.a1 = 2 * r * Math.cos((2 * Math.PI * f) / sampleRate);
    this.a2 = -r * r;
    this.b0 = 1 - this.a1 - this.a2;
  }
  step(x: number): number {
    const y = this.b0 * x + this.a1 * this.y1 + this.a2 * this.y2;
    this.y2 = this.y1;
    this.y1 = y;
    return y;
  }
}

/** Rosenberg glottal flow over one period: opens over 40 %, closes over 16 %, then stays shut. */
function glottalFlow(phase: number): number {
  if (phase < 0.4) return 0.5 - 0.5 * Math.cos((Math.PI * phase) / 0.4);
  if (phase < 0.56) return Math.cos((Math.PI * (phase - 0.4)) / 0.32);
  return 0;
}

const between = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng();

export interface SpeechOptions {
  readonly sampleRate: number;
  readonly seconds: number;
  readonly seed: number;
  /** Word pauses of 50-300 ms (true, like running speech) or only 10-30 ms syllable gaps (false). */
  readonly pauses?: boolean;
}

/** Speech-like signal; scale it with setRms. */
export function speechLike(opts: SpeechOptions): Float32Array {
  const { sampleRate: fs, seconds, seed, pauses = true } = opts;
  const rng = mulberry32(seed);
  const n = Math.round(fs * seconds);
  const out = new Float32Array(n);
  const formants = [new Resonator(), new Resonator(), new Resonator()];
  const speakerF0 = between(rng, 100, 180);
  let flow = 0;
  let phase = 0;
  let t = 0;
  let syllablesLeftInWord = 0;
  while (t < n) {
    if (syllablesLeftInWord === 0) syllablesLeftInWord = 1 + Math.floor(rng() * 4);
    const len = Math.round(between(rng, 0.12, 0.28) * fs);
    const vowel = VOWELS[Math.floor(rng() * VOWELS.length)]!;
    for (let f = 0; f < 3; f++) formants[f]!.tune(vowel[f]!, FORMANT_BANDWIDTH_HZ[f]!, fs);
    const f0Start = speakerF0 * between(rng, 0.85, 1.15);
    const f0End = f0Start * between(rng, 0.85, 1.1);
    const amp = 10 ** ((6 * gaussian(rng)) / 20);
    const frication = rng() < 0.3 ? Math.round(between(rng, 0.03, 0.07) * fs) : 0;
    const attack = Math.round(0.02 * fs);
    const release = Math.round(0.04 * fs);
    let prevNoise = 0;
    for (let i = 0; i < len && t + i < n; i++) {
      const f0 = f0Start + ((f0End - f0Start) * i) / len;
      phase += f0 / fs;
      if (phase >= 1) phase -= 1;
      // Lip radiation differentiates the glottal flow; a little aspiration noise rides on it.
      const g = glottalFlow(phase);
      let y = g - flow + 0.002 * gaussian(rng);
      flow = g;
      for (const r of formants) y = r.step(y);
      if (i < frication) {
        const noise = gaussian(rng);
        y += 0.01 * (noise - prevNoise); // differenced noise: a hiss above 2 kHz
        prevNoise = noise;
      }
      const env =
        i < attack
          ? 0.5 - 0.5 * Math.cos((Math.PI * i) / attack)
          : i > len - release
            ? 0.5 - 0.5 * Math.cos((Math.PI * (len - i)) / release)
            : 1;
      out[t + i] = amp * env * y;
    }
    t += len;
    syllablesLeftInWord--;
    const gap = pauses && syllablesLeftInWord === 0 ? between(rng, 0.05, 0.3) : between(rng, 0.01, 0.03);
    t += Math.round(gap * fs);
  }
  return out;
}

export interface Bursts {
  readonly signal: Float32Array;
  /** Samples inside the "on" spans. */
  readonly activeSamples: number;
  /** Mean square over the "on" spans only. */
  readonly activeMeanSquare: number;
}

/** Continuous speech-like phrases in the "on" spans, digital silence in the "off" spans. */
export function speechBursts(
  sampleRate: number,
  pattern: readonly (readonly [number, number])[],
  seed: number,
): Bursts {
  const total = pattern.reduce(
    (s, [on, off]) => s + Math.round(on * sampleRate) + Math.round(off * sampleRate),
    0,
  );
  const signal = new Float32Array(total);
  let at = 0;
  let active = 0;
  let energy = 0;
  pattern.forEach(([on, off], i) => {
    const phrase = speechLike({ sampleRate, seconds: on, seed: seed + i, pauses: false });
    signal.set(phrase, at);
    for (const v of phrase) energy += v * v;
    active += phrase.length;
    at += phrase.length + Math.round(off * sampleRate);
  });
  return { signal, activeSamples: active, activeMeanSquare: energy / active };
}
