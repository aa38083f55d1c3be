// Cost of measureAudio and of each metric per second of audio (not a test: no timing asserts).
// Run: npx tsx test/unit/metrics/bench-measure.ts
import { measureAudio } from '../../../audio/metrics/audio.ts';
import { noiseFloorDbfs, sampleLevels } from '../../../audio/metrics/levels.ts';
import { integratedLoudness } from '../../../audio/metrics/loudness.ts';
import { activeSpeechLevel } from '../../../audio/metrics/p56.ts';
import { mulberry32, whiteNoise } from '../../../audio/metrics/random.ts';
import { humRatio, spectralShape } from '../../../audio/metrics/spectrum.ts';
import { speechActivity } from '../../../audio/metrics/vad.ts';
import { wadaSnr } from '../../../audio/metrics/wada.ts';
import { mixAtSnr, setRms, speechLike } from './fixtures.ts';

/** Median over 7 batches after a warm-up, so a busy machine or a GC pause skews it less. */
function time(label: string, fn: () => unknown, seconds: number, iters = 100) {
  for (let i = 0; i < 200; i++) fn();
  const batches: number[] = [];
  for (let b = 0; b < 7; b++) {
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) fn();
    batches.push((performance.now() - t0) / iters);
  }
  const ms = batches.sort((a, b) => a - b)[3]!;
  console.log(label.padEnd(28), ms.toFixed(3), 'ms/call', (ms / seconds).toFixed(3), 'ms per s of audio');
}
for (const [fs, secs] of [
  [16000, 1],
  [8000, 1],
  [16000, 10],
] as const) {
  const x = mixAtSnr(
    setRms(speechLike({ sampleRate: fs, seconds: secs, seed: 1 }), 0.05),
    whiteNoise(mulberry32(2), fs * secs, 1),
    20,
  );
  const iters = secs > 1 ? 10 : 100;
  console.log(`== ${fs} Hz, ${secs} s`);
  time('measureAudio', () => measureAudio(x, fs), secs, iters);
  time('  levels', () => sampleLevels(x), secs, iters);
  time('  noise floor', () => noiseFloorDbfs(x, fs, 0), secs, iters);
  time('  loudness', () => integratedLoudness(x, fs), secs, iters);
  time('  p56', () => activeSpeechLevel(x, fs), secs, iters);
  time('  wada', () => wadaSnr(x, 0), secs, iters);
  time('  vad', () => speechActivity(x, fs), secs, iters);
  time('  shape', () => spectralShape(x, fs, 0), secs, iters);
  time('  hum', () => humRatio(x, fs, 0), secs, iters);
}
