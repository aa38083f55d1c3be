import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createChain } from '../../../audio/dsp/chain.ts';
import { DcBlocker } from '../../../audio/dsp/dcBlocker.ts';
import { defaultsForStation } from '../../../catalog/index.ts';
import { dbfs, tone } from './signals.ts';

const mean = (x: Float32Array, from = 0) => {
  let s = 0;
  for (let i = from; i < x.length; i++) s += x[i] as number;
  return s / (x.length - from);
};

for (const sampleRate of [8000, 16000]) {
  test(`DC blocker: a -0.13 offset is gone within 1 s and a 100 Hz tone passes within 0.05 dB (${sampleRate} Hz)`, () => {
    const x = tone(sampleRate, 2, 100, 0.3);
    const y = x.map((v) => v - 0.13);
    const b = new DcBlocker(sampleRate);
    // Odd frame sizes: the state must carry across calls.
    for (let i = 0; i < y.length; i += 157) b.process(y.subarray(i, i + 157));
    const settled = sampleRate;
    assert.ok(Math.abs(mean(y, settled)) < 5e-4, `mean after 1 s ${mean(y, settled)}`);
    const diff = dbfs(y.subarray(sampleRate), sampleRate) - dbfs(x.subarray(sampleRate), sampleRate);
    assert.ok(Math.abs(diff) < 0.05, `100 Hz changed by ${diff} dB`);
    assert.ok(b.active);
    // reset() forgets the state: the same input gives the same output again.
    b.reset();
    const a = x.slice(0, 500);
    const c = x.slice(0, 500);
    b.process(a);
    b.reset();
    b.process(c);
    assert.deepEqual(a, c);
  });
}

test('DC blocker: without an offset it is a bit-exact pass-through; an offset fades in without a step', () => {
  const sr = 8000;
  const x = tone(sr, 2, 150, 0.3);
  const y = x.slice();
  const b = new DcBlocker(sr);
  b.process(y);
  assert.deepEqual(y, x);
  assert.equal(b.active, false);
  // Half-way, a -0.05 offset appears: it is removed, and no sample moves more than the tone itself does.
  const z = x.map((v, i) => (i >= sr ? v - 0.05 : v));
  const c = new DcBlocker(sr);
  c.process(z);
  let tonePeakStep = 0;
  for (let i = 1; i < sr; i++)
    tonePeakStep = Math.max(tonePeakStep, Math.abs((x[i] as number) - (x[i - 1] as number)));
  let step = 0;
  for (let i = sr + 1; i < z.length; i++)
    step = Math.max(step, Math.abs((z[i] as number) - (z[i - 1] as number)));
  assert.ok(step <= tonePeakStep + 0.05 + 1e-6, `largest step ${step} (the tone's own ${tonePeakStep})`);
  assert.ok(Math.abs(mean(z, sr + sr / 2)) < 2e-3, `mean ${mean(z, sr + sr / 2)} once settled`);
});

test('DC blocker: every station input stage removes the offset, whatever blocks the station runs', () => {
  for (const station of [1, 2, 3, 4, 9, 10, 11]) {
    const sr = 16000;
    const chain = createChain(station, defaultsForStation(station), { sampleRate: sr });
    const x = tone(sr, 2, 300, 0.05).map((v) => v + 0.1);
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i += 320)
      chain.process(x.subarray(i, i + 320), undefined, out.subarray(i, i + 320));
    const m = mean(out, sr);
    assert.ok(Math.abs(m) < 1e-3, `station ${station}: mean ${m} over the second second`);
  }
});
