import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mean, sampleVariance } from 'simple-statistics';
import { welchTest } from '../../../optimizer/ab/index.ts';

// Student's (1908) sleep data, the classic two-sample example; R's t.test(x, y) (Welch) reports
// t = -1.8608, df = 17.776, p-value = 0.07939, 95% CI -3.3654832 0.2054832.
const x = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
const y = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];

const close = (a: number | null, b: number, tol: number, what: string) =>
  assert.ok(a !== null && Math.abs(a - b) < tol, `${what}: ${a} vs ${b}`);

test("welch: Student's sleep data gives R's Welch numbers", () => {
  const r = welchTest(y, x); // control = y, treatment = x
  close(r.statistic, -1.8608, 1e-4, 't');
  close(r.df, 17.776, 1e-3, 'df');
  close(r.p_value, 0.07939, 1e-5, 'p');
  close(r.ci[0], -3.3654832, 1e-6, 'ci low');
  close(r.ci[1], 0.2054832, 1e-6, 'ci high');
  close(r.difference, mean(x) - mean(y), 1e-12, 'difference');
  assert.equal(r.control.n, 10);
  close(r.treatment.sd, Math.sqrt(sampleVariance(x)), 1e-12, 'sd');
  // One-sided, treatment lower: half the two-sided p; the other side is its complement.
  close(welchTest(y, x, 'less').p_value, 0.07939 / 2, 1e-5, 'p less');
  close(welchTest(y, x, 'greater').p_value, 1 - 0.07939 / 2, 1e-5, 'p greater');
  assert.equal(welchTest(y, x, 'less').ci[0], null, 'a one-sided interval is open below');
});

test('welch: effect sizes are the difference over the pooled sd, Hedges-corrected', () => {
  const control = [60, 62, 65, 61, 59, 63, 64];
  const treatment = [66, 70, 64, 69, 71, 67];
  const r = welchTest(control, treatment);
  const pooled = Math.sqrt(
    (6 * sampleVariance(control) + 5 * sampleVariance(treatment)) / (control.length + treatment.length - 2),
  );
  const d = (mean(treatment) - mean(control)) / pooled;
  close(r.cohens_d, d, 1e-12, 'd');
  close(r.hedges_g, d * (1 - 3 / (4 * 13 - 9)), 1e-12, 'g');
  assert.ok(r.hedges_g < r.cohens_d);
  // Swapping the arms mirrors everything but the two-sided p.
  const s = welchTest(treatment, control);
  close(s.statistic, -r.statistic, 1e-12, 'mirrored t');
  close(s.p_value, r.p_value, 1e-12, 'same p');
  close(s.cohens_d, -r.cohens_d, 1e-12, 'mirrored d');
});

test('welch: constant arms give a definite answer instead of NaN; too few observations are refused', () => {
  const same = welchTest([70, 70, 70], [70, 70]);
  assert.equal(same.degenerate, true);
  assert.equal(same.p_value, 1);
  const apart = welchTest([70, 70, 70], [72, 72]);
  assert.equal(apart.p_value, 0);
  assert.equal(welchTest([70, 70, 70], [72, 72], 'less').p_value, 1, 'a higher treatment is not "less"');
  assert.throws(() => welchTest([1], [1, 2]), RangeError);
});
