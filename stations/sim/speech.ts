// Clean speech for the simulator. Real recorded speech when the Asterisk core prompts are installed
// (Debian asterisk-core-sounds-en-wav: ~570 prompts by one voice, 16-bit mono 8 kHz), else a
// deterministic speech-like synthetic signal (synthSpeech.ts). Either way the clip is a function of
// the seed alone: the prompts are listed in sorted order and picked by a seeded generator.
//
// Three voices share the prompt set without overlap between caller and TTS: the caller speaks the
// even-indexed prompts, the TTS the odd-indexed ones, and babble mixes all of them. The TTS voice is
// the real synthesizer, espeak-ng, speaking the odd-indexed prompts' transcripts, each synthesis timed
// (station 9's TTS latency); without espeak-ng it falls back to the recordings played 6% fast.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resample } from '../../audio/dsp/resampler.ts';
import { activeSpeechLevel } from '../../audio/metrics/index.ts';
import { decodeWav } from '../../domain/wav.ts';
import { PROMPT_DIR } from '../../engines/debian.ts';
import { promptTranscripts } from '../../engines/stt/transcripts.ts';
import { espeakAvailable, synthesizeSync } from '../../engines/tts/espeak.ts';
import { randomInt, rngFor, uniform } from './random.ts';
import { synthSpeech } from './synthSpeech.ts';

export { decodeWav };

export const DEFAULT_PROMPT_DIR = PROMPT_DIR;
/** Rate of the prompts and of the synthetic voice; other rates are resampled from it. */
export const NATIVE_RATE = 8000;
/** Level every prompt is normalized to before concatenation (ITU-T P.56 nominal), dBov. */
export const NOMINAL_LEVEL_DBOV = -26;

export type SpeechVoice = 'caller' | 'tts' | 'babble';
export type SpeechSourceKind = 'asterisk-prompts' | 'espeak-ng' | 'synthetic';

export interface SpeechOptions {
  durationMs: number;
  /** Output rate (default 8000); the 8 kHz speech is resampled with a windowed-sinc low-pass. */
  sampleRate?: number;
  voice?: SpeechVoice;
  promptDir?: string;
  /** Told once per prompt directory which source is used (default: one line on stderr). */
  log?: (line: string) => void;
}

export interface SpeechClip {
  samples: Float32Array;
  sampleRate: number;
  source: SpeechSourceKind;
  /** Prompt files used, in order (empty for synthetic speech). */
  prompts: readonly string[];
  /** Where each prompt plays, in samples at NATIVE_RATE from the clip's start (end may pass its length). */
  spans: readonly PromptSpan[];
}

export interface PromptSpan {
  file: string;
  start: number;
  end: number;
  /** TTS voice: espeak-ng's measured time to synthesize this prompt, ms. */
  synthMs?: number;
}

const MIN_PROMPT_S = 0.3;
const PAUSE_MS: readonly [number, number] = [150, 700];
const LEAD_IN_MS: readonly [number, number] = [50, 300];
// Per-prompt level spread around the nominal, dB: a talker is not a constant-level source.
const PROMPT_LEVEL_SPREAD_DB = 2;
// Trim leading/trailing frames more than this far below the prompt's loudest 10 ms frame.
const TRIM_BELOW_PEAK_DB = 45;
const TTS_SPEED = 1.06;

interface PromptIndex {
  dir: string;
  files: readonly string[];
}

const indexes = new Map<string, PromptIndex | null>();
const decoded = new Map<string, Float32Array | null>();
const announced = new Set<string>();

function listWavs(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const p = rel === '' ? entry.name : `${rel}/${entry.name}`;
    // silence/ holds pure-silence files, useless as speech.
    if (entry.isDirectory() && entry.name !== 'silence') out.push(...listWavs(dir, p));
    else if (entry.isFile() && entry.name.endsWith('.wav')) out.push(p);
  }
  return out;
}

function promptIndex(dir: string): PromptIndex | null {
  let idx = indexes.get(dir);
  if (idx !== undefined) return idx;
  try {
    const files = listWavs(dir).sort();
    idx = files.length > 0 ? { dir, files } : null;
  } catch {
    idx = null;
  }
  indexes.set(dir, idx);
  return idx;
}

