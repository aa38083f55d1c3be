import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_DESIGN,
  guardrailFalseStopBound,
  normalizeDesign,
  plannedLooks,
} from '../../../optimizer/ab/index.ts';

test('design: defaults give two Bonferroni main looks and guardrail looks every 5 calls', () => {
  const r = normalizeDesign();
  assert.ok(r.ok);
  assert.deepEqual(r.design, DEFAULT_DESIGN);
  const looks = plannedLooks(r.design);
  const main = looks.filter((l) => l.kind === 'main');
  assert.deepEqual(
    main.map((l) => [l.n, l.alpha, l.alternative]),
    [
      [20, 0.025, 'two-sided'],
      [40, 0.025, 'two-sided'],
    ],
  );
  const guard = looks.filter((l) => l.kind === 'guardrail');
  assert.deepEqual(
    guard.map((l) => l.n),
    [5, 10, 15, 20, 25, 30, 35, 40],
  );
  assert.ok(guard.every((l) => l.alpha === 0.01 && l.alternative === 'less'));
  // Taken in order of n, the guardrail first where both fall on the same n.
  for (let i = 1; i < looks.length; i++) assert.ok(looks[i]!.n >= looks[i - 1]!.n);
  const at20 = looks.filter((l) => l.n === 20).map((l) => l.kind);
  assert.deepEqual(at20, ['guardrail', 'main']);
  assert.equal(guardrailFalseStopBound(r.design), 8 * 0.01);
});

test('design: main looks are spread evenly from the minimum to the maximum sample', () => {
  const r = normalizeDesign({ min_sample_per_arm: 10, max_sample_per_arm: 30, looks: 3, alpha: 0.06 });
  assert.ok(r.ok);
  const main = plannedLooks(r.design).filter((l) => l.kind === 'main');
  assert.deepEqual(
    main.map((l) => l.n),
    [10, 20, 30],
  );
  assert.ok(main.every((l) => Math.abs(l.alpha - 0.02) < 1e-15));
  const one = normalizeDesign({ min_sample_per_arm: 12, max_sample_per_arm: 12 });
  assert.ok(one.ok);
  assert.equal(one.design.looks, 1);
});

test('design: every bad field is named', () => {
  const cases: [Parameters<typeof normalizeDesign>[0], string][] = [
    [{ treatment_share: 1 }, 'treatment_share'],
    [{ treatment_share: 0 }, 'treatment_share'],
    [{ min_sample_per_arm: 2 }, 'min_sample_per_arm'],
    [{ min_sample_per_arm: 10.5 }, 'min_sample_per_arm'],
    [{ min_sample_per_arm: 20, max_sample_per_arm: 10 }, 'max_sample_per_arm'],
    [{ min_sample_per_arm: 10, max_sample_per_arm: 12, looks: 4 }, 'looks'],
    [{ alpha: 0 }, 'alpha'],
    [{ alpha: 0.6 }, 'alpha'],
    [{ alpha: 0.05, guardrail: { alpha: 0.1 } }, 'guardrail.alpha'],
    [{ guardrail: { min_sample_per_arm: 1 } }, 'guardrail.min_sample_per_arm'],
    [{ max_sample_per_arm: 30, guardrail: { min_sample_per_arm: 31 } }, 'guardrail.min_sample_per_arm'],
    [{ guardrail: { every: 0 } }, 'guardrail.every'],
    [{ segments_per_call: 0 }, 'segments_per_call'],
    [{ min_effect_points: -1 }, 'min_effect_points'],
  ];
  for (const [input, field] of cases) {
    const r = normalizeDesign(input);
    assert.ok(!r.ok, `${JSON.stringify(input)} accepted`);
    assert.ok(
      r.errors.some((e) => e.field === field),
      `${JSON.stringify(input)}: ${JSON.stringify(r.errors)} does not name ${field}`,
    );
  }
});
