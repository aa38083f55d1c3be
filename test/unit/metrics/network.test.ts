import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lossStats, networkMetrics, Rfc3550Jitter } from '../../../audio/metrics/network.ts';
import { mulberry32 } from '../../../audio/metrics/random.ts';

const CLOCK = 8000;
const PTIME_MS = 20;
const STEP = (CLOCK * PTIME_MS) / 1000;

test('RFC 3550 jitter of a constant-delay stream is 0', () => {
  const j = new Rfc3550Jitter();
  for (let i = 0; i < 500; i++) j.update(1234 + i * STEP, 10_000 + 57 + i * PTIME_MS, CLOCK);
  assert.equal(j.jitterMs, 0);
});

test('RFC 3550 jitter of transit alternating ±X ms is 2X(1 - (15/16)^n), converging to 2X', () => {
  const X = 5;
  const j = new Rfc3550Jitter();
  for (let i = 0; i <= 400; i++) {
    const transit = 50 + (i % 2 === 0 ? X : -X);
    const jitter = j.update(i * STEP, i * PTIME_MS + transit, CLOCK);
    // |D| = 2X after every packet but the first: J_n = 2X(1 - (15/16)^n).
    assert.ok(Math.abs(jitter - 2 * X * (1 - (15 / 16) ** i)) < 1e-9, `packet ${i}: ${jitter}`);
  }
  assert.ok(Math.abs(j.jitterMs - 2 * X) < 1e-6);
  assert.ok(Math.abs(j.jitterTimestampUnits - (2 * X * CLOCK) / 1000) < 1e-3);
});

test('RFC 3550 jitter is unaffected by the 32-bit RTP timestamp wrapping', () => {
  const wrapped = new Rfc3550Jitter();
  const plain = new Rfc3550Jitter();
  const start = 2 ** 32 - 10 * STEP;
  for (let i = 0; i < 40; i++) {
    const arrival = i * PTIME_MS + (i % 3) * 2;
    wrapped.update((start + i * STEP) % 2 ** 32, arrival, CLOCK);
    plain.update(i * STEP, arrival, CLOCK);
  }
  assert.ok(Math.abs(wrapped.jitterMs - plain.jitterMs) < 1e-9);
});

test('loss ratio and BurstR: 1 for random loss, the burst length for long bursts', () => {
  const rng = mulberry32(7);
  const random = Array.from({ length: 200_000 }, () => rng() >= 0.05);
  const r = lossStats(random);
  assert.ok(Math.abs(r.lossRatio - 0.05) < 0.002);
  assert.ok(Math.abs(r.burstRatio - 1) < 0.05, `random BurstR ${r.burstRatio}`);

  // Gilbert model: p = P(lose | received), q = P(receive | lost); G.107 gives BurstR = 1/(p + q).
  const p = 0.0125;
  const q = 0.25;
  const bursty: boolean[] = [];
  let lost = false;
  for (let i = 0; i < 400_000; i++) {
    lost = lost ? rng() >= q : rng() < p;
    bursty.push(!lost);
  }
  const b = lossStats(bursty);
  assert.ok(Math.abs(b.lossRatio - p / (p + q)) < 0.005);
  assert.ok(Math.abs(b.burstRatio - 1 / (p + q)) < 0.2, `bursty BurstR ${b.burstRatio} vs ${1 / (p + q)}`);

  assert.deepEqual(lossStats([true, true, false, false, false, true, false, true]), {
    expected: 8,
    lost: 4,
    lossRatio: 0.5,
    bursts: 2,
    meanBurstLength: 2,
    burstRatio: 1,
  });
  assert.equal(lossStats([]).lossRatio, 0);
  assert.equal(lossStats([true, true]).burstRatio, 1);
});

test('networkMetrics: latency includes the jitter buffer, and a deeper buffer lowers R', () => {
  const base = {
    loss: { lossRatio: 0, burstRatio: 1 },
    jitterMs: 30,
    networkDelayMs: 120,
    jitterBufferFill: 0.4,
  };
  const shallow = networkMetrics({ ...base, jitterBufferDelayMs: 40, codecDelayMs: 25 });
  assert.equal(shallow.latency_ms, 185);
  const deep = networkMetrics({ ...base, jitterBufferDelayMs: 200, codecDelayMs: 25 });
  assert.equal(deep.latency_ms, 345);
  assert.ok(deep.r_factor < shallow.r_factor);
  assert.ok(deep.mos < shallow.mos);
  assert.equal(deep.jitter_ms, 30);
  assert.equal(deep.jitter_buffer_fill, 0.4);
  const garbage = networkMetrics({
    ...base,
    jitterMs: Number.NaN,
    jitterBufferDelayMs: -5,
    jitterBufferFill: 3,
  });
  for (const v of Object.values(garbage)) assert.ok(Number.isFinite(v));
  assert.equal(garbage.jitter_buffer_fill, 1);
});
