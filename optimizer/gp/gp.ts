// Gaussian-process regression (Rasmussen & Williams 2006, algorithm 2.1) on inputs already scaled to
// the unit box. Pure: points and observations in, posterior mean and variance out.
//
// - Targets are standardised (zero mean, unit variance) before fitting, so the hyperparameter bounds
//   below mean the same thing for a 0..100 score and for Branin's 0..300.
// - The covariance is factorised once with ml-matrix's Cholesky decomposition; a failed factorisation
//   (nearly duplicate points with almost no noise) is retried with growing diagonal jitter.
// - Hyperparameters (one length-scale per dimension, signal variance, noise variance) maximise the log
//   marginal likelihood log p(y | X, θ) = -½ yᵀK⁻¹y - ½ log|K| - n/2 log 2π, searched in log space:
//   a small isotropic grid picks the best starts, random restarts add a few more, and a bounded
//   sign-based gradient ascent (iRprop-) on the analytic gradient climbs from each. Deterministic for
//   a seed.
// - Each observation may carry extra noise variance of its own (heteroscedastic): an observation that
//   is a mean over few segments, or one carried over from an earlier run on other audio, is trusted
//   less than one measured now on the same audio.
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { createRng, type ResumableRng } from '../core/random.ts';
import { correlation, type KernelName, scaledSqDist } from './kernel.ts';

export interface Hyperparameters {
  /** One per input dimension, in unit-box units. */
  readonly lengthScales: readonly number[];
  /** Prior variance of the latent function, in standardised target units. */
  readonly signalVar: number;
  /** Observation noise variance shared by every point, in standardised target units. */
  readonly noiseVar: number;
}

export interface HyperBounds {
  readonly lengthScale: readonly [number, number];
  readonly signalVar: readonly [number, number];
  readonly noiseVar: readonly [number, number];
}

/**
 * On the unit box a length-scale under 0.03 would let the model wiggle between neighbouring grid
 * points (pure overfitting); above 20 the dimension is irrelevant. Noise down to 1e-6 of the target
 * variance lets a deterministic function be interpolated; up to 1 allows a pure-noise explanation.
 */
export const DEFAULT_HYPER_BOUNDS: HyperBounds = Object.freeze({
  lengthScale: [0.03, 20] as const,
  signalVar: [0.05, 20] as const,
  noiseVar: [1e-6, 1] as const,
});

export interface FitOptions {
  /** Random restarts besides the grid starts (default 2). */
  readonly restarts?: number;
  readonly seed?: number;
  /** Start the search here too (e.g. the previous fit of a growing data set). */
  readonly initial?: Hyperparameters;
  readonly bounds?: HyperBounds;
  /** How many of the best isotropic grid points to climb from (default 2). */
  readonly gridStarts?: number;
  /** Gradient steps allowed per start (default 80). */
  readonly maxIterPerStart?: number;
}

export interface GpOptions {
  readonly kernel?: KernelName;
  /** Fixed hyperparameters; when absent they are fitted (see FitOptions). */
  readonly hyper?: Hyperparameters;
  readonly fit?: FitOptions;
  /** Per-observation extra noise variance, in target units squared (added to the diagonal). */
  readonly extraNoise?: readonly number[];
}

export interface Prediction {
  /** Posterior mean of the latent function, target units. */
  readonly mean: number;
  /** Posterior variance of the latent function (without observation noise), target units squared. */
  readonly variance: number;
  readonly sd: number;
}

const LOG_2PI = Math.log(2 * Math.PI);
// Jitter steps tried when the covariance is numerically not positive definite (relative to σ²).
const JITTERS = [0, 1e-10, 1e-8, 1e-6, 1e-4];

interface Factor {
  /** Lower Cholesky factor, row-major n×n. */
  readonly L: Float64Array;
  readonly alpha: Float64Array;
  readonly lml: number;
}

