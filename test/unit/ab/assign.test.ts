import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleCorrelation } from 'simple-statistics';
import { assignArm, bucketOf } from '../../../optimizer/ab/index.ts';

const N = 20_000;
const ids = Array.from({ length: N }, (_, i) => `call-${i}`);
/** Binomial standard deviation of a share estimated from N draws. */
const sigma = (p: number, n = N) => Math.sqrt((p * (1 - p)) / n);

test('assignment: the same call always lands in the same arm, in any order and process', () => {
  const first = ids.map((id) => assignArm('exp-1', id, 0.5));
  const again = [...ids]
    .reverse()
    .map((id) => assignArm('exp-1', id, 0.5))
    .reverse();
  assert.deepEqual(again, first);
  for (const id of ids.slice(0, 200)) {
    const b = bucketOf('exp-1', id);
    assert.ok(b >= 0 && b < 1, `bucket ${b} outside [0, 1)`);
    assert.equal(bucketOf('exp-1', id), b);
  }
});

test('assignment: the treatment share is what was asked for, within binomial error', () => {
  for (const share of [0.1, 0.5, 0.8]) {
    const treated = ids.filter((id) => assignArm('exp-share', id, share) === 'treatment').length / N;
    assert.ok(
      Math.abs(treated - share) < 4.5 * sigma(share),
      `share ${share}: ${treated} treated (allowed ±${(4.5 * sigma(share)).toFixed(4)})`,
    );
  }
});

test('assignment: raising the share only moves control calls into treatment', () => {
  const low = new Set(ids.filter((id) => assignArm('exp-ramp', id, 0.2) === 'treatment'));
  const high = new Set(ids.filter((id) => assignArm('exp-ramp', id, 0.5) === 'treatment'));
  for (const id of low) assert.ok(high.has(id), `${id} left the treatment when the share grew`);
  assert.ok(high.size > low.size);
});

test('assignment: buckets are uniform and independent of neighbouring ids and of other experiments', () => {
  const a = ids.map((id) => bucketOf('exp-a', id));
  const b = ids.map((id) => bucketOf('exp-b', id));
  // Uniform: each of 20 equal bins holds 1/20 of the calls, within binomial error.
  const bins = new Array(20).fill(0);
  for (const x of a) bins[Math.floor(x * 20)]++;
  for (const [i, c] of bins.entries())
    assert.ok(Math.abs(c / N - 0.05) < 5 * sigma(0.05), `bin ${i} holds ${c} of ${N}`);
  // call-7 and call-8 are unrelated: no lag-1 correlation; two salts split the calls independently.
  const lag = sampleCorrelation(a.slice(0, -1), a.slice(1));
  assert.ok(Math.abs(lag) < 4.5 / Math.sqrt(N), `lag-1 correlation ${lag}`);
  const agree = ids.filter((_, i) => a[i]! < 0.5 === b[i]! < 0.5).length / N;
  assert.ok(Math.abs(agree - 0.5) < 4.5 * sigma(0.5), `two experiments agree on ${agree} of the calls`);
});
