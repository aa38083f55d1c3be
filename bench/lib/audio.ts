// Audio the CPU benchmarks run on: each station's impaired input from the simulator (real recorded
// speech where Debian's prompts are installed, speech-like synthesis otherwise), at 16 kHz mono.
import { stationCatalog } from '../../catalog/index.ts';
import { bundledImpairmentsPath, loadImpairments, resample, simulateCall } from '../../stations/sim/index.ts';

export const SAMPLE_RATE = 16000;

export interface StationAudio {
  stationId: number;
  samples: Float32Array;
  /** Echo reference for stations with an echo canceller (the other leg), same length. */
  farEnd?: Float32Array;
  speechSource: string;
}

const cache = new Map<string, StationAudio[]>();

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const to16k = (x: Float32Array, rate: number) => (rate === SAMPLE_RATE ? x : resample(x, rate, SAMPLE_RATE));

/** `seconds` of every catalog station's impaired input (default impairment profile, seed 1). */
export function stationAudio(seconds: number): StationAudio[] {
  const key = String(seconds);
  const hit = cache.get(key);
  if (hit) return hit;
  const set = loadImpairments(bundledImpairmentsPath('default'));
  const call = simulateCall({ impairments: set, callIndex: 0, seed: 1, segments: seconds });
  const out: StationAudio[] = [];
  for (const st of stationCatalog) {
    const segs = call.segments.map((s) => s.inputs.get(st.id)).filter((x) => x !== undefined);
    if (segs.length === 0) continue;
    const rate = segs[0]!.sampleRate;
    const samples = to16k(concat(segs.map((s) => s.samples)), rate);
    const far = segs.every((s) => s.farEnd !== undefined)
      ? to16k(concat(segs.map((s) => s.farEnd!)), rate)
      : undefined;
    out.push({
      stationId: st.id,
      samples,
      ...(far && far.length === samples.length ? { farEnd: far } : {}),
      speechSource: call.speechSource,
    });
  }
  cache.set(key, out);
  return out;
}

/** Float [-1, 1] -> PCM s16le bytes (what the agents upload). */
export function toPcm16(x: Float32Array): Buffer {
  const out = Buffer.allocUnsafe(x.length * 2);
  for (let i = 0; i < x.length; i++) {
    const v = Math.max(-1, Math.min(1, x[i]!));
    out.writeInt16LE(Math.round(v * 32767), i * 2);
  }
  return out;
}

/** PCM s16le bytes -> Float [-1, 1). */
export function fromPcm16(b: Uint8Array): Float32Array {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = new Float32Array(b.byteLength >> 1);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2, true) / 32768;
  return out;
}
