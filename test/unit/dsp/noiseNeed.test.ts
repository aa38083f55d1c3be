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

test('noise need: a noisy stream that opens on zeros reads noisy at once; the frame it starts in is not taken for a clean floor', () => {
  // 70 ms of exact zeros (the delay lines before the tap), then noise 40 dB under the speech, fading in
  // over 5 ms (a filter's onset) from the last samples of a frame: that frame is mostly zeros and its
  // few samples tiny, a floor far under the noise (the simulator's babble opened so, read 85 dB).
  const { signal: clean } = speechLike(SR, 2, -26, 3);
  const noisy = add(clean, whiteNoise(SR, 2, dbToLin(-66), 5));
  for (let i = 0; i < 80; i++) noisy[i] = (noisy[i] as number) * (i / 80) ** 3;
  const x = new Float32Array(noisy.length + 1110);
  x.set(noisy, 1110);
  const n = new NoiseNeed(SR, HOP);
  let first = Number.NaN;
  for (let i = 0; i + HOP <= x.length; i += HOP) {
    const v = n.push(x.subarray(i, i + HOP));
    if (Number.isNaN(first) && i >= 2000) first = v;
  }
  assert.ok(first < 65, `100 ms in: ${first} dB`);
  assert.ok(n.value() < 65, `at the end: ${n.value()} dB`);
});

test('noise need: a longer window remembers a pause further back (a talker 4 s without one stays clean)', () => {
  // 2 s of clean speech with pauses, then 4 s whose every quiet moment holds something 44 dB under the
  // speech (a talker who does not pause, the quietest syllables under the peaks): the 3 s window has
  // forgotten the pauses and reads that as a floor, the 6 s one still sees them.
  const { signal: clean } = speechLike(SR, 2, -26, 3);
  const murmur = add(speechLike(SR, 4, -26, 7).signal, whiteNoise(SR, 4, dbToLin(-70), 9));
  const x = new Float32Array(clean.length + murmur.length);
  x.set(clean);
  x.set(murmur, clean.length);
  const run = (windowS?: number) => {
    const n = windowS === undefined ? new NoiseNeed(SR, HOP) : new NoiseNeed(SR, HOP, windowS);
    for (let i = 0; i + HOP <= x.length; i += HOP) n.push(x.subarray(i, i + HOP));
    return n.value();
  };
  const short = run();
  const long = run(6);
  assert.ok(long > 80, `6 s window: ${long} dB`);
  assert.ok(short < long - 10, `3 s window: ${short} dB against ${long}`);
});
