// The Gaussian process (optimizer/gp/gp.ts): the posterior behaves like one, the hyperparameter search
// climbs the true likelihood, and per-point noise means what it says. Pure maths, no I/O.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from '../../../optimizer/core/random.ts';
import { GaussianProcess, lmlWithGradient } from '../../../optimizer/gp/gp.ts';
import { KERNELS } from '../../../optimizer/gp/kernel.ts';

const FIXED = { lengthScales: [0.15], signalVar: 1, noiseVar: 1e-8 };

test('noise-free posterior interpolates the data and is certain only there', () => {
  const X = [[0.1], [0.3], [0.5], [0.9]];
  const f = (x: number) => Math.sin(6 * x) + 0.5 * x;
  const y = X.map(([x]) => f(x!));
  for (const kernel of KERNELS) {
    const gp = GaussianProcess.fit(X, y, { kernel, hyper: FIXED });
    for (const [i, x] of X.entries()) {
      const p = gp.predict(x);
      assert.ok(Math.abs(p.mean - y[i]!) < 1e-4, `${kernel}: mean ${p.mean} at x=${x} should be ${y[i]}`);
      assert.ok(p.variance < 1e-5 * gp.yStd ** 2, `${kernel}: variance ${p.variance} at data point ${x}`);
    }
    // Between points the model is unsure, far from every point it falls back to the prior.
    const between = gp.predict([0.7]).variance;
    const far = gp.predict([5]).variance;
    const prior = FIXED.signalVar * gp.yStd ** 2;
    assert.ok(between > 0.05 * prior, `${kernel}: variance between data ${between} should be sizeable`);
    assert.ok(
      Math.abs(far - prior) < 1e-6 * prior,
      `${kernel}: far variance ${far} should be the prior ${prior}`,
    );
    assert.ok(
      Math.abs(gp.predict([5]).mean - gp.yMean) < 1e-6,
      `${kernel}: far mean reverts to the data mean`,
    );
  }
});

test('observing a point shrinks the posterior variance there and nearby', () => {
  const X = [[0.1], [0.9]];
  const y = [1, 2];
  const before = GaussianProcess.fit(X, y, { hyper: { ...FIXED, lengthScales: [0.3] } });
  const after = GaussianProcess.fit([...X, [0.5]], [...y, 1.7], { hyper: { ...FIXED, lengthScales: [0.3] } });
  const ratioAt = after.predict([0.5]).variance / before.predict([0.5]).variance;
  const ratioNear = after.predict([0.55]).variance / before.predict([0.55]).variance;
  // yStd differs between the two fits; compare in standardised units.
  const norm = (before.yStd / after.yStd) ** 2;
  assert.ok(ratioAt * norm < 1e-4, `variance at the new point fell only by ${ratioAt * norm}`);
  assert.ok(ratioNear * norm < 0.5, `variance next to the new point fell only by ${ratioNear * norm}`);
});

test('the analytic gradient of the log marginal likelihood matches finite differences', () => {
  const rng = createRng(11);
  const d = 3;
  const X = Array.from({ length: 14 }, () => Float64Array.from({ length: d }, () => rng.next()));
  const y = Float64Array.from(X, (x) => Math.sin(5 * x[0]!) + x[1]! ** 2 + 0.05 * rng.next());
  const extra = new Float64Array(X.length).fill(0.001);
  const theta = [Math.log(0.3), Math.log(0.8), Math.log(3), Math.log(1.4), Math.log(0.02)];
  for (const kernel of KERNELS) {
    const r = lmlWithGradient(X, y, kernel, theta, extra)!;
    for (let j = 0; j < theta.length; j++) {
      const h = 1e-5;
      const up = theta.slice();
      const down = theta.slice();
      up[j] = up[j]! + h;
      down[j] = down[j]! - h;
      const num =
        (lmlWithGradient(X, y, kernel, up, extra)!.value -
          lmlWithGradient(X, y, kernel, down, extra)!.value) /
        (2 * h);
      assert.ok(
        Math.abs(num - r.grad[j]!) < 1e-5 * Math.max(1, Math.abs(num)),
        `${kernel} θ${j}: analytic ${r.grad[j]} vs numeric ${num}`,
      );
    }
  }
});