function covariance(
  X: readonly Float64Array[],
  kind: KernelName,
  h: Hyperparameters,
  extra: Float64Array,
  jitter: number,
): Matrix {
  const n = X.length;
  const K = new Matrix(n, n);
  for (let i = 0; i < n; i++) {
    K.set(i, i, h.signalVar + h.noiseVar + (extra[i] as number) + jitter);
    for (let j = 0; j < i; j++) {
      const v = h.signalVar * correlation(kind, scaledSqDist(X[i]!, X[j]!, h.lengthScales));
      K.set(i, j, v);
      K.set(j, i, v);
    }
  }
  return K;
}

/** Solves L z = b for lower-triangular row-major L (forward substitution). */
function forward(L: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i] as number;
    const row = i * n;
    for (let k = 0; k < i; k++) s -= (L[row + k] as number) * (z[k] as number);
    z[i] = s / (L[row + i] as number);
  }
  return z;
}

/** Solves Lᵀ x = z (back substitution on the transpose). */
function backward(L: Float64Array, n: number, z: Float64Array): Float64Array {
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i] as number;
    for (let k = i + 1; k < n; k++) s -= (L[k * n + i] as number) * (x[k] as number);
    x[i] = s / (L[i * n + i] as number);
  }
  return x;
}

/** Factorises K(θ) and evaluates the log marginal likelihood; null if no jitter makes K positive definite. */
function factor(
  X: readonly Float64Array[],
  y: Float64Array,
  kind: KernelName,
  h: Hyperparameters,
  extra: Float64Array,
): Factor | null {
  const n = X.length;
  for (const j of JITTERS) {
    const chol = new CholeskyDecomposition(covariance(X, kind, h, extra, j * h.signalVar));
    if (!chol.isPositiveDefinite()) continue;
    const Lm = chol.lowerTriangularMatrix;
    const L = new Float64Array(n * n);
    let logDet = 0;
    let ok = true;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k <= i; k++) L[i * n + k] = Lm.get(i, k);
      const d = L[i * n + i] as number;
      if (!(d > 0) || !Number.isFinite(d)) ok = false;
      logDet += 2 * Math.log(d);
    }
    if (!ok) continue;
    const alpha = backward(L, n, forward(L, n, y));
    let fit = 0;
    for (let i = 0; i < n; i++) fit += (y[i] as number) * (alpha[i] as number);
    const lml = -0.5 * fit - 0.5 * logDet - 0.5 * n * LOG_2PI;
    if (!Number.isFinite(lml)) continue;
    return { L, alpha, lml };
  }
  return null;
}

// ---- hyperparameter search in log space: θ = [log ℓ_1..ℓ_d, log σ², log σn²] ----

function toTheta(h: Hyperparameters): number[] {
  return [...h.lengthScales.map(Math.log), Math.log(h.signalVar), Math.log(h.noiseVar)];
}

function fromTheta(t: readonly number[], d: number): Hyperparameters {
  return {
    lengthScales: t.slice(0, d).map(Math.exp),
    signalVar: Math.exp(t[d] as number),
    noiseVar: Math.exp(t[d + 1] as number),
  };
}

function thetaBounds(d: number, b: HyperBounds): [number, number][] {
  const ls: [number, number] = [Math.log(b.lengthScale[0]), Math.log(b.lengthScale[1])];
  return [
    ...Array.from({ length: d }, () => ls),
    [Math.log(b.signalVar[0]), Math.log(b.signalVar[1])],
    [Math.log(b.noiseVar[0]), Math.log(b.noiseVar[1])],
  ];
}

const clampTo = (x: number, [lo, hi]: readonly [number, number]) => Math.min(hi, Math.max(lo, x));

/** d(correlation)/d(r²): RBF -½e^(-r²/2); Matérn 5/2 -(5/6)(1 + √5 r) e^(-√5 r). */
function dCorrelation(kind: KernelName, r2: number): number {
  if (kind === 'rbf') return -0.5 * Math.exp(-0.5 * r2);
  const r = Math.sqrt(r2);
  return -(5 / 6) * (1 + Math.sqrt(5) * r) * Math.exp(-Math.sqrt(5) * r);
}

