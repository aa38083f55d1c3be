import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EchoCanceller } from '../../../audio/dsp/echoCanceller.ts';
import { gaussian, mulberry32 } from '../../../audio/dsp/random.ts';
import { add, dbfs, dbToLin, delay, speechLike, whiteNoise } from './signals.ts';

/** A line-echo path: `bulkMs` of pure delay, then a decaying random response, -12 dB overall (ERL 12 dB). */
function echoPath(sampleRate: number, bulkMs: number, seed: number): Float64Array {
  const g = gaussian(mulberry32(seed));
  const bulk = Math.round((bulkMs / 1000) * sampleRate);
  const ir = new Float64Array(bulk + Math.round(0.025 * sampleRate));
  let energy = 0;
  for (let i = bulk; i < ir.length; i++) {
    ir[i] = g() * Math.exp(-(i - bulk) / (0.006 * sampleRate));
    energy += (ir[i] as number) ** 2;
  }
  const norm = dbToLin(-12) / Math.sqrt(energy);
  for (let i = 0; i < ir.length; i++) ir[i] = (ir[i] as number) * norm;
  return ir;
}

function convolve(x: Float32Array, h: Float64Array): Float32Array {
  const y = new Float32Array(x.length);
  for (let n = 0; n < x.length; n++) {
    let s = 0;
    for (let k = 0; k < h.length && k <= n; k++) s += (h[k] as number) * (x[n - k] as number);
    y[n] = s;
  }
  return y;
}

function cancel(sampleRate: number, tailMs: number, mic: Float32Array, far?: Float32Array) {
  const ec = new EchoCanceller(sampleRate, { tailMs });
  const y = mic.slice();
  for (let i = 0; i < y.length; i += 160) ec.process(y.subarray(i, i + 160), far?.subarray(i, i + 160));
  return { y, ec };
}

for (const sampleRate of [16000, 8000]) {
  test(`echo canceller removes >= 18 dB of a 5-30 ms line echo of speech-like far-end audio (${sampleRate} Hz)`, (t) => {
    const seconds = 8;
    const far = speechLike(sampleRate, seconds, -20, 8).signal;
    const echo = convolve(far, echoPath(sampleRate, 5, 4));
    const mic = add(echo, whiteNoise(sampleRate, seconds, dbToLin(-65), 9));
    const { y, ec } = cancel(sampleRate, 64, mic, far);
    const L = ec.latency;
    const before = dbfs(mic, 4 * sampleRate, seconds * sampleRate);
    const after = dbfs(y, 4 * sampleRate + L, seconds * sampleRate);
    t.diagnostic(
      `echo ${before.toFixed(1)} dBFS -> residual ${after.toFixed(1)} dBFS (ERLE ${(before - after).toFixed(1)} dB, block estimate ${ec.erleDb().toFixed(1)} dB, ${ec.partitions} partitions)`,
    );
    assert.ok(before - after >= 18, `ERLE ${before - after} dB`);
  });
}

test('echo canceller converges by >= 20 dB within 1 s on a noise-like far end (G.168-style source)', (t) => {
  const sr = 16000;
  const far = whiteNoise(sr, 3, dbToLin(-20), 21);
  const mic = add(convolve(far, echoPath(sr, 5, 4)), whiteNoise(sr, 3, dbToLin(-70), 9));
  const { y, ec } = cancel(sr, 64, mic, far);
  const before = dbfs(mic, sr, 2 * sr);
  const after = dbfs(y, sr + ec.latency, 2 * sr);
  t.diagnostic(
    `second 1-2: echo ${before.toFixed(1)} dBFS -> ${after.toFixed(1)} dBFS (ERLE ${(before - after).toFixed(1)} dB)`,
  );
  assert.ok(before - after >= 20);
});

test('echo canceller: a tail shorter than the echo path cancels much less (the parameter matters)', (t) => {
  const sr = 16000;
  const far = whiteNoise(sr, 4, dbToLin(-20), 22);
  // Echo delayed by 40 ms: a 16 ms tail cannot reach it, a 64 ms tail can.
  const mic = add(convolve(far, echoPath(sr, 40, 4)), whiteNoise(sr, 4, dbToLin(-70), 9));
  const short = cancel(sr, 16, mic, far);
  const long = cancel(sr, 64, mic, far);
  const before = dbfs(mic, 2 * sr);
  const erleShort = before - dbfs(short.y, 2 * sr);
  const erleLong = before - dbfs(long.y, 2 * sr);
  t.diagnostic(`ERLE with 16 ms tail ${erleShort.toFixed(1)} dB, with 64 ms tail ${erleLong.toFixed(1)} dB`);
  assert.ok(Math.abs(erleShort) < 2);
  assert.ok(erleLong >= 20);
});

test('echo canceller without a reference is a pure delay of the near end', () => {
  const sr = 16000;
  const mic = speechLike(sr, 2, -20, 3).signal;
  const { y, ec } = cancel(sr, 64, mic);
  assert.deepEqual(y, delay(mic, ec.latency));
});

test('echo canceller keeps the near-end talker during double talk and does not diverge', (t) => {
  const sr = 16000;
  const seconds = 10;
  const far = speechLike(sr, seconds, -20, 8).signal;
  const echo = convolve(far, echoPath(sr, 5, 4));
  // The caller talks over the far end from 5 s on, at the same level as the echo's source.
  const nearTalk = speechLike(sr, seconds, -20, 31).signal;
  nearTalk.fill(0, 0, 5 * sr);
  const mic = add(echo, nearTalk, whiteNoise(sr, seconds, dbToLin(-65), 9));
  const { y, ec } = cancel(sr, 64, mic, far);
  const L = ec.latency;
  const nearRef = delay(nearTalk, L);
  // What is left besides the near-end talker: residual echo (plus noise).
  const residual = new Float32Array(y.length);
  for (let i = 0; i < y.length; i++) residual[i] = (y[i] as number) - (nearRef[i] as number);
  const echoLevel = dbfs(delay(echo, L), 5 * sr + L);
  const residualLevel = dbfs(residual, 5 * sr + L);
  const nearLevel = dbfs(nearRef, 5 * sr + L);
  t.diagnostic(
    `during double talk: near end ${nearLevel.toFixed(1)} dBFS, echo ${echoLevel.toFixed(1)} dBFS -> residual besides the near end ${residualLevel.toFixed(1)} dBFS`,
  );
  assert.ok(echoLevel - residualLevel >= 15, 'echo not cancelled during double talk');
  assert.ok(nearLevel - residualLevel >= 25, 'near-end speech damaged');
});

test('echo canceller rejects a far-end frame of the wrong length', () => {
  const ec = new EchoCanceller(16000, { tailMs: 32 });
  assert.throws(
    () => ec.process(new Float32Array(160), new Float32Array(80)),
    /far-end frame has 80 samples/,
  );
});
