// Voice activity detection with the WebRTC VAD itself: libfvad (the WebRTC VAD extracted as a C
// library: sub-band log energies, a two-component Gaussian mixture for speech and for noise per band,
// adaptive noise model, hangover) compiled to a standalone WebAssembly module by the npm package
// @ozymandiasthegreat/vad (MIT, no imports, no install scripts). Its JavaScript wrapper is async, so
// the .wasm is instantiated here synchronously on first use and driven frame by frame.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resample } from '../dsp/resampler.ts';

/** WebRTC VAD aggressiveness: 0 = quality (most frames speech) .. 3 = very aggressive. */
export type VadMode = 0 | 1 | 2 | 3;

/**
 * Mode 2 ("aggressive"): the usual choice for telephony, where stationary line noise must not count
 * as talk. Modes 0 and 1 mark much of a noisy line as speech.
 */
export const DEFAULT_VAD_MODE: VadMode = 2;

/** The WebRTC VAD decides per 10, 20 or 30 ms frame; the avro field is defined on 10 ms frames. */
export const VAD_FRAME_S = 0.01;

/** Rates libfvad accepts; anything else is resampled to 8 kHz, where libfvad does its analysis anyway. */
const NATIVE_RATES = new Set([8000, 16000, 32000, 48000]);
const FALLBACK_RATE = 8000;

interface FvadExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  _initialize(): void;
  malloc(bytes: number): number;
  fvad_new(): number;
  fvad_reset(handle: number): void;
  fvad_set_mode(handle: number, mode: number): number;
  fvad_set_sample_rate(handle: number, rate: number): number;
  fvad_process(handle: number, frame: number, length: number): number;
}

interface WasmGlobal {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object, imports: object) => { readonly exports: unknown };
}

interface Fvad {
  readonly api: FvadExports;
  readonly handle: number;
  /** Byte offset of a frame buffer of MAX_FRAME samples in the module's memory. */
  readonly frame: number;
}

/** 10 ms at 48 kHz. */
const MAX_FRAME = 480;
let fvad: Fvad | null = null;

function loadFvad(): Fvad {
  if (fvad) return fvad;
  const wasmPath = createRequire(import.meta.url).resolve('@ozymandiasthegreat/vad/dist/libfvad.wasm');
  const { WebAssembly } = globalThis as unknown as { WebAssembly: WasmGlobal };
  const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(wasmPath)), {});
  const api = instance.exports as FvadExports;
  api._initialize(); // a WASI reactor: runs the C runtime's constructors
  const handle = api.fvad_new();
  const frame = api.malloc(MAX_FRAME * 2);
  if (handle === 0 || frame === 0) throw new Error('libfvad: out of WebAssembly memory');
  fvad = { api, handle, frame };
  return fvad;
}

/**
 * One decision per whole 10 ms frame (1 = speech); a trailing partial frame is not judged. The VAD
 * starts from its initial noise model on every call, so a segment's result does not depend on the
 * segments measured before it.
 */
export function vadDecisions(
  x: Float32Array,
  sampleRate: number,
  mode: VadMode = DEFAULT_VAD_MODE,
): Uint8Array {
  const native = NATIVE_RATES.has(sampleRate);
  const input = native ? x : resample(x, sampleRate, FALLBACK_RATE);
  const rate = native ? sampleRate : FALLBACK_RATE;
  const frameLen = Math.round(rate * VAD_FRAME_S);
  const frames = Math.floor(input.length / frameLen);
  const out = new Uint8Array(frames);
  if (frames === 0) return out;

  const { api, handle, frame } = loadFvad();
  api.fvad_reset(handle);
  if (api.fvad_set_mode(handle, mode) < 0 || api.fvad_set_sample_rate(handle, rate) < 0) {
    throw new RangeError(`libfvad rejected mode ${mode} at ${rate} Hz`);
  }
  const pcm = new Int16Array(api.memory.buffer, frame, frameLen);
  for (let f = 0; f < frames; f++) {
    const start = f * frameLen;
    for (let i = 0; i < frameLen; i++) {
      // Same scaling as 16-bit PCM; Int16Array stores NaN as 0.
      pcm[i] = Math.max(-32768, Math.min(32767, Math.round(input[start + i]! * 32768)));
    }
    const decision = api.fvad_process(handle, frame, frameLen);
    if (decision < 0) throw new Error(`libfvad failed on frame ${f}`);
    out[f] = decision;
  }
  return out;
}

/** Fraction of 10 ms frames marked speech; 0 for input shorter than one frame. */
export function speechActivity(
  x: Float32Array,
  sampleRate: number,
  mode: VadMode = DEFAULT_VAD_MODE,
): number {
  const d = vadDecisions(x, sampleRate, mode);
  if (d.length === 0) return 0;
  let speech = 0;
  for (let i = 0; i < d.length; i++) speech += d[i]!;
  return speech / d.length;
}
