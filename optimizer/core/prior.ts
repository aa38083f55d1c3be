// Batch knowledge served online (issue 10, item 5): the region the batch optimizer found best for a
// tenant and station — a centre and, per parameter, a radius — given to the controller of each new
// call. The controller heads for the centre first (full safe steps on the hot parameters furthest
// outside the region, judged like any change, so a centre that does not suit this call is rolled
// back and not tried again), and explores within the radius instead of half a max step.
import type { ParameterSpec } from '../../catalog/index.ts';
import type { StationSnapshot } from '../../contracts/generated.ts';
import { effectiveBounds, safeValue } from './bounds.ts';
import { type Chosen, isTabu, MAX_CHANGES_PER_STEP } from './moves.ts';
import type { ControllerState } from './state.ts';

export interface LearnedRegion {
  /** Version of the learned record (storage/learnedRegions.ts); quoted in the reasons. */
  readonly version: number;
  readonly params: Readonly<Record<string, number>>;
  /** Per parameter, how far from the centre still counts as inside the region. */
  readonly radius: Readonly<Record<string, number>>;
}

/** Moves toward the region's centre for the hot parameters outside it, furthest (in radii) first. */
export function priorMoves(
  prior: LearnedRegion,
  st: ControllerState,
  specs: readonly ParameterSpec[],
  params: Readonly<Record<string, number>>,
  snapshot: StationSnapshot,
): Chosen[] {
  const out: { chosen: Chosen; far: number }[] = [];
  for (const spec of specs) {
    const centre = prior.params[spec.name];
    const old = params[spec.name];
    if (!spec.hot || centre === undefined || old === undefined) continue;
    if (effectiveBounds(spec, snapshot.constraints).frozen) continue;
    const radius = Math.max(prior.radius[spec.name] ?? 0, 1e-9);
    const far = Math.abs(centre - old) / radius;
    if (far <= 1 || isTabu(st, spec.name, centre - old)) continue;
    const nv = safeValue(spec, old, centre, snapshot.constraints);
    if (nv === null || Math.abs(nv - old) < 1e-9) continue;
    const reason = `the batch optimizer's learned region (v${prior.version}) for this tenant puts ${spec.name} at ${centre}: heading there`;
    out.push({ chosen: { change: { name: spec.name, old, new: nv }, reason, hot: true }, far });
  }
  return out
    .sort((a, b) => b.far - a.far)
    .slice(0, MAX_CHANGES_PER_STEP)
    .map((x) => x.chosen);
}
