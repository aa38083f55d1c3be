import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ECHO_FLOOR_DB, lpc, ResidualEcho, solveToeplitz } from '../../../audio/metrics/residualEcho.ts';
import { add, dbToLin, delay, scale, speechLike } from '../dsp/signals.ts';

const SR = 8000;

/** Readings after feeding `far` and `out` in 1 s segments. */
function readings(far: Float32Array, out: Float32Array, sr = SR) {
  const m = new ResidualEcho(sr);
  const r = [];
  for (let i = 0; i + sr <= out.length; i += sr) {
    m.push(far.subarray(i, i + sr), out.subarray(i, i + sr));
    r.push(m.read());
  }
  return r;
}

/** An echo path: `gainDb` at `delayMs`, with a second tap 6 dB down 5 ms later (dispersion). */
function echoOf(far: Float32Array, delayMs: number, gainDb: number, sr = SR): Float32Array {
  const d = Math.round((delayMs / 1000) * sr);
  const g = dbToLin(gainDb);
  return add(scale(delay(far, d), g), scale(delay(far, d + Math.round(0.005 * sr)), g / 2));
}

test('residual echo: a far end that is not in the output reads as no echo', () => {
  const { signal: far } = speechLike(SR, 6, -20, 1);
  const { signal: near } = speechLike(SR, 6, -26, 2);
  for (const r of readings(far, near).slice(1)) {
    assert.equal(r?.residualDb, ECHO_FLOOR_DB);
    assert.equal(r?.delayMs, null);
  }
});

test('residual echo: an echo 10 dB under the talker reads about -10 dB, at its delay; alone it reads near 0 dB', () => {
  const { signal: far } = speechLike(SR, 6, -20, 1);
  const { signal: near } = speechLike(SR, 6, -26, 2);
  const echo = echoOf(far, 180, -16);
  const share = (e: Float32Array, n: Float32Array) => {
    let a = 0;
    let b = 0;
    for (let i = 0; i < e.length; i++) {
      a += (e[i] as number) ** 2;
      b += (n[i] as number) ** 2;
    }
    return 10 * Math.log10(a / (a + b));
  };
  const expected = share(echo, near);
  const rs = readings(far, add(near, echo)).slice(2);
  for (const r of rs) {
    assert.ok(
      r !== null && Math.abs(r.residualDb - expected) < 3,
      `${r?.residualDb} dB, the echo is ${expected} dB`,
    );
    assert.ok(r.delayMs !== null && Math.abs(r.delayMs - 180) <= 5, `delay ${r.delayMs} ms`);
  }
  // Alone it reads within 3 dB of all of the output (a 45 ms path fitted to 3 s of a synthetic voice).
  for (const r of readings(far, echo).slice(2))
    assert.ok(r !== null && r.residualDb > -3, `echo alone: ${r?.residualDb}`);
});

test('residual echo: no reading without far-end speech or before 1.5 s of output', () => {
  const { signal: near } = speechLike(SR, 3, -26, 2);
  assert.deepEqual(readings(new Float32Array(near.length), near), [null, null, null]);
  const { signal: far } = speechLike(SR, 3, -20, 1);
  const r = readings(far, add(near, echoOf(far, 50, -6)));
  assert.equal(r[0], null);
  assert.notEqual(r[1], null);
  // An echo 6 dB over the talker stands out once 3 s are in (at 2 s this voice has too few syllables).
  assert.ok(r[2] !== null && r[2] !== undefined && r[2].residualDb > -5, `${r[2]?.residualDb}`);
});

test('residual echo: the far end and the output must be pushed the same length', () => {
  const m = new ResidualEcho(SR);
  assert.throws(
    () => m.push(new Float32Array(10), new Float32Array(11)),
    /far end has 10 samples, output 11/,
  );
});

test('lpc: Levinson-Durbin recovers an AR(2) process from its autocorrelation', () => {
  // x[n] = 1.6 x[n-1] - 0.8 x[n-2] + e[n]: r[k] from the Yule-Walker equations, r[0] = 1.
  const r1 = 1.6 / 1.8;
  const r2 = 1.6 * r1 - 0.8;
  const a = lpc(Float64Array.from([1, r1, r2]), 2);
  assert.ok(Math.abs((a[1] as number) + 1.6) < 1e-9 && Math.abs((a[2] as number) - 0.8) < 1e-9, `${[...a]}`);
});

test('solveToeplitz: Levinson recursion solves a symmetric Toeplitz system', () => {
  const r = Float64Array.from([4, 2, 1, 0.5]);
  const b = Float64Array.from([1, 2, 3, 4]);
  const h = solveToeplitz(r, b);
  for (let i = 0; i < 4; i++) {
    let s = 0;
    for (let j = 0; j < 4; j++) s += (r[Math.abs(i - j)] as number) * (h[j] as number);
    assert.ok(Math.abs(s - (b[i] as number)) < 1e-12, `row ${i}: ${s}`);
  }
});