/**
 * Log marginal likelihood and its gradient in θ:
 * ∂L/∂θ_j = ½ tr((ααᵀ - K⁻¹) ∂K/∂θ_j), with ∂K/∂log σ² = K_f, ∂K/∂log σn² = σn² I and
 * ∂K_ik/∂log ℓ_m = σ² c'(r²) · (-2 (x_im - x_km)² / ℓ_m²).
 */
export function lmlWithGradient(
  X: readonly Float64Array[],
  y: Float64Array,
  kind: KernelName,
  theta: readonly number[],
  extra: Float64Array,
): { value: number; grad: number[] } | null {
  const d = X[0]!.length;
  const n = X.length;
  const h = fromTheta(theta, d);
  const f = factor(X, y, kind, h, extra);
  if (f === null) return null;
  // K⁻¹ = L⁻ᵀ L⁻¹, from the inverse of the triangular factor.
  const Li = new Float64Array(n * n);
  for (let c = 0; c < n; c++) {
    const e = new Float64Array(n);
    e[c] = 1;
    const z = forward(f.L, n, e);
    for (let r = 0; r < n; r++) Li[r * n + c] = z[r] as number;
  }
  const W = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k <= i; k++) {
      let s = 0;
      for (let r = i; r < n; r++) s += (Li[r * n + i] as number) * (Li[r * n + k] as number);
      const w = (f.alpha[i] as number) * (f.alpha[k] as number) - s;
      W[i * n + k] = w;
      W[k * n + i] = w;
    }
  }
  const grad = new Array<number>(d + 2).fill(0);
  let trW = 0;
  for (let i = 0; i < n; i++) {
    trW += W[i * n + i] as number;
    // Diagonal of K_f is σ² (r² = 0); its length-scale derivative is 0.
    grad[d] = (grad[d] as number) + 0.5 * (W[i * n + i] as number) * h.signalVar;
    const xi = X[i]!;
    for (let k = 0; k < i; k++) {
      const xk = X[k]!;
      const r2 = scaledSqDist(xi, xk, h.lengthScales);
      const w = W[i * n + k] as number;
      // Off-diagonal terms appear twice in the trace (W and ∂K are symmetric): ½ · 2 = 1.
      grad[d] = (grad[d] as number) + w * h.signalVar * correlation(kind, r2);
      const dc = h.signalVar * dCorrelation(kind, r2);
      for (let m = 0; m < d; m++) {
        const l = h.lengthScales[m] as number;
        const diff = ((xi[m] as number) - (xk[m] as number)) / l;
        grad[m] = (grad[m] as number) + w * dc * -2 * diff * diff;
      }
    }
  }
  grad[d + 1] = 0.5 * h.noiseVar * trW;
  return { value: f.lml, grad };
}

// Resilient propagation (iRprop-, Igel & Hüsken 2000) on the gradient sign: each coordinate keeps its
// own step, growing while the sign holds and halving when it flips. Needs no line search and copes
// with the very different curvature of length-scales and noise. Steps are in natural-log units.
const RPROP_STEP0 = 0.3;
const RPROP_STEP_MAX = 2;
const RPROP_STEP_MIN = 1e-3;
const RPROP_UP = 1.2;
const RPROP_DOWN = 0.5;
// Stop a climb once the likelihood has not risen by 1e-4 (nats) for this many steps.
const RPROP_PATIENCE = 8;
const RPROP_MIN_GAIN = 1e-4;
// Isotropic grid the starts are picked from: short/medium/long length-scales × little/some/much noise.
const GRID_LENGTH = [0.12, 0.35, 1.2];
const GRID_NOISE = [1e-5, 1e-3, 0.05];

