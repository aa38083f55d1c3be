import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parametersForStation } from '../../../catalog/index.ts';
import { searchBest } from '../../../optimizer/core/index.ts';

const specs = parametersForStation(3);
// A smooth bowl with its top at a known point inside the bounds (away from the defaults).
const optimum: Record<string, number> = {};
for (const p of specs) {
  optimum[p.name] = p.values
    ? p.values.at(-1)!
    : p.min + 0.3 * (p.max - p.min) + (p.name.length % 3) * 0.1 * (p.max - p.min);
}

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

test('search: a switch (values [0, 1]) is a choice it tries from the start, and only its values are evaluated', () => {
  const st1 = parametersForStation(1);
  const rn = st1.find((p) => p.name === 'rnnoise_enabled')!;
  assert.deepEqual(rn.values, [0, 1]);
  assert.equal(rn.default, 0);
  // RNNoise on is worth 10 points; a smooth bowl on the rest, its top away from the defaults.
  const top: Record<string, number> = {};
  for (const p of st1) top[p.name] = p.min + 0.6 * (p.max - p.min);
  const f = (x: Record<string, number>) => {
    let d = 0;
    for (const p of st1) if (!p.values) d += ((x[p.name]! - top[p.name]!) / (p.max - p.min)) ** 2;
    return 80 - 50 * d + (x['rnnoise_enabled'] === 1 ? 10 : 0);
  };
  const seen: number[] = [];
  const r = searchBest(
    (x) => {
      seen.push(x['rnnoise_enabled']!);
      return f(x);
    },
    st1,
    { seed: 5, budget: 120, restarts: 0 },
  );
  assert.equal(r.params['rnnoise_enabled'], 1, 'the search switched RNNoise on');
  // The first descent tries the switch within its first evaluations, not after a random restart.
  assert.equal(seen.slice(0, 3).includes(1), true, `first values tried: ${seen.slice(0, 3)}`);
  assert.ok(
    seen.every((v) => v === 0 || v === 1),
    `evaluated between the choices: ${seen.filter((v) => v !== 0 && v !== 1)}`,
  );
  // Off is better: it switches back, from a start that had it on (0.7 snaps to on).
  const g = (x: Record<string, number>) => f(x) - (x['rnnoise_enabled'] === 1 ? 20 : 0);
  const back = searchBest(g, st1, { seed: 5, budget: 120, restarts: 2, start: { rnnoise_enabled: 0.7 } });
  assert.equal(back.params['rnnoise_enabled'], 0);
});

test('search: a continuous range alone never has its choices tried (no values, stepped as before)', () => {
  const gain = specs.find((p) => p.name === 'input_gain_db')!;
  assert.equal(gain.values, undefined);
  const seen: number[] = [];
  searchBest(
    (x) => {
      seen.push(x['input_gain_db']!);
      return -((x['input_gain_db']! - 7) ** 2);
    },
    [gain],
    { seed: 2, budget: 60, restarts: 0 },
  );
  // The first step from the default is a quarter of the range.
  assert.equal(seen[1], gain.default + 0.25 * (gain.max - gain.min));
});
