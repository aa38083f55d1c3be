// Bayesian optimisation (maximisation) over a box: a Latin-hypercube start, then each next point is
// the expected-improvement maximiser of a Gaussian process fitted to everything observed so far.
// Ask/tell, so the caller owns the evaluation (async, batched, cancellable); `maximize` is the plain
// loop for a synchronous function. An optional constraint c(x) >= 0, observed with each evaluation,
// gets its own GP, and suggestions maximise constrained EI (acquisition.ts). Inputs are scaled to the unit box of `bounds` (for a station: the
// catalog [min, max] of each parameter), so one set of hyperparameter bounds fits every parameter.
import { createRng, type ResumableRng } from '../core/random.ts';
import { type AcquisitionResult, maximizeEi } from './acquisition.ts';
import { type FitOptions, GaussianProcess, type Hyperparameters } from './gp.ts';
import type { KernelName } from './kernel.ts';

export interface Dimension {
  readonly lo: number;
  readonly hi: number;
}

export interface BayesOptOptions {
  readonly bounds: readonly Dimension[];
  readonly kernel?: KernelName;
  readonly seed?: number;
  /** Latin-hypercube points suggested before the model takes over (default dimensions + 1, at least 3). */
  readonly initialDesign?: number;
  /** EI exploration margin in target standard deviations (default 0: pure expected improvement). */
  readonly xi?: number;
  /** Rounds a point (units of `bounds`) to what will really be evaluated, e.g. each parameter's grid. */
  readonly snap?: (x: number[]) => number[];
}

export interface Suggestion {
  /** The point, in the units of `bounds`. */
  readonly x: number[];
  /** How it was chosen. */
  readonly by: 'design' | 'ei';
  /** Model's view of the point when chosen by EI (target units). */
  readonly ei: number | null;
  readonly mean: number | null;
  readonly sd: number | null;
}

export interface Incumbent {
  readonly x: number[];
  /** Observed value. */
  readonly y: number;
  /** Posterior mean and sd at the point (equal to y and 0 before a model exists). */
  readonly mean: number;
  readonly sd: number;
}

const FULL_REFIT_EVERY = 4;

interface Obs {
  u: number[];
  x: number[];
  y: number;
  extraNoise: number;
  /** Constraint value (feasible when >= 0); undefined when not measured for this observation. */
  c: number | undefined;
}

/** n points of a Latin hypercube in [0, 1]^d: every dimension's n strata each hit once. */
export function latinHypercube(n: number, d: number, rng: ResumableRng): number[][] {
  const cols = Array.from({ length: d }, () => {
    const perm = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [perm[i], perm[j]] = [perm[j]!, perm[i]!];
    }
    return perm.map((k) => (k + rng.next()) / n);
  });
  return Array.from({ length: n }, (_, i) => cols.map((c) => c[i]!));
}

export class BayesianOptimizer {
  readonly dim: number;
  private readonly bounds: readonly Dimension[];
  private readonly kernel: KernelName;
  private readonly rng: ResumableRng;
  private readonly xi: number;
  private readonly snapX: ((x: number[]) => number[]) | undefined;
  private readonly design: number[][];
  private readonly obs: Obs[] = [];
  private gp: GaussianProcess | null = null;
  private cgp: GaussianProcess | null = null;
  private stale = true;
  private lastHyper: Hyperparameters | undefined;
  private suggestions = 0;
  private fits = 0;

  constructor(opts: BayesOptOptions) {
    if (opts.bounds.length === 0) throw new RangeError('at least one dimension is needed');
    for (const [i, b] of opts.bounds.entries()) {
      if (!(Number.isFinite(b.lo) && Number.isFinite(b.hi) && b.hi > b.lo))
        throw new RangeError(`dimension ${i}: bounds [${b.lo}, ${b.hi}] are not an interval`);
    }
    this.bounds = opts.bounds;
    this.dim = opts.bounds.length;
    this.kernel = opts.kernel ?? 'matern52';
    this.rng = createRng(opts.seed ?? 1);
    this.xi = opts.xi ?? 0;
    this.snapX = opts.snap;
    const n = Math.max(0, Math.floor(opts.initialDesign ?? Math.max(3, this.dim + 1)));
    this.design = latinHypercube(n, this.dim, this.rng);
  }

  toUnit(x: readonly number[]): number[] {
    return x.map((v, i) => {
      const b = this.bounds[i]!;
      return Math.min(1, Math.max(0, (v - b.lo) / (b.hi - b.lo)));
    });
  }

  fromUnit(u: readonly number[]): number[] {
    return u.map((v, i) => {
      const b = this.bounds[i]!;
      return b.lo + v * (b.hi - b.lo);
    });
  }

  get observations(): number {
    return this.obs.length;
  }

  /**
   * Records f(x) = y. `extraNoise` (target units squared) marks an observation as less certain than
   * the model's shared noise, e.g. one carried over from another run.
   */
  observe(x: readonly number[], y: number, extraNoise = 0, constraint?: number): void {
    if (x.length !== this.dim) throw new RangeError(`point has ${x.length} dimensions, expected ${this.dim}`);
    if (!Number.isFinite(y)) throw new RangeError(`observation must be finite, got ${y}`);
    if (constraint !== undefined && !Number.isFinite(constraint))
      throw new RangeError(`constraint value must be finite, got ${constraint}`);
    this.obs.push({ u: this.toUnit(x), x: [...x], y, extraNoise, c: constraint });
    this.stale = true;
  }

