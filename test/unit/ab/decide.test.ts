import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gaussian, mulberry32 } from '../../../audio/metrics/random.ts';
import { decideExperiment, type ExperimentDesign, normalizeDesign } from '../../../optimizer/ab/index.ts';

function design(input: Parameters<typeof normalizeDesign>[0] = {}): ExperimentDesign {
  const r = normalizeDesign(input);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.design;
}

/** n per-call scores around `mu` with spread `sd`, reproducible from the seed. */
function scores(seed: number, n: number, mu: number, sd: number): number[] {
  const rng = mulberry32(seed);
  return Array.from({ length: n }, () => mu + sd * gaussian(rng));
}

const D = design(); // min 20, max 40, 2 looks, alpha 0.05; guardrail 1% from 5 calls, every 5
const SD = 4; // the spread of per-call scores the simulator produces (3.5-5 points)

test('decide: nothing is decided before the first look; the next look says what it waits for', () => {
  const d = decideExperiment(D, scores(1, 30, 70, SD), scores(2, 4, 70, SD));
  assert.equal(d.verdict, null);
  assert.deepEqual(d.looks, []);
  assert.equal(d.next?.kind, 'guardrail');
  assert.equal(d.next?.n, 5);
});

test('decide: a verdict depends only on the first n of each arm, not on what arrived later', () => {
  const c = scores(3, 40, 70, SD);
  const t = scores(4, 40, 76, SD);
  const full = decideExperiment(D, c, t);
  assert.ok(full.verdict);
  const n = full.verdict.look.n;
  const exact = decideExperiment(D, c.slice(0, n), t.slice(0, n));
  assert.deepEqual(exact.verdict, full.verdict);
  assert.deepEqual(decideExperiment(D, c, t), full, 'the same input gives the same decision');
});

test('decide: A/A experiments end with "no verdict" at the maximum sample, false verdicts within alpha', () => {
  const runs = 1000;
  const kinds = { promote: 0, worse: 0, guardrail_stop: 0, no_verdict: 0 };
  for (let i = 0; i < runs; i++) {
    const d = decideExperiment(D, scores(10_000 + i, 40, 70, SD), scores(20_000 + i, 40, 70, SD));
    assert.ok(d.verdict, 'the last look always decides');
    kinds[d.verdict.kind]++;
    if (d.verdict.kind === 'no_verdict') assert.equal(d.verdict.look.n, D.max_sample_per_arm);
  }
  const se = (p: number) => 3 * Math.sqrt((p * (1 - p)) / runs);
  const falseMain = (kinds.promote + kinds.worse) / runs;
  assert.ok(falseMain <= D.alpha + se(D.alpha), `false main verdicts ${falseMain} > alpha ${D.alpha}`);
  const falseStops = kinds.guardrail_stop / runs;
  assert.ok(falseStops <= 0.08 + se(0.08), `guardrail stopped ${falseStops} of equal treatments`);
  assert.ok(kinds.no_verdict / runs > 0.85, JSON.stringify(kinds));
});

test('decide: a better treatment (+1 sd) is promoted at a main look with p under alpha / looks', () => {
  const runs = 300;
  let promoted = 0;
  for (let i = 0; i < runs; i++) {
    const d = decideExperiment(D, scores(30_000 + i, 40, 70, SD), scores(40_000 + i, 40, 70 + SD, SD));
    assert.notEqual(d.verdict?.kind, 'guardrail_stop');
    if (d.verdict?.kind !== 'promote') continue;
    promoted++;
    const { look } = d.verdict;
    assert.equal(look.kind, 'main');
    assert.ok(look.result.p_value < look.alpha && look.alpha === D.alpha / 2);
    assert.ok(look.result.difference > 0 && look.result.hedges_g > 0);
  }
  assert.ok(promoted / runs > 0.9, `promoted ${promoted} of ${runs}`);
});

test('decide: a clearly worse treatment (-1.5 sd) is stopped by the guardrail before the minimum sample', () => {
  const runs = 300;
  let early = 0;
  for (let i = 0; i < runs; i++) {
    const d = decideExperiment(D, scores(50_000 + i, 40, 70, SD), scores(60_000 + i, 40, 70 - 1.5 * SD, SD));
    assert.ok(d.verdict && d.verdict.kind !== 'promote');
    if (d.verdict.kind === 'guardrail_stop' && d.verdict.look.n < D.min_sample_per_arm) {
      early++;
      const r = d.verdict.look.result;
      assert.equal(r.alternative, 'less');
      assert.ok(r.p_value < D.guardrail.alpha && -r.difference >= D.guardrail.min_drop_points);
    }
  }
  assert.ok(early / runs > 0.9, `stopped early ${early} of ${runs}`);
});

test('decide: a significant drop smaller than the guardrail bound is left to the main test', () => {
  // Scores that barely vary: a 2-point drop is highly significant, but under the 5-point bound.
  const g = design({ guardrail: { min_drop_points: 5 } });
  const d = decideExperiment(g, scores(7, 40, 70, 0.5), scores(8, 40, 68, 0.5));
  assert.equal(d.verdict?.kind, 'worse');
  assert.equal(d.verdict?.look.kind, 'main');
  assert.equal(d.verdict?.look.n, g.min_sample_per_arm);
  assert.ok(
    d.looks.some((l) => l.kind === 'guardrail' && l.result.p_value < g.guardrail.alpha && !l.decisive),
  );
});

test('decide: a significant gain below min_effect_points is not promoted', () => {
  const g = design({ min_effect_points: 3 });
  const d = decideExperiment(g, scores(9, 40, 70, 0.5), scores(10, 40, 71, 0.5));
  assert.equal(d.verdict?.kind, 'no_verdict');
  assert.ok(d.verdict && d.verdict.look.result.p_value < 1e-6);
});

test('decide: with unequal arms only as many observations per arm as the smaller arm has are used', () => {
  const d = decideExperiment(D, scores(11, 40, 70, SD), scores(12, 12, 70, SD));
  assert.ok(d.looks.every((l) => l.n <= 12));
  assert.equal(d.next?.n, 15);
});