test('fitted hyperparameters beat a fixed guess and find the irrelevant dimension', () => {
  const rng = createRng(3);
  // Depends on dimension 0 only: dimension 1 must get a much longer length-scale (ARD).
  const X = Array.from({ length: 30 }, () => [rng.next(), rng.next()]);
  const y = X.map(([a]) => Math.sin(7 * a!));
  const gp = GaussianProcess.fit(X, y);
  const [l0, l1] = gp.hyper.lengthScales as [number, number];
  assert.ok(l1 > 5 * l0, `length-scales ${l0} (relevant) and ${l1} (irrelevant)`);
  const guess = GaussianProcess.fit(X, y, {
    hyper: { lengthScales: [0.3, 0.3], signalVar: 1, noiseVar: 0.01 },
  });
  assert.ok(gp.logMarginalLikelihood > guess.logMarginalLikelihood);
  // And the fit generalises: held-out points are predicted closely.
  for (const x of [0.12, 0.47, 0.83]) {
    const p = gp.predict([x, 0.5]);
    assert.ok(
      Math.abs(p.mean - Math.sin(7 * x)) < 0.05,
      `prediction ${p.mean} at ${x} vs ${Math.sin(7 * x)}`,
    );
  }
});

test('noisy data: the fitted noise is near the true noise and the mean smooths it', () => {
  const rng = createRng(21);
  const sd = 0.3;
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  const X = Array.from({ length: 80 }, (_, i) => [i / 79]);
  const truth = (x: number) => 2 * Math.sin(4 * x);
  const y = X.map(([x]) => truth(x!) + sd * gauss());
  const gp = GaussianProcess.fit(X, y);
  const noise = gp.hyper.noiseVar * gp.yStd ** 2;
  assert.ok(noise > 0.5 * sd * sd && noise < 2 * sd * sd, `fitted noise variance ${noise}, true ${sd * sd}`);
  let err = 0;
  for (const [x] of X) err += (gp.predict([x!]).mean - truth(x!)) ** 2;
  const rmse = Math.sqrt(err / X.length);
  assert.ok(rmse < sd / 2, `posterior mean RMSE ${rmse} should be well under the noise ${sd}`);
});

test('per-point extra noise: a doubtful observation pulls the mean less', () => {
  const X = [[0.2], [0.5], [0.8]];
  const y = [0, 3, 0];
  const hyper = { lengthScales: [0.2], signalVar: 1, noiseVar: 1e-4 };
  const trusted = GaussianProcess.fit(X, y, { hyper });
  const doubted = GaussianProcess.fit(X, y, { hyper, extraNoise: [0, 4 * trusted.yStd ** 2, 0] });
  assert.ok(trusted.predict([0.5]).mean > 2.9);
  assert.ok(
    doubted.predict([0.5]).mean < 2,
    `a very noisy 3 should not be believed: ${doubted.predict([0.5]).mean}`,
  );
});

test('bad input is refused with a reason', () => {
  assert.throws(() => GaussianProcess.fit([], []), /at least one observation/);
  assert.throws(() => GaussianProcess.fit([[0], [1]], [1]), /2 points but 1 observations/);
  assert.throws(() => GaussianProcess.fit([[0], [1, 2]], [1, 2]), /point 1 has 2 dimensions/);
  assert.throws(() => GaussianProcess.fit([[0]], [Number.NaN]), /observation 0 is not finite/);
  const gp = GaussianProcess.fit([[0]], [1], { hyper: FIXED });
  assert.throws(() => gp.predict([0, 1]), /expected 1/);
});