function trimSilence(x: Float32Array, sampleRate: number): Float32Array {
  const frame = Math.round(sampleRate / 100);
  const frames = Math.floor(x.length / frame);
  const power = new Float64Array(frames);
  let max = 0;
  for (let f = 0; f < frames; f++) {
    let s = 0;
    for (let i = f * frame; i < (f + 1) * frame; i++) s += (x[i] as number) ** 2;
    power[f] = s / frame;
    if (s / frame > max) max = s / frame;
  }
  const floor = max * 10 ** (-TRIM_BELOW_PEAK_DB / 10);
  let a = 0;
  while (a < frames && (power[a] as number) < floor) a++;
  let b = frames;
  while (b > a && (power[b - 1] as number) < floor) b--;
  return x.subarray(a * frame, b * frame);
}

/** A prompt at NATIVE_RATE, silence trimmed, at the nominal active level; null if unusable. */
function loadPrompt(dir: string, file: string): Float32Array | null {
  const key = join(dir, file);
  const hit = decoded.get(key);
  if (hit !== undefined) return hit;
  let out: Float32Array | null = null;
  try {
    const wav = decodeWav(readFileSync(key));
    if (wav !== null) {
      const native =
        wav.sampleRate === NATIVE_RATE ? wav.samples : resample(wav.samples, wav.sampleRate, NATIVE_RATE);
      const trimmed = trimSilence(native, NATIVE_RATE);
      const level = activeSpeechLevel(trimmed, NATIVE_RATE).levelDbov;
      if (trimmed.length >= MIN_PROMPT_S * NATIVE_RATE && level > -70) {
        const g = 10 ** ((NOMINAL_LEVEL_DBOV - level) / 20);
        out = Float32Array.from(trimmed, (v) => v * g);
      }
    }
  } catch {
    out = null;
  }
  decoded.set(key, out);
  return out;
}

const spoken = new Map<string, { samples: Float32Array; synthMs: number } | null>();

/**
 * A prompt's transcript spoken by espeak-ng, at NATIVE_RATE, trimmed and at the nominal level; null
 * without a speakable transcript. Each text is synthesized once per process and its time kept.
 */
function loadSpoken(file: string): { samples: Float32Array; synthMs: number } | null {
  const hit = spoken.get(file);
  if (hit !== undefined) return hit;
  let out: { samples: Float32Array; synthMs: number } | null = null;
  const text = promptTranscripts().get(file.replace(/\.wav$/, ''));
  if (text !== undefined && !/[[\]]/.test(text)) {
    const tts = synthesizeSync(text);
    const native = trimSilence(resample(tts.samples, tts.sampleRate, NATIVE_RATE), NATIVE_RATE);
    const level = activeSpeechLevel(native, NATIVE_RATE).levelDbov;
    if (native.length >= MIN_PROMPT_S * NATIVE_RATE && level > -70) {
      const g = 10 ** ((NOMINAL_LEVEL_DBOV - level) / 20);
      out = { samples: Float32Array.from(native, (v) => v * g), synthMs: tts.synthMs };
    }
  }
  spoken.set(file, out);
  return out;
}

function voiceFiles(idx: PromptIndex, voice: SpeechVoice): readonly string[] {
  if (voice === 'babble') return idx.files;
  const parity = voice === 'caller' ? 0 : 1;
  return idx.files.filter((_, i) => i % 2 === parity);
}