function ascend(
  f: (t: readonly number[]) => { value: number; grad: number[] } | null,
  start: readonly number[],
  bounds: readonly [number, number][],
  maxIter: number,
): { theta: number[]; value: number } {
  const x = start.map((v, i) => clampTo(v, bounds[i]!));
  const steps = x.map(() => RPROP_STEP0);
  const lastSign = x.map(() => 0);
  let best = { theta: x.slice(), value: Number.NEGATIVE_INFINITY };
  let lastGainAt = 0;
  for (let it = 0; it < maxIter && it - lastGainAt <= RPROP_PATIENCE; it++) {
    const r = f(x);
    if (r === null) break;
    if (r.value > best.value + RPROP_MIN_GAIN) lastGainAt = it;
    if (r.value > best.value) best = { theta: x.slice(), value: r.value };
    let moving = false;
    for (let j = 0; j < x.length; j++) {
      const g = r.grad[j] as number;
      const s = g > 0 ? 1 : g < 0 ? -1 : 0;
      if (s * (lastSign[j] as number) > 0)
        steps[j] = Math.min(RPROP_STEP_MAX, (steps[j] as number) * RPROP_UP);
      else if (s * (lastSign[j] as number) < 0) {
        steps[j] = Math.max(RPROP_STEP_MIN, (steps[j] as number) * RPROP_DOWN);
        lastSign[j] = 0;
        continue;
      }
      lastSign[j] = s;
      const v = clampTo((x[j] as number) + s * (steps[j] as number), bounds[j]!);
      if (v !== x[j]) {
        x[j] = v;
        if ((steps[j] as number) > RPROP_STEP_MIN * 2) moving = true;
      }
    }
    if (!moving) break;
  }
  return best;
}

function randomTheta(rng: ResumableRng, bounds: readonly [number, number][]): number[] {
  return bounds.map(([lo, hi]) => lo + rng.next() * (hi - lo));
}

function checkInputs(X: readonly (readonly number[])[], y: readonly number[]): number {
  if (X.length === 0) throw new RangeError('a Gaussian process needs at least one observation');
  if (X.length !== y.length) throw new RangeError(`${X.length} points but ${y.length} observations`);
  const d = X[0]!.length;
  if (d === 0) throw new RangeError('points must have at least one dimension');
  for (const [i, x] of X.entries()) {
    if (x.length !== d) throw new RangeError(`point ${i} has ${x.length} dimensions, expected ${d}`);
    if (!x.every(Number.isFinite)) throw new RangeError(`point ${i} has a non-finite coordinate`);
  }
  for (const [i, v] of y.entries())
    if (!Number.isFinite(v)) throw new RangeError(`observation ${i} is not finite (${v})`);
  return d;
}

export class GaussianProcess {
  readonly dim: number;
  readonly kernel: KernelName;
  readonly hyper: Hyperparameters;
  /** Log marginal likelihood of the standardised targets under `hyper`. */
  readonly logMarginalLikelihood: number;
  /** Mean and standard deviation used to standardise the targets. */
  readonly yMean: number;
  readonly yStd: number;
  private readonly X: Float64Array[];
  private readonly L: Float64Array;
  private readonly alpha: Float64Array;

  private constructor(
    X: Float64Array[],
    kind: KernelName,
    hyper: Hyperparameters,
    f: Factor,
    yMean: number,
    yStd: number,
  ) {
    this.X = X;
    this.dim = X[0]!.length;
    this.kernel = kind;
    this.hyper = hyper;
    this.L = f.L;
    this.alpha = f.alpha;
    this.logMarginalLikelihood = f.lml;
    this.yMean = yMean;
    this.yStd = yStd;
  }

  get size(): number {
    return this.X.length;
  }

