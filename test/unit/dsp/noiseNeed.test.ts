import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NoiseNeed } from '../../../audio/dsp/noiseNeed.ts';
import { RnnoiseSuppressor } from '../../../audio/dsp/rnnoise.ts';
import { add, dbToLin, delay, speechLike, tone, whiteNoise } from './signals.ts';

const SR = 16000;
const HOP = 160;

/** The need after feeding all of `x` in 10 ms frames. */
function needOf(x: Float32Array): number {
  const n = new NoiseNeed(SR, HOP);
  for (let i = 0; i + HOP <= x.length; i += HOP) n.push(x.subarray(i, i + HOP));
  return n.value();
}

test('noise need: clean speech with silent pauses reads far over 80 dB; in white noise it reads about its SNR plus the crest', () => {
  const { signal: clean } = speechLike(SR, 6, -26, 3);
  const clear = needOf(clean);
  assert.ok(clear > 80, `clean speech: ${clear} dB`);
  for (const noiseDb of [-56, -71]) {
    const noisy = needOf(add(clean, whiteNoise(SR, 6, dbToLin(noiseDb), 5)));
    assert.ok(noisy < 65, `noise at ${noiseDb} dBFS: ${noisy} dB`);
    assert.ok(noisy > -26 - noiseDb, `noise at ${noiseDb} dBFS: ${noisy} dB, under the SNR`);
  }
});

test('noise need: mains hum under the speech is not noise to it (it is read above 400 Hz, which takes a 50 Hz line down 72 dB and its 100 Hz harmonic 48 dB)', () => {
  const { signal: clean } = speechLike(SR, 6, -26, 3);
  const hum = add(tone(SR, 6, 50, dbToLin(-40)), tone(SR, 6, 100, dbToLin(-60)));
  const need = needOf(add(clean, hum));
  assert.ok(need > 80, `speech over hum at -40 dBFS: ${need} dB`);
});

test('RNNoise block: on clean speech it fades to the dry input; in noise it still takes the noise down', () => {
  const { signal: clean } = speechLike(SR, 6, -26, 3);
  const run = (x: Float32Array) => {
    const block = new RnnoiseSuppressor(SR, { enabled: true, attenuationLimitDb: 40 });
    const y = x.slice();
    for (let i = 0; i < y.length; i += 160) block.process(y.subarray(i, i + 160));
    return { y, dry: delay(x, block.latency) };
  };
  const a = run(clean);
  let worst = 0;
  for (let i = 4 * SR; i < clean.length; i++)
    worst = Math.max(worst, Math.abs((a.y[i] as number) - (a.dry[i] as number)));
  assert.ok(worst < 1e-6, `clean speech after 4 s differs from the dry input by ${worst}`);
  const noise = whiteNoise(SR, 6, dbToLin(-50), 8);
  const b = run(add(clean, noise));
  let changed = 0;
  for (let i = 4 * SR; i < clean.length; i++)
    changed = Math.max(changed, Math.abs((b.y[i] as number) - (b.dry[i] as number)));
  assert.ok(changed > 1e-3, `noisy speech: the network's output is not heard (max difference ${changed})`);
});