function promptSpeech(idx: PromptIndex, seed: number, voice: SpeechVoice, n: number): SpeechClip {
  const rng = rngFor('speech', voice, seed);
  const files = voiceFiles(idx, voice);
  const out = new Float32Array(n);
  const used: string[] = [];
  const spans: PromptSpan[] = [];
  const synthesized = voice === 'tts' && espeakAvailable() && promptTranscripts().size > 0;
  const speed = voice === 'tts' && !synthesized ? TTS_SPEED : 1;
  let at = Math.round((uniform(rng, LEAD_IN_MS[0], LEAD_IN_MS[1]) / 1000) * NATIVE_RATE);
  let misses = 0;
  while (at < n) {
    const file = files[randomInt(rng, files.length)] as string;
    const gainDb = uniform(rng, -PROMPT_LEVEL_SPREAD_DB, PROMPT_LEVEL_SPREAD_DB);
    const pauseMs = uniform(rng, PAUSE_MS[0], PAUSE_MS[1]);
    const tts = synthesized ? loadSpoken(file) : null;
    let prompt = synthesized ? (tts?.samples ?? null) : loadPrompt(idx.dir, file);
    if (prompt === null) {
      // An unusable file (too short, silent) is skipped; give up only if nothing is usable.
      if (++misses > 1000) throw new Error(`no usable speech prompts in ${idx.dir}`);
      continue;
    }
    if (speed !== 1) prompt = resample(prompt, NATIVE_RATE, NATIVE_RATE, speed);
    used.push(file);
    spans.push({ file, start: at, end: at + prompt.length, ...(tts ? { synthMs: tts.synthMs } : {}) });
    const g = 10 ** (gainDb / 20);
    const m = Math.min(prompt.length, n - at);
    for (let i = 0; i < m; i++) out[at + i] = (prompt[i] as number) * g;
    at += prompt.length + Math.round((pauseMs / 1000) * NATIVE_RATE);
  }
  return {
    samples: out,
    sampleRate: NATIVE_RATE,
    source: synthesized ? 'espeak-ng' : 'asterisk-prompts',
    prompts: used,
    spans,
  };
}

/** Where the simulator's speech comes from on this machine (a report records it beside its figures). */
export interface SpeechSourceInfo {
  /** 'prompts': the Asterisk recordings; 'synthetic': the fallback when none are installed. */
  readonly source: 'prompts' | 'synthetic';
  readonly dir: string;
  readonly prompts: number;
  /** The TTS leg's voice: espeak-ng speaking the prompts' transcripts, or the recordings themselves. */
  readonly tts_voice: 'espeak-ng' | 'recordings';
}

export function speechSourceInfo(dir: string = DEFAULT_PROMPT_DIR): SpeechSourceInfo {
  const idx = promptIndex(dir);
  const espeak = espeakAvailable() && promptTranscripts().size > 0;
  return {
    source: idx === null ? 'synthetic' : 'prompts',
    dir,
    prompts: idx?.files.length ?? 0,
    tts_voice: idx !== null && espeak ? 'espeak-ng' : 'recordings',
  };
}

/**
 * `durationMs` of clean speech for `seed`, at a nominal -26 dBov active level (±2 dB per prompt),
 * with natural pauses between prompts. Deterministic: the same (seed, voice, duration, rate) gives the
 * same samples on every machine with the same prompt files.
 */
export function speechSource(seed: number, opts: SpeechOptions): SpeechClip {
  const voice = opts.voice ?? 'caller';
  const rate = opts.sampleRate ?? NATIVE_RATE;
  const dir = opts.promptDir ?? DEFAULT_PROMPT_DIR;
  const n = Math.round((opts.durationMs / 1000) * NATIVE_RATE);
  const idx = promptIndex(dir);
  if (!announced.has(dir)) {
    announced.add(dir);
    const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const info = speechSourceInfo(dir);
    log(
      info.source === 'synthetic'
        ? `speech source: synthetic (no prompts in ${dir}; install asterisk-core-sounds-en-wav for real speech)`
        : `speech source: ${info.prompts} Asterisk prompts in ${dir}; TTS voice: ${
            info.tts_voice === 'espeak-ng'
              ? 'espeak-ng speaking their transcripts'
              : 'the recordings (espeak-ng or the transcripts are not installed)'
          }`,
    );
  }
  const clip: SpeechClip =
    idx === null
      ? {
          samples: synthSpeech(seed, voice, n, NATIVE_RATE),
          sampleRate: NATIVE_RATE,
          source: 'synthetic',
          prompts: [],
          spans: [],
        }
      : promptSpeech(idx, seed, voice, n);
  if (rate === NATIVE_RATE) return clip;
  const samples = resample(clip.samples, NATIVE_RATE, rate);
  const want = Math.round((opts.durationMs / 1000) * rate);
  return { ...clip, samples: samples.length === want ? samples : fit(samples, want), sampleRate: rate };
}

function fit(x: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n);
  out.set(x.subarray(0, n));
  return out;
}
