// Speech-like synthetic signal, the fallback when no recorded prompts are installed: a source-filter
// model (Fant 1960) at 8 kHz. A glottal pulse train (impulses at F0 with 1% jitter, through a 2-pole
// low-pass for the glottal -12 dB/octave tilt) excites three formant resonators in cascade; a first
// difference adds the +6 dB/octave of lip radiation. Syllables (120-280 ms) get a vowel's formants
// (Peterson & Barney 1952 averages), a raised-cosine envelope and sometimes a fricative onset of
// resonator-filtered noise; words group syllables and phrases group words, with a declining F0 and
// pauses, so the envelope moves at the 3-5 Hz syllable rate and ~30% of the signal is pause, as in
// conversational speech. Not intelligible; statistically close enough for level, VAD, noise and
// AGC work.
import { activeSpeechLevel } from '../../audio/metrics/index.ts';
import { gaussian, type Rng, randomInt, rngFor, uniform } from './random.ts';
import type { SpeechVoice } from './speech.ts';

const VOWELS: ReadonlyArray<readonly [number, number, number]> = [
  [730, 1090, 2440], // a
  [270, 2290, 3010], // i
  [300, 870, 2240], // u
  [530, 1840, 2480], // e
  [570, 840, 2410], // o
  [660, 1720, 2410], // ae
  [490, 1350, 1690], // er
];
const BANDWIDTHS = [80, 110, 150] as const;
const NOMINAL_LEVEL_DBOV = -26;
// Fricatives sit well below vowels in speech; 15 dB is typical of /s/ against an open vowel.
const FRICATIVE_DB = -15;

/** Mean square over the nonzero samples. */
function activePower(x: Float32Array): number {
  let s = 0;
  let count = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    if (v !== 0) {
      s += v * v;
      count++;
    }
  }
  return count === 0 ? 0 : s / count;
}

interface Resonator {
  y1: number;
  y2: number;
}

function resonate(r: Resonator, x: number, freq: number, bw: number, fs: number): number {
  const radius = Math.exp((-Math.PI * bw) / fs);
  const a1 = 2 * radius * Math.cos((2 * Math.PI * freq) / fs);
  const a2 = -radius * radius;
  // Unity gain at DC for the all-pole section: (1 - a1 - a2).
  const y = (1 - a1 - a2) * x + a1 * r.y1 + a2 * r.y2;
  r.y2 = r.y1;
  r.y1 = y;
  return y;
}

function f0For(voice: SpeechVoice, rng: Rng): number {
  if (voice === 'caller') return 195;
  if (voice === 'tts') return 120;
  return uniform(rng, 100, 230);
}

/** `n` samples at `fs` of synthetic speech, at a -26 dBov active level. */
export function synthSpeech(seed: number, voice: SpeechVoice, n: number, fs: number): Float32Array {
  const rng = rngFor('synth', voice, seed);
  const out = new Float32Array(n);
  // Voiced and fricative parts are built apart and mixed at a fixed ratio, so the filters' very
  // different gains do not decide the balance.
  const fricTrack = new Float32Array(n);
  const baseF0 = f0For(voice, rng);
  const formants = [
    { y1: 0, y2: 0 },
    { y1: 0, y2: 0 },
    { y1: 0, y2: 0 },
  ];
  const fric: Resonator = { y1: 0, y2: 0 };
  let tilt1 = 0;
  let tilt2 = 0;
  let lastRad = 0;
  let phase = 0;
  let prev = VOWELS[0] as readonly [number, number, number];
  let at = Math.round(uniform(rng, 0.05, 0.3) * fs);
  while (at < n) {
    // One phrase: 2-6 words of 1-3 syllables, F0 declining across it.
    const words = 2 + randomInt(rng, 5);
    const syllables: number[] = [];
    for (let w = 0; w < words; w++) syllables.push(1 + randomInt(rng, 3));
    const total = syllables.reduce((a, b) => a + b, 0);
    let k = 0;
    for (const count of syllables) {
      for (let s = 0; s < count && at < n; s++, k++) {
        const len = Math.round(uniform(rng, 0.12, 0.28) * fs);
        const vowel = VOWELS[randomInt(rng, VOWELS.length)] as readonly [number, number, number];
        const fricLen = rng() < 0.4 ? Math.round(uniform(rng, 0.03, 0.08) * fs) : 0;
        const fricHz = uniform(rng, 2500, 3500);
        const accent = uniform(rng, 0.95, 1.12);
        const f0 = baseF0 * (1.12 - (0.25 * k) / Math.max(1, total - 1)) * accent;
        const amp = uniform(rng, 0.6, 1);
        const glide = Math.round(0.04 * fs);
        for (let i = 0; i < len + fricLen && at + i < n; i++) {
          if (i < fricLen) {
            const env = Math.sin((Math.PI * i) / fricLen);
            fricTrack[at + i] = env * resonate(fric, gaussian(rng), fricHz, 600, fs);
          } else {
            const j = i - fricLen;
            phase += (f0 * (1 + 0.01 * gaussian(rng))) / fs;
            let pulse = 0;
            if (phase >= 1) {
              phase -= 1;
              pulse = 1;
            }
            // Glottal tilt: two one-pole low-passes at ~150 Hz.
            tilt1 += 0.11 * (pulse - tilt1);
            tilt2 += 0.11 * (tilt1 - tilt2);
            const t = Math.min(1, j / glide);
            let v = tilt2;
            for (let f = 0; f < 3; f++) {
              const freq = (prev[f] as number) + t * ((vowel[f] as number) - (prev[f] as number));
              v = resonate(
                formants[f] as Resonator,
                v,
                Math.min(freq, 0.45 * fs),
                BANDWIDTHS[f] as number,
                fs,
              );
            }
            const rad = v - lastRad;
            lastRad = v;
            const attack = Math.min(1, j / (0.02 * fs));
            const release = Math.min(1, (len - j) / (0.05 * fs));
            out[at + i] = amp * rad * Math.min(attack, release);
          }
        }
        at += len + fricLen;
        prev = vowel;
      }
      at += Math.round(uniform(rng, 0, 0.06) * fs);
    }
    at += Math.round(uniform(rng, 0.2, 0.6) * fs);
  }
  const voicedPower = activePower(out);
  const fricPower = activePower(fricTrack);
  const fricGain = fricPower > 0 ? Math.sqrt((voicedPower / fricPower) * 10 ** (FRICATIVE_DB / 10)) : 0;
  for (let i = 0; i < n; i++) out[i] = (out[i] as number) + fricGain * (fricTrack[i] as number);
  const level = activeSpeechLevel(out, fs).levelDbov;
  const g = level > -100 ? 10 ** ((NOMINAL_LEVEL_DBOV - level) / 20) : 0;
  for (let i = 0; i < n; i++) out[i] = (out[i] as number) * g;
  return out;
}
