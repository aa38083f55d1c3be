// Expected improvement (Jones, Schonlau & Welch, "Efficient Global Optimization of Expensive
// Black-Box Functions", 1998) for maximisation, and its maximisation over the unit box.
//
// EI(x) = (μ - f* - ξ) Φ(z) + σ φ(z), z = (μ - f* - ξ) / σ, where f* is the incumbent (best posterior
// mean at an observed point, which is robust to noisy observations) and ξ a small exploration margin.
// EI is multimodal and flat far from data, so it is maximised by scoring many random points of the
// box plus perturbations of the best observed points, then polishing the best few with a bounded
// compass search. Pure and deterministic for a seed.
//
// With a constraint c(x) >= 0 modelled by a second GP, the acquisition is constrained EI (Gardner et
// al., "Bayesian Optimization with Inequality Constraints", ICML 2014): EI over the best feasible
// incumbent times the probability of feasibility Φ(μ_c / σ_c); before anything feasible is known it
// is the probability of feasibility alone.
import { errorFunction } from 'simple-statistics';
import { gaussian } from '../../audio/metrics/random.ts';
import { createRng } from '../core/random.ts';
import type { GaussianProcess } from './gp.ts';

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export function normalPdf(z: number): number {
  return INV_SQRT_2PI * Math.exp(-0.5 * z * z);
}

/** Standard normal CDF via erf (simple-statistics: Chebyshev fit, relative error < 1.2e-7). */
export function normalCdf(z: number): number {
  return 0.5 * (1 + errorFunction(z / Math.SQRT2));
}

/** Expected improvement over `best` of a normal posterior N(mean, sd²); maximisation. */
export function expectedImprovement(mean: number, sd: number, best: number, xi = 0): number {
  const gain = mean - best - xi;
  if (!(sd > 1e-12)) return Math.max(0, gain);
  const z = gain / sd;
  return Math.max(0, gain * normalCdf(z) + sd * normalPdf(z));
}

export interface AcquisitionOptions {
  /** Exploration margin ξ in units of the target's standard deviation (default 0: pure expected improvement). */
  readonly xi?: number;
  readonly seed?: number;
  /** Random points scored (default 256 × dimensions, at most 4096). */
  readonly samples?: number;
  /** Points (unit box) around which extra candidates are drawn: usually the best observed ones. */
  readonly anchors?: readonly (readonly number[])[];
  /** Points not to propose again (already evaluated). */
  readonly avoid?: readonly (readonly number[])[];
  /** Model of a constraint c(x) >= 0 (feasible); EI is weighted by the probability of feasibility. */
  readonly constraint?: GaussianProcess;
  /**
   * Maps a point to the one that would really be evaluated (e.g. parameters rounded to their grid),
   * so EI is judged where the evaluation happens and a point that rounds onto an evaluated one is
   * recognised as a duplicate.
   */
  readonly snap?: (x: number[]) => number[];
}

/** Probability that a constraint modelled as N(mean, sd²) is >= 0. */
export function probabilityFeasible(mean: number, sd: number): number {
  if (!(sd > 1e-12)) return mean >= 0 ? 1 : 0;
  return normalCdf(mean / sd);
}

export interface AcquisitionResult {
  readonly x: number[];
  /** The acquisition value: EI, times the probability of feasibility under a constraint. */
  readonly ei: number;
  readonly mean: number;
  readonly sd: number;
  /** Probability of feasibility (1 without a constraint). */
  readonly feasible: number;
}

// Candidates within this (max-norm) distance of an evaluated point are not proposed again: on the
// unit box it is below the resolution any catalog parameter is rounded to.
const DUPLICATE_DISTANCE = 1e-3;
const ANCHOR_SPREAD = [0.02, 0.08, 0.2];
const PER_ANCHOR = 24;
const POLISH_STARTS = 4;
const POLISH_STEP0 = 0.1;
const POLISH_STEP_MIN = 0.002;

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/**
 * Maximises EI over the unit box. `best` is the incumbent in target units (null: nothing feasible
 * observed yet, so only the probability of feasibility counts).
 */
export function maximizeEi(
  gp: GaussianProcess,
  best: number | null,
  opts: AcquisitionOptions = {},
): AcquisitionResult {
  const d = gp.dim;
  const rng = createRng(opts.seed ?? 1);
  const xi = (opts.xi ?? 0) * gp.yStd;
  const avoid = opts.avoid ?? [];
  const isDuplicate = (x: readonly number[]) =>
    avoid.some((a) => a.every((v, i) => Math.abs(v - (x[i] as number)) < DUPLICATE_DISTANCE));
  const snap = opts.snap ?? ((x: number[]) => x);
  const score = (raw: number[]): AcquisitionResult => {
    const x = snap(raw);
    const p = gp.predict(x);
    let feasible = 1;
    if (opts.constraint) {
      const c = opts.constraint.predict(x);
      feasible = probabilityFeasible(c.mean, c.sd);
    }
    const gain = best === null ? 1 : expectedImprovement(p.mean, p.sd, best, xi);
    const ei = isDuplicate(x) ? -1 : gain * feasible;
    return { x, ei, mean: p.mean, sd: p.sd, feasible };
  };

  const pool: AcquisitionResult[] = [];
  const samples = opts.samples ?? Math.min(4096, 256 * d);
  for (let s = 0; s < samples; s++) pool.push(score(Array.from({ length: d }, () => rng.next())));
  for (const a of opts.anchors ?? []) {
    for (const spread of ANCHOR_SPREAD) {
      for (let k = 0; k < PER_ANCHOR / ANCHOR_SPREAD.length; k++) {
        pool.push(score(a.map((v) => clamp01(v + spread * gaussian(rng.next)))));
      }
    }
  }
  pool.sort((p, q) => q.ei - p.ei || q.mean + q.sd - (p.mean + p.sd));

  let best1 = pool[0]!;
  for (const start of pool.slice(0, POLISH_STARTS)) {
    let cur = start;
    let step = POLISH_STEP0;
    while (step >= POLISH_STEP_MIN) {
      let gained = false;
      for (let i = 0; i < d; i++) {
        for (const dir of [1, -1]) {
          const x = cur.x.slice();
          x[i] = clamp01((x[i] as number) + dir * step);
          if (x[i] === cur.x[i]) continue;
          const c = score(x);
          if (c.ei > cur.ei) {
            cur = c;
            gained = true;
            break;
          }
        }
      }
      if (!gained) step /= 2;
    }
    if (cur.ei > best1.ei) best1 = cur;
  }
  // EI underflows to 0 everywhere once the model is sure nothing beats the incumbent; then the most
  // optimistic non-duplicate point (upper confidence bound) is the most useful evaluation left.
  if (!(best1.ei > 0)) {
    const open = pool.filter((p) => p.ei >= 0);
    const likely = open.filter((p) => p.feasible >= 0.5);
    const ucb = (likely.length ? likely : open).sort((p, q) => q.mean + 2 * q.sd - (p.mean + 2 * p.sd))[0];
    if (ucb) best1 = ucb;
  }
  return best1;
}
