// Where a parameter may go from where it is: catalog bounds, the snapshot's narrower constraints,
// frozen parameters and the per-change max step (DESIGN §7). The controller never proposes a value this
// module refuses, so the safety layer downstream only ever rejects for reasons the core cannot see
// (cool-down, scope, TTL).

import type { ParameterSpec } from '../../catalog/index.ts';
import type { ParameterConstraint } from '../../contracts/generated.ts';

export interface Bounds {
  readonly lo: number;
  readonly hi: number;
  readonly frozen: boolean;
}

/** Catalog [min, max] narrowed by every constraint on the parameter; frozen if any constraint says so. */
export function effectiveBounds(spec: ParameterSpec, constraints: readonly ParameterConstraint[]): Bounds {
  let lo = spec.min;
  let hi = spec.max;
  let frozen = false;
  for (const c of constraints) {
    if (c.parameter !== spec.name) continue;
    if (c.frozen) frozen = true;
    if (c.min !== null && Number.isFinite(c.min)) lo = Math.max(lo, c.min);
    if (c.max !== null && Number.isFinite(c.max)) hi = Math.min(hi, c.max);
  }
  return { lo, hi, frozen };
}

/**
 * Resolution proposals are rounded to: finer than any audible difference, coarse enough that a
 * proposal reads cleanly in the audit trail ("12 -> 15", not "12 -> 14.99999").
 */
export function resolution(spec: ParameterSpec): number {
  switch (spec.unit) {
    case 'Hz':
    case 'ms':
      return 1;
    case 'ratio':
      return 0.01;
    default:
      return 0.1;
  }
}

const EPS = 1e-9;

function onGrid(x: number, res: number): number {
  return Math.round(x / res) * res;
}

/** Rounds away float noise (0.1 + 0.2) without moving a value off its intended grid point. */
function tidy(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

/**
 * The value to propose when the rule wants `desired`: clamped into the effective bounds, at most one
 * `max_step` (or `stepCap`, if smaller) from `old`, on the unit's grid. Null when the parameter is
 * frozen, the bounds are empty, `old` is so far outside them that one step cannot get back in, or the
 * move would round to nothing.
 */
/** The value of `values` nearest `v` (the lower one on a tie). */
export function nearestChoice(values: readonly number[], v: number): number {
  let best = values[0]!;
  for (const x of values) if (Math.abs(x - v) < Math.abs(best - v)) best = x;
  return best;
}

export function safeValue(
  spec: ParameterSpec,
  old: number,
  desired: number,
  constraints: readonly ParameterConstraint[],
  stepCap = spec.max_step,
): number | null {
  const b = effectiveBounds(spec, constraints);
  if (b.frozen || b.lo > b.hi || !Number.isFinite(old) || !Number.isFinite(desired)) return null;
  const step = Math.min(stepCap, spec.max_step);
  const lo = Math.max(b.lo, old - step);
  const hi = Math.min(b.hi, old + step);
  if (lo > hi + EPS) return null;
  const target = Math.min(hi, Math.max(lo, desired));
  if (spec.values) {
    // A choice (a switch): one of its values or nothing; a value between the choices does not exist.
    const c = nearestChoice(spec.values, target);
    return c > hi + EPS || c < lo - EPS || c === old ? null : c;
  }
  const res = resolution(spec);
  let q = onGrid(target, res);
  // Rounding may step just outside [lo, hi]; then take the grid point on the inside.
  if (q > hi + EPS) q -= res;
  if (q < lo - EPS) q += res;
  q = tidy(q);
  if (q > hi + EPS || q < lo - EPS) return null;
  if (Math.abs(q - old) < res / 2) return null;
  return q;
}
