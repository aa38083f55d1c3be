import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EchoCanceller } from '../../../audio/dsp/echoCanceller.ts';
import { gaussianSource, mulberry32 } from '../../../audio/metrics/random.ts';
import { pinkNoise } from '../../../stations/sim/noise.ts';
import { add, dbfs, dbToLin, delay, rms, speechLike, whiteNoise } from './signals.ts';

/**
 * A line-echo path: `bulkMs` of pure delay, then a random response decaying with `decayMs` (over five of
 * them), -12 dB overall (ERL 12 dB).
 */
function echoPath(sampleRate: number, bulkMs: number, seed: number, decayMs = 5): Float64Array {
  const g = gaussianSource(mulberry32(seed));
  const bulk = Math.round((bulkMs / 1000) * sampleRate);
  const ir = new Float64Array(bulk + Math.round(((5 * decayMs) / 1000) * sampleRate));
  let energy = 0;
  for (let i = bulk; i < ir.length; i++) {
    ir[i] = g() * Math.exp(-(i - bulk) / (((decayMs * 1.2) / 1000) * sampleRate));
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

test('echo canceller: a short echo late in a long tail (100 ms into 256 ms) removes >= 10 dB over seconds 2-4 of speech', (t) => {
  // Proportionate step: the partitions that hold the echo take most of the adaptation, so a 256 ms tail
  // whose echo sits in 2-3 of its 32 partitions converges about as fast as a short tail would.
  const sr = 16000;
  const seconds = 4;
  const far = speechLike(sr, seconds, -20, 31).signal;
  const mic = add(convolve(far, echoPath(sr, 100, 7)), whiteNoise(sr, seconds, dbToLin(-70), 9));
  const { y, ec } = cancel(sr, 256, mic, far);
  const before = dbfs(mic, 2 * sr, seconds * sr);
  const after = dbfs(y, 2 * sr + ec.latency, seconds * sr);
  t.diagnostic(
    `seconds 2-4: echo ${before.toFixed(1)} dBFS -> ${after.toFixed(1)} dBFS (ERLE ${(before - after).toFixed(1)} dB, ${ec.partitions} partitions)`,
  );
  // 3.7 dB with the step spread evenly over the partitions (before 2026-12-03), 13.1 dB with it.
  assert.ok(before - after >= 10, `ERLE ${before - after} dB`);
});

test('echo canceller: a tail shorter than the echo path cancels much less (the parameter matters)', (t) => {
  const sr = 16000;
  const far = whiteNoise(sr, 4, dbToLin(-20), 22);
  // An echo path 10 ms behind the far end that rings for 50 ms: a 16 ms tail holds its first part only.
  const mic = add(convolve(far, echoPath(sr, 10, 4, 10)), whiteNoise(sr, 4, dbToLin(-70), 9));
  const short = cancel(sr, 16, mic, far);
  const long = cancel(sr, 64, mic, far);
  const before = dbfs(mic, 2 * sr);
  const erleShort = before - dbfs(short.y, 2 * sr);
  const erleLong = before - dbfs(long.y, 2 * sr);
  t.diagnostic(`ERLE with 16 ms tail ${erleShort.toFixed(1)} dB, with 64 ms tail ${erleLong.toFixed(1)} dB`);
  assert.ok(erleShort < 10, `ERLE ${erleShort} dB with the 16 ms tail`);
  assert.ok(erleLong >= 20);
});

test('echo canceller: an echo 200 ms behind the far end, past a 64 ms tail, is found and cancelled by >= 15 dB', (t) => {
  // The tail's window moves to the echo's bulk delay (echoDelay.ts); before that, a 64 ms tail that
  // starts at zero delay removed nothing of it, and the tail's ceiling (256 ms) is not far past it.
  for (const sr of [16000, 8000]) {
    const seconds = 8;
    const far = speechLike(sr, seconds, -20, 8).signal;
    const mic = add(convolve(far, echoPath(sr, 200, 4)), whiteNoise(sr, seconds, dbToLin(-65), 9));
    const { y, ec } = cancel(sr, 64, mic, far);
    const before = dbfs(mic, 4 * sr, seconds * sr);
    const after = dbfs(y, 4 * sr + ec.latency, seconds * sr);
    t.diagnostic(
      `${sr} Hz: window from ${ec.windowStartMs.toFixed(0)} ms; seconds 4-8: ERLE ${(before - after).toFixed(1)} dB`,
    );
    assert.ok(ec.windowStartMs >= 184 && ec.windowStartMs <= 200, `window from ${ec.windowStartMs} ms`);
    assert.ok(before - after >= 15, `ERLE ${before - after} dB at ${sr} Hz`);
  }
  // No echo in the microphone (the far end is not in it): the window stays at zero delay.
  const sr = 16000;
  const far = speechLike(sr, 6, -20, 8).signal;
  const { ec } = cancel(sr, 64, speechLike(sr, 6, -26, 31).signal, far);
  assert.equal(ec.windowStartMs, 0);
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

test('echo canceller: with both ends talking throughout, the echo is still learned (Kalman path)', (t) => {
  // The demo's station 1 in miniature: a talker 7-10 dB above the echo from the first sample, so the
  // NLMS pair's Geigel detector either stops its adaptation or lets the talker detune it; the Kalman
  // path (echoKalman.ts) counts the talker as observation noise and keeps learning.
  for (const sr of [8000, 16000]) {
    const seconds = 8;
    const far = speechLike(sr, seconds, -20, 8).signal;
    const echo = convolve(far, echoPath(sr, 5, 4));
    const near = speechLike(sr, seconds, -24, 31).signal;
    const mic = add(echo, near, whiteNoise(sr, seconds, dbToLin(-65), 9));
    const removed = (kalmanPath: boolean) => {
      const ec = new EchoCanceller(sr, { tailMs: 64, kalmanPath });
      const y = mic.slice();
      for (let i = 0; i < y.length; i += 160) ec.process(y.subarray(i, i + 160), far.subarray(i, i + 160));
      const L = ec.latency;
      const nearRef = delay(near, L);
      const residual = Float32Array.from(y, (v, i) => v - (nearRef[i] as number));
      return dbfs(delay(echo, L), 4 * sr + L) - dbfs(residual, 4 * sr + L);
    };
    const withKalman = removed(true);
    const nlmsOnly = removed(false);
    t.diagnostic(
      `${sr} Hz, talker ${(dbfs(near) - dbfs(echo)).toFixed(1)} dB above the echo: seconds 4-8 remove ${withKalman.toFixed(1)} dB of it (NLMS pair alone ${nlmsOnly.toFixed(1)} dB)`,
    );
    assert.ok(withKalman >= 9.5, `${withKalman} dB of echo removed at ${sr} Hz`);
    assert.ok(withKalman >= nlmsOnly + 3, `${withKalman} dB with the Kalman path, ${nlmsOnly} dB without`);
  }
});

test('echo canceller rejects a far-end frame of the wrong length', () => {
  const ec = new EchoCanceller(16000, { tailMs: 32 });
  assert.throws(
    () => ec.process(new Float32Array(160), new Float32Array(80)),
    /far-end frame has 80 samples/,
  );
});

/** Per second: level of `y` (delayed by `L`) re `ref`, and how far below `ref` the difference lies, dB. */
function perSecond(ref: Float32Array, y: Float32Array, L: number, sr: number) {
  const rows: { levelDb: number; damageDb: number }[] = [];
  for (let s = 0; (s + 1) * sr <= ref.length; s++) {
    let pr = 0;
    let py = 0;
    let pd = 0;
    for (let i = s * sr; i < (s + 1) * sr - L; i++) {
      const r = ref[i] as number;
      const v = y[i + L] as number;
      pr += r * r;
      py += v * v;
      pd += (v - r) ** 2;
    }
    rows.push({
      levelDb: 10 * Math.log10(py / pr),
      damageDb: pd === 0 ? Infinity : 10 * Math.log10(pr / pd),
    });
  }
  return rows;
}

test('echo canceller with a far end that is not in the near end (no echo) passes the near end through unchanged', (t) => {
  // The gateway's outbound leg: the caller's voice is the reference, the microphone holds only TTS speech.
  // Louder, equal and quieter far ends; at both rates.
  for (const sampleRate of [8000, 16000]) {
    for (const [nearDb, farDb, seed] of [
      [-26, -26, 1],
      [-36, -20, 2],
      [-20, -36, 3],
      [-30, -20, 4],
    ] as const) {
      const seconds = 10;
      const near = add(
        speechLike(sampleRate, seconds, nearDb, 100 + seed).signal,
        whiteNoise(sampleRate, seconds, dbToLin(-65), seed),
      );
      const far = speechLike(sampleRate, seconds, farDb, 200 + seed).signal;
      const { y, ec } = cancel(sampleRate, 64, near, far);
      const rows = perSecond(near, y, ec.latency, sampleRate);
      const worstLevel = Math.max(...rows.map((r) => Math.abs(r.levelDb)));
      const worstDamage = Math.min(...rows.map((r) => r.damageDb));
      t.diagnostic(
        `${sampleRate} Hz, near ${nearDb} / far ${farDb} dBFS: output level within ${worstLevel.toFixed(3)} dB of the input, ` +
          `difference >= ${worstDamage.toFixed(1)} dB below it in every second, ERLE estimate ${ec.erleDb().toFixed(2)} dB`,
      );
      assert.ok(worstLevel <= 0.5, `output level off by ${worstLevel} dB`);
      assert.ok(worstDamage >= 30, `near end damaged: difference only ${worstDamage} dB below`);
      assert.ok(ec.erleDb() >= -0.5 && ec.erleDb() <= 0.5, `ERLE estimate ${ec.erleDb()} dB without echo`);
    }
  }
});

test('echo canceller: after seconds without echo, an echo path that appears is still found and cancelled', (t) => {
  const sr = 16000;
  const seconds = 12;
  const far = speechLike(sr, seconds, -20, 8).signal;
  const echo = convolve(far, echoPath(sr, 5, 4));
  // No echo for the first 5 s (a 4-wire leg), then a line echo (the call moved to a 2-wire line); the
  // near end talks for the first 6 s.
  echo.fill(0, 0, 5 * sr);
  const nearTalk = speechLike(sr, seconds, -26, 41).signal;
  nearTalk.fill(0, 6 * sr);
  const nearEnd = add(nearTalk, whiteNoise(sr, seconds, dbToLin(-65), 9));
  const mic = add(echo, nearEnd);
  const { y, ec } = cancel(sr, 64, mic, far);
  const L = ec.latency;
  const nearRef = delay(nearTalk, L);
  const residual = new Float32Array(y.length);
  for (let i = 0; i < y.length; i++) residual[i] = (y[i] as number) - (nearRef[i] as number);
  const before = perSecond(nearEnd, y, L, sr).slice(0, 5);
  const echoLevel = dbfs(delay(echo, L), 8 * sr);
  const residualLevel = dbfs(residual, 8 * sr);
  t.diagnostic(
    `first 5 s: near-end damage >= ${Math.min(...before.map((r) => r.damageDb)).toFixed(1)} dB below it; ` +
      `from 8 s: echo ${echoLevel.toFixed(1)} dBFS -> residual besides the near end ${residualLevel.toFixed(1)} dBFS`,
  );
  assert.ok(Math.min(...before.map((r) => r.damageDb)) >= 30);
  assert.ok(echoLevel - residualLevel >= 15, 'the late echo path was not cancelled');
});

test('echo canceller: a changed echo path is re-learned, and only the moment of the change makes the output louder than the input', (t) => {
  const sr = 8000;
  const seconds = 12;
  const far = whiteNoise(sr, seconds, dbToLin(-20), 23);
  const a = convolve(far, echoPath(sr, 5, 4));
  const b = convolve(far, echoPath(sr, 20, 5));
  // The echo path changes at 6 s (a call transferred to another line).
  const mic = Float32Array.from(a, (v, i) => (i < 6 * sr ? v : (b[i] as number)));
  const noisy = add(mic, whiteNoise(sr, seconds, dbToLin(-70), 9));
  const { y, ec } = cancel(sr, 64, noisy, far);
  const L = ec.latency;
  const rows: number[] = [];
  for (let s = 0; s < seconds * 10 - 1; s++) {
    const from = s * (sr / 10);
    rows.push(dbfs(noisy, from, from + sr / 10) - dbfs(y, from + L, from + sr / 10 + L));
  }
  const afterChange = dbfs(noisy, 9 * sr, 11 * sr) - dbfs(y, 9 * sr + L, 11 * sr + L);
  t.diagnostic(
    `ERLE per 100 ms around the change: ${rows
      .slice(55, 75)
      .map((r) => r.toFixed(0))
      .join(' ')} dB; seconds 9-11: ${afterChange.toFixed(1)} dB`,
  );
  // The old model is wrong from the first sample after the change, before any statistic can tell: the
  // 100 ms window of the change may be louder than the input, no later one (the old model is dropped).
  const louder = rows.slice(10).filter((r) => r < -0.5);
  assert.ok(louder.length <= 1 && Math.min(...rows.slice(10)) >= -3, `louder windows: ${louder}`);
  assert.ok(afterChange >= 20, 'the new echo path was not learned');
});

test('echo canceller in steady pink line noise: the residual echo sinks below the noise (noise-aware step)', (t) => {
  // A line echo of speech-like far-end audio under pink noise 14 dB below it (about mild station 1's
  // ratio). With a step that ignores the noise, the filter's misadjustment leaves a residual echo at about
  // the noise's level; with each bin's step scaled by its echo-to-error ratio (the noise floor taken while
  // the far end is quiet) it keeps falling. The residual echo is the output minus the (delayed) noise.
  const sr = 16000;
  const seconds = 8;
  const far = speechLike(sr, seconds, -20, 8).signal;
  const echo = convolve(far, echoPath(sr, 5, 4));
  const noise = pinkNoise(seconds * sr, mulberry32(77));
  const gain = dbToLin(dbfs(echo) - 14) / rms(noise);
  for (let i = 0; i < noise.length; i++) noise[i] = (noise[i] as number) * gain;
  const { y, ec } = cancel(sr, 64, add(echo, noise), far);
  const L = ec.latency;
  const noiseRef = delay(noise, L);
  const residual = Float32Array.from(y, (v, i) => v - (noiseRef[i] as number));
  const echoLevel = dbfs(delay(echo, L), 4 * sr + L);
  const residualLevel = dbfs(residual, 4 * sr + L);
  const noiseLevel = dbfs(noiseRef, 4 * sr + L);
  t.diagnostic(
    `seconds 4-8: echo ${echoLevel.toFixed(1)} dBFS, noise ${noiseLevel.toFixed(1)} dBFS -> residual echo ${residualLevel.toFixed(1)} dBFS (${(echoLevel - residualLevel).toFixed(1)} dB removed)`,
  );
  // Before the noise-aware step (2026-12-03): 15.4 dB removed, residual 0.8 dB below the noise; with it
  // 17.4 dB and 2.8 dB below.
  assert.ok(echoLevel - residualLevel >= 16.5, `only ${echoLevel - residualLevel} dB of echo removed`);
  assert.ok(residualLevel <= noiseLevel - 2, `residual echo ${residualLevel} dBFS, noise ${noiseLevel} dBFS`);
});

// The tail resized mid-call (EchoCanceller.setTail): the converged model is kept, so a longer tail only
// learns its new partitions and a shorter one keeps the taps it still has.

/** Runs `mic` through a canceller of `tailMs`, calling `at(ec, second)` at each whole second. */
function run(
  sr: number,
  tailMs: number,
  mic: Float32Array,
  far: Float32Array,
  at?: (ec: EchoCanceller, s: number) => void,
) {
  const ec = new EchoCanceller(sr, { tailMs });
  const y = mic.slice();
  for (let i = 0; i < y.length; i += 160) {
    if (i % sr === 0 && i > 0) at?.(ec, i / sr);
    ec.process(y.subarray(i, i + 160), far.subarray(i, i + 160));
  }
  return { y, ec };
}

const erle = (mic: Float32Array, y: Float32Array, ec: EchoCanceller, from: number, to: number, sr: number) =>
  dbfs(mic, from * sr, to * sr) - dbfs(y, from * sr + ec.latency, to * sr);

test('echo canceller: an echo past the tail is cancelled after lengthening the tail mid-call, as fast as by a new canceller', (t) => {
  const sr = 8000;
  const seconds = 6;
  const far = speechLike(sr, seconds, -20, 8).signal;
  // The demo's station 1: an 80 ms hybrid echo behind a 64 ms tail.
  const mic = add(convolve(far, echoPath(sr, 80, 4)), whiteNoise(sr, seconds, dbToLin(-65), 9));
  const { y, ec } = run(sr, 64, mic, far, (c, s) => s === 2 && c.setTail(128));
  const before = erle(mic, y, ec, 1, 2, sr);
  const after = erle(mic, y, ec, 3, 6, sr);
  // What the next call would have: a 128 ms canceller from second 2, on the same audio.
  const fresh = run(sr, 128, mic.subarray(2 * sr), far.subarray(2 * sr));
  const rebuilt = erle(mic.subarray(2 * sr), fresh.y, fresh.ec, 1, 4, sr);
  t.diagnostic(
    `ERLE ${before.toFixed(1)} dB with the 64 ms tail; 1-4 s after the resize to 128 ms ${after.toFixed(1)} dB (a new 128 ms canceller: ${rebuilt.toFixed(1)} dB), ${ec.partitions} partitions`,
  );
  assert.equal(ec.tailMs, 128);
  assert.ok(Math.abs(before) < 3, `the 64 ms tail cannot reach the echo: ERLE ${before} dB`);
  assert.ok(after >= 8 && after >= rebuilt - 3, `ERLE ${after} dB after the resize`);
});

for (const to of [128, 32]) {
  test(`echo canceller: resizing the tail to ${to} ms keeps a converged 5 ms echo model (no re-learning)`, (t) => {
    const sr = 16000;
    const seconds = 4;
    const far = speechLike(sr, seconds, -20, 31).signal;
    const mic = add(convolve(far, echoPath(sr, 5, 7)), whiteNoise(sr, seconds, dbToLin(-70), 9));
    const { y, ec } = run(sr, 64, mic, far, (c, s) => s === 2 && c.setTail(to));
    const { y: y64, ec: ec64 } = run(sr, 64, mic, far);
    // A fresh canceller started at second 2 is what a rebuild would be: it has to converge again.
    const fresh = run(sr, to, mic.subarray(2 * sr), far.subarray(2 * sr));
    const kept = erle(mic, y, ec, 2, 2.5, sr);
    const unchanged = erle(mic, y64, ec64, 2, 2.5, sr);
    const rebuilt = erle(mic.subarray(2 * sr), fresh.y, fresh.ec, 0, 0.5, sr);
    t.diagnostic(
      `ERLE over the half second after the resize: ${kept.toFixed(1)} dB (64 ms kept: ${unchanged.toFixed(1)} dB; a rebuilt ${to} ms canceller: ${rebuilt.toFixed(1)} dB)`,
    );
    assert.ok(kept >= unchanged - 3, `resized ${kept} dB against ${unchanged} dB unchanged`);
    assert.ok(kept >= rebuilt + 6, `resized ${kept} dB against ${rebuilt} dB rebuilt`);
  });
}
