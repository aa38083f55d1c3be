// Offline search for the best parameter set of a station under a black-box score (higher is better),
// e.g. counterfactual replay of stored PCM through the DSP chain. The demo uses it as the yardstick
// "the online controller got within 5% of the best score an offline search over the catalog finds".
//
// Method: compass (coordinate pattern) search — try ±step on each parameter, keep any gain, halve the
// steps when a full sweep gains nothing — from the start set, then from a few seeded random points
// inside the bounds (the score surface of a DSP chain is not convex: a gate or suppressor has
// plateaus and cliffs), and a final polish from the best point with what budget is left. Derivative
// free, deterministic for a seed, and it never evaluates outside [min, max]. A parameter with a list
// of `values` (a switch such as `rnnoise_enabled`: [0, 1]) is a choice, not a range: each sweep tries
// its other values (again only once the point has moved since), and only those values are evaluated.
import type { ParameterSpec } from '../../catalog/index.ts';
import { nearestChoice } from './bounds.ts';
import { clamp } from './curves.ts';
import { createRng } from './random.ts';

export interface SearchOptions {
  /** Starting set (default: catalog defaults); missing parameters take their default. */
  readonly start?: Readonly<Record<string, number>>;
  /** Maximum number of evaluations (default 300). */
  readonly budget?: number;
  /** PRNG seed for the restarts (default 1). */
  readonly seed?: number;
  /** Random restarts after the first descent (default 4). */
  readonly restarts?: number;
}

export interface SearchResult {
  readonly params: Record<string, number>;
  readonly score: number;
  readonly evaluations: number;
}

const DEFAULT_BUDGET = 300;
const DEFAULT_RESTARTS = 4;
// First step: a quarter of the range reaches any point in a few moves; stop below 0.1% of the range.
const INITIAL_STEP_SHARE = 0.25;
const MIN_STEP_SHARE = 1e-3;
// The first descent from the start set gets this share of the budget; restarts share most of the rest.
const FIRST_SHARE = 0.4;
const POLISH_SHARE = 0.15;

type Params = Record<string, number>;

class Evaluator {
  count = 0;
  best: { params: Params; score: number } | null = null;
  constructor(
    private readonly f: (p: Params) => number,
    readonly budget: number,
  ) {}
  get left(): number {
    return this.budget - this.count;
  }
  run(p: Params): number {
    this.count++;
    const raw = this.f({ ...p });
    const s = Number.isFinite(raw) ? raw : Number.NEGATIVE_INFINITY;
    if (this.best === null || s > this.best.score) this.best = { params: { ...p }, score: s };
    return s;
  }
}

/** The allowed value nearest `v` (a discrete parameter), else `v` within the bounds. */
export function snapToSpec(spec: ParameterSpec, v: number): number {
  return spec.values ? nearestChoice(spec.values, v) : clamp(v, spec.min, spec.max);
}

function descend(
  ev: Evaluator,
  specs: readonly ParameterSpec[],
  start: Params,
  limit: number,
  stepShare: number,
): void {
  const stopAt = Math.min(ev.budget, ev.count + limit);
  if (ev.count >= stopAt) return;
  const x = { ...start };
  let fx = ev.run(x);
  const steps = specs.map((p) => (p.max - p.min) * stepShare);
  const minSteps = specs.map((p) => (p.max - p.min) * MIN_STEP_SHARE);
  // A choice's other values give the same scores until the point moves: tried once per point.
  let choicesTried = false;
  while (ev.count < stopAt) {
    let gained = false;
    if (!choicesTried) {
      let moved = false;
      for (const spec of specs) {
        if (!spec.values || ev.count >= stopAt) continue;
        for (const v of spec.values) {
          if (ev.count >= stopAt) break;
          if (v === x[spec.name]) continue;
          const cand = { ...x, [spec.name]: v };
          const fc = ev.run(cand);
          if (fc > fx) {
            x[spec.name] = v;
            fx = fc;
            moved = true;
          }
        }
      }
      // After a switch the other choices are tried again at the new point, else not until it moves.
      choicesTried = !moved;
      gained = moved;
    }
    for (let i = 0; i < specs.length && ev.count < stopAt; i++) {
      const spec = specs[i]!;
      const step = steps[i]!;
      if (spec.values || step < minSteps[i]!) continue;
      for (const dir of [1, -1]) {
        if (ev.count >= stopAt) break;
        const cur = x[spec.name]!;
        const v = clamp(cur + dir * step, spec.min, spec.max);
        if (v === cur) continue;
        const cand = { ...x, [spec.name]: v };
        const fc = ev.run(cand);
        if (fc > fx) {
          x[spec.name] = v;
          fx = fc;
          gained = true;
          choicesTried = false;
          break;
        }
      }
    }
    if (!gained) {
      let any = false;
      for (let i = 0; i < steps.length; i++) {
        steps[i] = steps[i]! / 2;
        if (steps[i]! >= minSteps[i]!) any = true;
      }
      if (!any) return;
    }
  }
}

/**
 * Maximise `evaluate` over the box given by `specs`. Returns the best set seen, its score and the
 * number of evaluations used (never more than the budget). Same inputs and seed, same result.
 */
export function searchBest(
  evaluate: (params: Record<string, number>) => number,
  specs: readonly ParameterSpec[],
  opts: SearchOptions = {},
): SearchResult {
  const budget = Math.max(1, Math.floor(opts.budget ?? DEFAULT_BUDGET));
  const restarts = Math.max(0, Math.floor(opts.restarts ?? DEFAULT_RESTARTS));
  const rng = createRng(opts.seed ?? 1);
  const ev = new Evaluator(evaluate, budget);
  const start: Params = {};
  for (const p of specs) start[p.name] = snapToSpec(p, opts.start?.[p.name] ?? p.default);

  descend(ev, specs, start, Math.max(1, Math.floor(budget * FIRST_SHARE)), INITIAL_STEP_SHARE);
  const polishBudget = Math.floor(budget * POLISH_SHARE);
  for (let r = 0; r < restarts && ev.left > polishBudget; r++) {
    const point: Params = {};
    for (const p of specs) {
      point[p.name] = p.values
        ? p.values[Math.min(p.values.length - 1, Math.floor(rng.next() * p.values.length))]!
        : p.min + rng.next() * (p.max - p.min);
    }
    const share = Math.floor((ev.left - polishBudget) / (restarts - r));
    if (share < 2) break;
    descend(ev, specs, point, share, INITIAL_STEP_SHARE);
  }
  // Polish: a fine-step descent from the best point with everything that is left.
  if (ev.best !== null && ev.left > 0) descend(ev, specs, ev.best.params, ev.left, INITIAL_STEP_SHARE / 8);
  const best = ev.best ?? { params: start, score: Number.NEGATIVE_INFINITY };
  return { params: best.params, score: best.score, evaluations: ev.count };
}
