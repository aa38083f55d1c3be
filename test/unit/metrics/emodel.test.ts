import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emodel, rToMos } from '../../../audio/metrics/emodel.ts';
import { lossStats, networkMetrics } from '../../../audio/metrics/network.ts';

const strictlyDecreasing = (values: number[], what: string) => {
  for (let i = 1; i < values.length; i++)
    assert.ok(values[i]! < values[i - 1]!, `${what}: ${values.join(', ')}`);
};

test('E-model with every G.107 default gives R = 93.2 and MOS 4.41', () => {
  const e = emodel();
  assert.ok(Math.abs(e.r - 93.2) <= 0.1, `R = ${e.r}`);
  assert.ok(Math.abs(e.mos - 4.41) <= 0.01, `MOS = ${e.mos}`);
  assert.equal(e.ieEff, 0);
});

test('R falls as packet loss rises (0, 1, 2, 5, 10 %)', () => {
  for (const codec of ['g711', 'g711-plc', 'g729a'] as const) {
    strictlyDecreasing(
      [0, 1, 2, 5, 10].map((packetLossPct) => emodel({ packetLossPct, codec }).r),
      codec,
    );
  }
});

test('R falls as loss gets burstier (BurstR 1, 2, 4 at 2 % loss)', () => {
  strictlyDecreasing(
    [1, 2, 4].map((burstR) => emodel({ packetLossPct: 2, burstR }).r),
    'BurstR',
  );
});

test('R falls as delay rises (0, 150, 300, 500 ms)', () => {
  const r = [0, 150, 300, 500].map((oneWayDelayMs) => emodel({ oneWayDelayMs }).r);
  strictlyDecreasing(r, 'delay');
  // G.114 Figure 1 (the E-model at defaults): still "users satisfied" (R > 80) below ~250 ms, not at 300.
  assert.ok(r[1]! > 85 && r[2]! < 80, `R at 150 ms ${r[1]}, at 300 ms ${r[2]}`);
});

test('a handful of lost packets lowers MOS', () => {
  // Regression: a known open-source monitor reports MOS 4.5 until loss is large, because it rounds or
  // caps the loss term away. 5 lost of 1000 (0.5 %) must read measurably below the loss-free 4.41.
  const flags = Array.from({ length: 1000 }, (_, i) => i % 200 !== 7);
  const loss = lossStats(flags);
  assert.equal(loss.lost, 5);
  for (const codec of ['g711', 'g711-plc'] as const) {
    const m = networkMetrics({
      loss,
      jitterMs: 0,
      networkDelayMs: 0,
      jitterBufferDelayMs: 0,
      jitterBufferFill: 0,
      codec,
    });
    assert.ok(m.mos < 4.41 - 0.03, `${codec}: MOS ${m.mos}`);
    assert.ok(m.r_factor < 93.2 - 1, `${codec}: R ${m.r_factor}`);
  }
});

test('R to MOS follows G.107 Annex B, with its floor and ceiling', () => {
  assert.equal(rToMos(-10), 1);
  assert.equal(rToMos(0), 1);
  assert.equal(rToMos(100), 4.5);
  assert.equal(rToMos(120), 4.5);
  assert.ok(Math.abs(rToMos(50) - (1 + 1.75 + 50 * -10 * 50 * 7e-6)) < 1e-12);
  // The cubic dips just below 1 for small R; held at 1 there, so MOS never rises as R falls.
  for (let r = 0; r < 100; r += 0.5) assert.ok(rToMos(r + 0.5) >= rToMos(r) && rToMos(r) >= 1);
  for (let r = 10; r < 100; r += 0.5) assert.ok(rToMos(r + 0.5) > rToMos(r));
});

test('emodel: heavy loss in long bursts stays at the floor of everything lost (Ie,eff <= 95)', () => {
  // Regression: a real RTP leg under a stalled sender gave Ppl 90% at BurstR 6, R = -121, and the
  // snapshot was refused (r_factor outside [-100, 150]).
  const bursty = emodel({ packetLossPct: 90, burstR: 6, codec: 'g711-plc' });
  assert.equal(bursty.ieEff, 95);
  const all = emodel({ packetLossPct: 100, burstR: 1, codec: 'g711-plc' });
  assert.ok(bursty.r >= -100 && bursty.r <= all.r + 25, `R ${bursty.r}`);
  assert.equal(bursty.mos, 1);
  // Below the cap nothing changes: G.107's formula as it is.
  const mild = emodel({ packetLossPct: 2, burstR: 1.5, codec: 'g711-plc' });
  assert.ok(mild.ieEff < 95 && mild.ieEff > 0);
});
