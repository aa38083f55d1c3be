// Batch knowledge served online (issue 10, item 5): the region the batch optimizer found best for a
// tenant and station — a centre and, per parameter, a radius — given to the controller of each new
// call. The controller heads for the centre first (a full safe step on every hot parameter outside
// the region at once, judged like any change, so a centre that does not suit this call is rolled
// back and not tried again), and explores within the radius instead of half a max step.
//
// Every hot parameter outside the region moves in the same step, not at most MAX_CHANGES_PER_STEP
// (moves.ts) of them: that limit is the controller's, so that a rule's verdict can be pinned on the
// one or two parameters it moved. The safety layer has no count limit; what it enforces per parameter
// (max step, bounds, cool-down) holds for each of these moves as for any other. Here the hypothesis
// judged is the region itself ("this tenant's calls do better over there"), so the verdict is pinned
// on all of its parameters together: a regression rolls every one of them back to the known-good set
// and makes each direction tabu (TABU_ITERATIONS, judge.ts), i.e. the region is given up as a whole.
// Two at a time, a region a few parameters away took one judged step per pair (the eval's gen-5
// profiles: up to 6 hot parameters outside it), each a segment of the call spent short of it.
import type { ParameterSpec } from '../../catalog/index.ts';
import type { StationSnapshot } from '../../contracts/generated.ts';
import { effectiveBounds, safeValue } from './bounds.ts';
import { type Chosen, isTabu } from './moves.ts';
import type { ControllerState } from './state.ts';

export interface LearnedRegion {
  /** Version of the learned record (storage/learnedRegions.ts); quoted in the reasons. */
  readonly version: number;
  readonly params: Readonly<Record<string, number>>;
  /** Per parameter, how far from the centre still counts as inside the region. */
  readonly radius: Readonly<Record<string, number>>;
}

/** A full safe step toward the region's centre on every hot parameter outside it, furthest (in radii) first. */
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
  return out.sort((a, b) => b.far - a.far).map((x) => x.chosen);
}

/**
 * The set a new call of the tenant starts on once the batch's proposal for the region has been promoted
 * as the tenant's config. An A/B experiment's treatment must be a change the safety layer accepts from
 * the defaults in effect (optimizer/ab/service.ts: bounds and max step), so one promotion moves each
 * parameter at most a max step toward the centre; the controller heads for the rest (priorMoves).
 */
export function regionStart(
  prior: LearnedRegion,
  specs: readonly ParameterSpec[],
  defaults: Readonly<Record<string, number>>,
): Record<string, number> {
  const out: Record<string, number> = { ...defaults };
  for (const spec of specs) {
    const centre = prior.params[spec.name];
    const old = defaults[spec.name];
    if (centre === undefined || old === undefined) continue;
    out[spec.name] = safeValue(spec, old, centre, []) ?? old;
  }
  return out;
}