  /** Whether an observation is known feasible (no constraint measured counts as feasible). */
  private feasible(o: Obs): boolean {
    return o.c === undefined || o.c >= 0;
  }

  /** The constraint's model, fitted to the observations that measured it (null if none did). */
  constraintModel(): GaussianProcess | null {
    const withC = this.obs.filter((o) => o.c !== undefined);
    if (withC.length === 0) return null;
    this.model();
    if (this.cgp === null || this.cgp.size !== withC.length) {
      this.cgp = GaussianProcess.fit(
        withC.map((o) => o.u),
        withC.map((o) => o.c as number),
        { kernel: this.kernel, fit: { seed: 104729 + withC.length, restarts: 1 } },
      );
    }
    return this.cgp;
  }

  /** The model fitted to everything observed (null before the first observation). */
  model(): GaussianProcess | null {
    if (this.obs.length === 0) return null;
    if (this.stale || this.gp === null) {
      this.gp = GaussianProcess.fit(
        this.obs.map((o) => o.u),
        this.obs.map((o) => o.y),
        {
          kernel: this.kernel,
          extraNoise: this.obs.map((o) => o.extraNoise),
          fit: this.fitOptions(),
        },
      );
      this.lastHyper = this.gp.hyper;
      this.stale = false;
    }
    return this.gp;
  }

  /**
   * A full search (grid starts, the last fit, a random restart) on every FULL_REFIT_EVERY-th fit;
   * in between only a short climb from the last fit, which one new point rarely moves far.
   */
  private fitOptions(): FitOptions {
    this.fits++;
    const seed = 7919 + this.obs.length;
    if (this.lastHyper === undefined || this.fits % FULL_REFIT_EVERY === 1)
      return { seed, restarts: 1, ...(this.lastHyper ? { initial: this.lastHyper } : {}) };
    return { seed, restarts: 0, initial: this.lastHyper, gridStarts: 0, maxIterPerStart: 30 };
  }

  /** Posterior at x (units of `bounds`); null before the first observation. */
  predict(x: readonly number[]): { mean: number; sd: number } | null {
    const gp = this.model();
    if (!gp) return null;
    const p = gp.predict(this.toUnit(x));
    return { mean: p.mean, sd: p.sd };
  }

  /**
   * The feasible observed point with the best posterior mean (robust to noise), or the best y before
   * a model; null when nothing feasible has been observed.
   */
  incumbent(): Incumbent | null {
    if (this.obs.length === 0) return null;
    const gp = this.obs.length >= 2 ? this.model() : null;
    let best: Incumbent | null = null;
    for (const o of this.obs) {
      if (!this.feasible(o)) continue;
      const p = gp ? gp.predict(o.u) : { mean: o.y, sd: 0 };
      if (best === null || p.mean > best.mean) best = { x: o.x, y: o.y, mean: p.mean, sd: p.sd };
    }
    return best;
  }

  /** The next point to evaluate. */
  suggest(): Suggestion {
    const k = this.suggestions++;
    if (k < this.design.length || this.obs.length < 2) {
      const u = this.design[k] ?? Array.from({ length: this.dim }, () => this.rng.next());
      return { x: this.fromUnit(u), by: 'design', ei: null, mean: null, sd: null };
    }
    const gp = this.model()!;
    const inc = this.incumbent();
    const constraint = this.constraintModel();
    const ranked = this.obs
      .filter((o) => this.feasible(o))
      .map((o) => ({ o, m: gp.predict(o.u).mean }))
      .sort((a, b) => b.m - a.m)
      .slice(0, 3)
      .map((r) => r.o.u);
    const r: AcquisitionResult = maximizeEi(gp, inc?.mean ?? null, {
      xi: this.xi,
      seed: Math.floor(this.rng.next() * 2 ** 31),
      anchors: ranked,
      avoid: this.obs.map((o) => o.u),
      ...(constraint ? { constraint } : {}),
      ...(this.snapX ? { snap: (u: number[]) => this.toUnit(this.snapX!(this.fromUnit(u))) } : {}),
    });
    return { x: this.fromUnit(r.x), by: 'ei', ei: r.ei, mean: r.mean, sd: r.sd };
  }
}

export interface MaximizeResult {
  readonly best: { x: number[]; y: number };
  readonly evaluations: number;
  /** Every evaluation in order, with the best value seen up to and including it. */
  readonly trace: { x: number[]; y: number; bestSoFar: number }[];
}

/** Maximises f over the box with `budget` evaluations (the Latin-hypercube start included). */
export function maximize(
  f: (x: number[]) => number,
  opts: BayesOptOptions & { budget: number; stopAt?: (best: number) => boolean },
): MaximizeResult {
  const bo = new BayesianOptimizer(opts);
  const trace: MaximizeResult['trace'] = [];
  let best = { x: [] as number[], y: Number.NEGATIVE_INFINITY };
  for (let i = 0; i < opts.budget; i++) {
    const { x } = bo.suggest();
    const y = f(x);
    bo.observe(x, y);
    if (y > best.y) best = { x, y };
    trace.push({ x, y, bestSoFar: best.y });
    if (opts.stopAt?.(best.y)) break;
  }
  return { best, evaluations: trace.length, trace };
}
