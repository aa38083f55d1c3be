import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parametersForStation } from '../../../catalog/index.ts';
import { searchBest } from '../../../optimizer/core/index.ts';

const specs = parametersForStation(3);
// A smooth bowl with its top at a known point inside the bounds (away from the defaults).
const optimum: Record<string, number> = {};
for (const p of specs)
  optimum[p.name] = p.min + 0.3 * (p.max - p.min) + (p.name.length % 3) * 0.1 * (p.max - p.min);

function bowl(x: Record<string, number>): number {
  let d = 0;
  for (const p of specs) d += ((x[p.name]! - optimum[p.name]!) / (p.max - p.min)) ** 2;
  return 100 - 100 * d;
}

test('search: finds the top of a smooth bowl within tolerance, inside the bounds and the budget', () => {
  const seen: Record<string, number>[] = [];
  const r = searchBest(
    (x) => {
      seen.push(x);
      return bowl(x);
    },
    specs,
    { seed: 3, budget: 500 },
  );
  assert.ok(r.evaluations <= 500 && r.evaluations === seen.length);
  assert.ok(r.score > 99.99, `best ${r.score}`);
  for (const p of specs) {
    const err = Math.abs(r.params[p.name]! - optimum[p.name]!) / (p.max - p.min);
    assert.ok(err < 0.01, `${p.name}: ${r.params[p.name]} vs ${optimum[p.name]}`);
  }
  for (const x of seen) {
    for (const p of specs)
      assert.ok(x[p.name]! >= p.min && x[p.name]! <= p.max, `${p.name}=${x[p.name]} evaluated out of bounds`);
  }
});

test('search: random restarts escape a local optimum next to the start', () => {
  // Two hills on one parameter: a low one at the default, a higher one far away.
  const gain = specs.find((p) => p.name === 'input_gain_db')!;
  const f = (x: Record<string, number>) => {
    const g = x['input_gain_db']!;
    return 50 * Math.exp(-(((g - gain.default) / 2) ** 2)) + 80 * Math.exp(-(((g - 15) / 2) ** 2));
  };
  const r = searchBest(f, [gain], { seed: 11, budget: 200 });
  assert.ok(Math.abs(r.params['input_gain_db']! - 15) < 0.1, `ended at ${r.params['input_gain_db']}`);
  assert.ok(r.score > 79.9);
});

test('search: deterministic for a seed, honours the start set and a tiny budget', () => {
  const noisy = (x: Record<string, number>) => bowl(x) + Math.sin(x['highpass_cutoff_hz']! * 0.7) * 2;
  assert.deepEqual(
    searchBest(noisy, specs, { seed: 9, budget: 150 }),
    searchBest(noisy, specs, { seed: 9, budget: 150 }),
  );
  const start = { ...optimum };
  const one = searchBest(bowl, specs, { start, budget: 1 });
  assert.equal(one.evaluations, 1);
  assert.deepEqual(one.params, start);
  assert.ok(Math.abs(one.score - 100) < 1e-9);
});
