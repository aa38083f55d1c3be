// Real-time factor of every station's chain (`npx tsx audio/dsp/bench.ts [sampleRate]`): seconds of audio
// processed per second of one core, fed in 20 ms frames as a station agent would. Each figure is the
// best of several runs, so other processes on the machine inflate it as little as possible.
// A script, not part of the engine: it prints and exits.
import { loadCatalog } from '../../catalog/index.ts';
import { gaussianSource, mulberry32 } from '../metrics/random.ts';
import { createChain } from './chain.ts';

function signal(sampleRate: number, seconds: number, seed: number): Float32Array {
  const g = gaussianSource(mulberry32(seed));
  const out = new Float32Array(sampleRate * seconds);
  for (let i = 0; i < out.length; i++) {
    const t = i / sampleRate;
    // A 180 Hz voice-like tone, syllable-rate modulated, over line noise.
    const env = 0.5 + 0.5 * Math.sin(2 * Math.PI * 3 * t);
    out[i] = 0.05 * env * Math.sin(2 * Math.PI * 180 * t) + 0.003 * g();
  }
  return out;
}

const sampleRate = Number(process.argv[2] ?? 16000);
const seconds = 10;
const runs = 10;
const frame = (sampleRate * 20) / 1000;
const near = signal(sampleRate, seconds, 1);
const far = signal(sampleRate, seconds, 2);
const cases = loadCatalog().stations.flatMap((s) =>
  s.dsp_blocks.includes('echo_canceller')
    ? [[s.id, false] as const, [s.id, true] as const]
    : [[s.id, false] as const],
);
for (const [station, withFar] of cases) {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < runs; r++) {
    const chain = createChain(station, {}, { sampleRate });
    const t0 = performance.now();
    for (let i = 0; i + frame <= near.length; i += frame) {
      chain.process(near.subarray(i, i + frame), withFar ? far.subarray(i, i + frame) : undefined);
    }
    best = Math.min(best, performance.now() - t0);
  }
  const chain = createChain(station, {}, { sampleRate });
  console.log(
    `station ${String(station).padStart(2)}${withFar ? ' + far end' : '           '} ` +
      `${(best / seconds).toFixed(2).padStart(5)} ms per s of audio = ${((seconds * 1000) / best).toFixed(0).padStart(4)}x real time` +
      `  [${chain.blocks.join(', ')}], latency ${((1000 * chain.latencySamples) / sampleRate).toFixed(1)} ms`,
  );
}
