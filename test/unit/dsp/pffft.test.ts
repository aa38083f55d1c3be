import assert from 'node:assert/strict';
import { test } from 'node:test';
import FFT from 'fft.js';
import { WasmRealFft } from '../../../audio/dsp/pffft.ts';
import { mulberry32 } from '../../../audio/metrics/random.ts';

test('wasm real FFT (PFFFT): forward matches fft.js bin by bin to single precision, inverse restores size x the signal', () => {
  const rng = mulberry32(9);
  for (const n of [32, 256, 512, 1024, 2048]) {
    const x = Float64Array.from({ length: n }, () => rng() - 0.5);
    const full = new FFT(n);
    const want = full.createComplexArray() as number[];
    full.realTransform(want, x);
    const fft = new WasmRealFft(n);
    const h = fft.heap();
    for (let i = 0; i < n; i++) h[fft.time + i] = x[i] as number;
    fft.forward();
    const s = fft.spectrum;
    // Bin 0 and bin n/2 are real and come first; then bins 1 .. n/2 - 1 as re, im.
    const tol = 1e-5 * Math.sqrt(n);
    assert.ok(Math.abs((h[s] as number) - (want[0] as number)) < tol, `n ${n} bin 0`);
    assert.ok(Math.abs((h[s + 1] as number) - (want[n] as number)) < tol, `n ${n} bin ${n / 2}`);
    for (let k = 1; k < n / 2; k++) {
      assert.ok(Math.abs((h[s + 2 * k] as number) - (want[2 * k] as number)) < tol, `n ${n} bin ${k} re`);
      assert.ok(
        Math.abs((h[s + 2 * k + 1] as number) - (want[2 * k + 1] as number)) < tol,
        `n ${n} bin ${k} im`,
      );
    }
    fft.inverse();
    for (let i = 0; i < n; i++) {
      assert.ok(Math.abs((h[fft.time + i] as number) / n - (x[i] as number)) < 1e-6, `n ${n} sample ${i}`);
    }
  }
});

test('wasm real FFT: instances of one size share one scratch area; a size PFFFT cannot take is refused', () => {
  const a = new WasmRealFft(512);
  const b = new WasmRealFft(512);
  assert.equal(a.time, b.time);
  assert.equal(a.spectrum, b.spectrum);
  assert.notEqual(new WasmRealFft(256).time, a.time);
  for (const n of [16, 500, 0]) assert.throws(() => new WasmRealFft(n), /power of two >= 32/);
});
