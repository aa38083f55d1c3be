// Audio the CPU benchmarks run on: each station's impaired input from the simulator (real recorded
// speech where Debian's prompts are installed, speech-like synthesis otherwise), at 16 kHz mono.
import { loadCatalog } from '../../catalog/index.ts';
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
  for (const st of loadCatalog().stations) {
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

// The one PCM codec of the stored audio, so the benches encode exactly what the agents upload.
export { fromPcm16, toPcm16 } from '../../domain/pcm.ts';
