import assert from 'node:assert/strict';
import { test } from 'node:test';
import FFT from 'fft.js';
import { RealFft } from '../../../audio/dsp/realFft.ts';
import { mulberry32 } from '../../../audio/metrics/random.ts';

test('half-size real FFT: forward matches the full-size transform bin by bin, inverse restores the signal', () => {
  const rng = mulberry32(5);
  for (const n of [4, 8, 64, 256, 512]) {
    const x = Float64Array.from({ length: n }, () => rng() - 0.5);
    const full = new FFT(n);
    const want = full.createComplexArray() as number[];
    full.realTransform(want, x);
    const fft = new RealFft(n);
    const spec = new Float64Array(n + 2);
    fft.forward(x, spec);
    for (let k = 0; k <= n / 2; k++) {
      assert.ok(Math.abs((spec[2 * k] as number) - (want[2 * k] as number)) < 1e-12, `n ${n} bin ${k} re`);
      assert.ok(
        Math.abs((spec[2 * k + 1] as number) - (want[2 * k + 1] as number)) < 1e-12,
        `n ${n} bin ${k} im`,
      );
    }
    const back = new Float64Array(n);
    fft.inverse(spec, back);
    for (let i = 0; i < n; i++) assert.ok(Math.abs((back[i] as number) - (x[i] as number)) < 1e-12);
  }
});
