// Test signals and level measurements for the DSP tests. Levels are computed here on purpose, not with
// audio/metrics, so the DSP tests pin the blocks against a definition nobody else can move.
import { gaussianSource, mulberry32 } from '../../../audio/metrics/random.ts';

export function rms(x: Float32Array, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += (x[i] as number) ** 2;
  return Math.sqrt(s / Math.max(1, to - from));
}

export function dbfs(x: Float32Array, from = 0, to = x.length): number {
  return 20 * Math.log10(rms(x, from, to) + 1e-30);
}

export function peak(x: Float32Array, from = 0, to = x.length): number {
  let p = 0;
  for (let i = from; i < to; i++) p = Math.max(p, Math.abs(x[i] as number));
  return p;
}

/** RMS dBFS over the samples whose mask is set (mask index = sample index). */
export function maskedDbfs(x: Float32Array, mask: Uint8Array, from = 0, to = x.length, want = 1): number {
  let s = 0;
  let n = 0;
  for (let i = from; i < to; i++) {
    if (mask[i] === want) {
      s += (x[i] as number) ** 2;
      n++;
    }
  }
  return 10 * Math.log10(s / Math.max(1, n) + 1e-30);
}

export function tone(
  sampleRate: number,
  seconds: number,
  hz: number,
  amplitude: number,
  phase = 0,
): Float32Array {
  const out = new Float32Array(Math.round(sampleRate * seconds));
  for (let i = 0; i < out.length; i++)
    out[i] = amplitude * Math.sin((2 * Math.PI * hz * i) / sampleRate + phase);
  return out;
}

export function whiteNoise(
  sampleRate: number,
  seconds: number,
  rmsLevel: number,
  seed: number,
): Float32Array {
  const g = gaussianSource(mulberry32(seed));
  const out = new Float32Array(Math.round(sampleRate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = rmsLevel * g();
  return out;
}

export function add(...xs: Float32Array[]): Float32Array {
  const out = new Float32Array((xs[0] as Float32Array).length);
  for (const x of xs) for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + (x[i] as number);
  return out;
}

export function scale(x: Float32Array, gain: number): Float32Array {
  return x.map((v) => v * gain);
}

export function dbToLin(db: number): number {
  return 10 ** (db / 20);
}

export interface SpeechLike {
  signal: Float32Array;
  /** 1 where a syllable is sounding. */
  active: Uint8Array;
}

/**
 * Voiced-speech stand-in: syllables of 120-350 ms with a gliding 90-220 Hz pitch, harmonics to 3.4 kHz
 * shaped by three fixed formant bumps and a raised-cosine envelope, grouped into words separated by
 * 200-700 ms pauses. Scaled so the RMS over the active (sounding) samples is `levelDbfs`.
 */
export function speechLike(sampleRate: number, seconds: number, levelDbfs: number, seed: number): SpeechLike {
  const rnd = mulberry32(seed);
  const n = Math.round(sampleRate * seconds);
  const signal = new Float32Array(n);
  const active = new Uint8Array(n);
  const formants = [500, 1500, 2500];
  let t = Math.round(0.2 * sampleRate);
  while (t < n) {
    const syllables = 2 + Math.floor(rnd() * 4);
    for (let s = 0; s < syllables && t < n; s++) {
      const len = Math.round((0.12 + 0.23 * rnd()) * sampleRate);
      const f0a = 90 + 130 * rnd();
      const f0b = f0a * (0.85 + 0.3 * rnd());
      const amp = 0.5 + 0.5 * rnd();
      let phase = 0;
      for (let i = 0; i < len && t + i < n; i++) {
        const f0 = f0a + ((f0b - f0a) * i) / len;
        phase += (2 * Math.PI * f0) / sampleRate;
        let v = 0;
        for (let h = 1; h * f0 < 3400; h++) {
          const f = h * f0;
          let a = 0.05;
          for (const fc of formants) a += 1 / (1 + ((f - fc) / 150) ** 2);
          v += (a / h ** 0.5) * Math.sin(h * phase);
        }
        const env = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / len);
        signal[t + i] = amp * env * v;
        // The outer 10% of the raised cosine is near-silent; count only the sounding core as active.
        if (env > 0.1) active[t + i] = 1;
      }
      t += len + Math.round(0.02 * sampleRate);
    }
    t += Math.round((0.2 + 0.5 * rnd()) * sampleRate);
  }
  let s = 0;
  let c = 0;
  for (let i = 0; i < n; i++) {
    if (active[i]) {
      s += (signal[i] as number) ** 2;
      c++;
    }
  }
  const g = dbToLin(levelDbfs) / Math.sqrt(s / c);
  for (let i = 0; i < n; i++) signal[i] = (signal[i] as number) * g;
  return { signal, active };
}

/** Delays `x` by `d` samples (zeros in front), keeping its length, to line a reference up with a delayed output. */
export function delay(x: Float32Array, d: number): Float32Array {
  const out = new Float32Array(x.length);
  out.set(x.subarray(0, x.length - d), d);
  return out;
}

export function delayMask(mask: Uint8Array, d: number): Uint8Array {
  const out = new Uint8Array(mask.length);
  out.set(mask.subarray(0, mask.length - d), d);
  return out;
}