  /** Fits a GP to (X, y); X in the unit box (any box works, the bounds assume the unit box). */
  static fit(X: readonly (readonly number[])[], y: readonly number[], opts: GpOptions = {}): GaussianProcess {
    const d = checkInputs(X, y);
    const kind = opts.kernel ?? 'matern52';
    const n = y.length;
    const yMean = y.reduce((a, b) => a + b, 0) / n;
    const var0 = n > 1 ? y.reduce((a, b) => a + (b - yMean) ** 2, 0) / (n - 1) : 0;
    const yStd = var0 > 1e-24 ? Math.sqrt(var0) : 1;
    const ys = Float64Array.from(y, (v) => (v - yMean) / yStd);
    const Xs = X.map((x) => Float64Array.from(x));
    const extra = Float64Array.from({ length: n }, (_, i) => {
      const e = opts.extraNoise?.[i] ?? 0;
      if (!(e >= 0) || !Number.isFinite(e)) throw new RangeError(`extraNoise[${i}] must be >= 0, got ${e}`);
      return e / (yStd * yStd);
    });

    let hyper = opts.hyper;
    if (hyper === undefined) hyper = fitHyper(Xs, ys, kind, extra, d, opts.fit ?? {});
    if (hyper.lengthScales.length !== d)
      throw new RangeError(`${hyper.lengthScales.length} length-scales for ${d} dimensions`);
    const f = factor(Xs, ys, kind, hyper, extra);
    if (f === null) throw new RangeError('covariance matrix is not positive definite even with jitter');
    return new GaussianProcess(Xs, kind, hyper, f, yMean, yStd);
  }

  /** Posterior of the latent function at x (target units). */
  predict(x: readonly number[]): Prediction {
    if (x.length !== this.dim) throw new RangeError(`point has ${x.length} dimensions, expected ${this.dim}`);
    const n = this.X.length;
    const h = this.hyper;
    const ks = new Float64Array(n);
    let m = 0;
    for (let i = 0; i < n; i++) {
      const k = h.signalVar * correlation(this.kernel, scaledSqDist(x, this.X[i]!, h.lengthScales));
      ks[i] = k;
      m += k * (this.alpha[i] as number);
    }
    const v = forward(this.L, n, ks);
    let vv = 0;
    for (let i = 0; i < n; i++) vv += (v[i] as number) ** 2;
    const varStd = Math.max(0, h.signalVar - vv);
    const variance = varStd * this.yStd * this.yStd;
    return { mean: this.yMean + this.yStd * m, variance, sd: Math.sqrt(variance) };
  }
}

function fitHyper(
  X: readonly Float64Array[],
  y: Float64Array,
  kind: KernelName,
  extra: Float64Array,
  d: number,
  o: FitOptions,
): Hyperparameters {
  const bounds = thetaBounds(d, o.bounds ?? DEFAULT_HYPER_BOUNDS);
  const rng = createRng(o.seed ?? 1);
  const lml = (t: readonly number[]) =>
    factor(X, y, kind, fromTheta(t, d), extra)?.lml ?? Number.NEGATIVE_INFINITY;
  const withGrad = (t: readonly number[]) => lmlWithGradient(X, y, kind, t, extra);
  const maxIter = o.maxIterPerStart ?? 80;

  // Grid: every isotropic combination, scored as is; the best two are climbed from.
  const grid: { theta: number[]; value: number }[] = [];
  for (const l of GRID_LENGTH) {
    for (const nv of GRID_NOISE) {
      const t = toTheta({ lengthScales: Array(d).fill(l), signalVar: 1, noiseVar: nv }).map((v, i) =>
        clampTo(v, bounds[i]!),
      );
      grid.push({ theta: t, value: lml(t) });
    }
  }
  grid.sort((a, b) => b.value - a.value);
  const starts = grid.slice(0, o.gridStarts ?? 2).map((g) => g.theta);
  if (o.initial && o.initial.lengthScales.length === d) starts.unshift(toTheta(o.initial));
  for (let r = 0; r < (o.restarts ?? 2); r++) starts.push(randomTheta(rng, bounds));

  let best = { theta: grid[0]!.theta, value: grid[0]!.value };
  for (const s of starts) {
    const r = ascend(withGrad, s, bounds, maxIter);
    if (r.value > best.value) best = r;
  }
  return fromTheta(best.theta, d);
}
