// What the judged steps of a call taught the controller, per parameter (issue 10, point 4): a small
// local model over the hot parameters, seeded by the rules' own changes. Each judged change updates
// the changed parameter's trust radius (its step, as a share of max_step) and, when it changed
// alone, its slope (points gained per max step, and in which direction):
//   improved   -> the radius doubles (up to one max step) and the direction is remembered, so once
//                 the rules have nothing left to say the controller continues where it gained
//                 (a "model step", judged like any change and taken back when it gains nothing);
//   neutral    -> the radius holds, the direction is forgotten;
//   regressed  -> the radius halves (down to an eighth of a max step), the direction is forgotten.
// Exploration steps are sized by the radius, so a call whose surface is flat or rough explores in
// small steps and one that keeps rewarding a direction moves fast. Pure.
import type { ParameterSpec } from '../../catalog/index.ts';
import type { StationSnapshot } from '../../contracts/generated.ts';
import { effectiveBounds, safeValue } from './bounds.ts';
import { fmt } from './curves.ts';
import type { VerdictKind } from './judge.ts';
import { againstWish, type Chosen, EXPLORE_STEP_SHARE, isTabu, levelSettled, probed } from './moves.ts';
import type { ControllerState, ParamChange, StepLesson } from './state.ts';

/** A parameter's radius before any step of it was judged: the exploratory half step. */
export const RADIUS_START = EXPLORE_STEP_SHARE;
export const RADIUS_MIN = 0.125;
export const RADIUS_MAX = 1;
/** A model step is only worth taking when the last one gained at least this (points per max step). */
export const MODEL_MIN_SLOPE = 1;

/**
 * The lessons after a judged change: `gain` is the judged score change (after - before). A change of
 * several parameters at once updates each one's radius, but teaches no slope (which one earned it?).
 */
export function learnFrom(
  lessons: Readonly<Record<string, StepLesson>> | undefined,
  changes: readonly ParamChange[],
  specs: ReadonlyMap<string, ParameterSpec>,
  kind: VerdictKind,
  gain: number,
): Record<string, StepLesson> {
  const out: Record<string, StepLesson> = { ...(lessons ?? {}) };
  for (const c of changes) {
    const spec = specs.get(c.name);
    if (!spec?.hot || spec.max_step <= 0 || c.new === c.old) continue;
    const units = Math.abs(c.new - c.old) / spec.max_step;
    const prev = out[c.name]?.radius ?? RADIUS_START;
    // The rest of the lesson (the last kept step, moves.ts kept) outlives a verdict.
    const was = out[c.name];
    const clampR = (r: number) => Math.min(RADIUS_MAX, Math.max(RADIUS_MIN, r));
    if (kind === 'improved') {
      const alone = changes.length === 1;
      out[c.name] = {
        ...was,
        radius: clampR(2 * Math.max(units, prev / 2)),
        direction: alone ? (c.new > c.old ? 1 : -1) : 0,
        slope: alone ? gain / units : 0,
      };
    } else if (kind === 'neutral') {
      out[c.name] = { ...was, radius: clampR(prev), direction: 0, slope: 0 };
    } else {
      out[c.name] = { ...was, radius: clampR(Math.min(prev, units) / 2), direction: 0, slope: 0 };
    }
  }
  return out;
}

/**
 * The model step: the hot parameter whose last step gained the most per max step, one radius further
 * the same way. Null when no lesson points anywhere (or every such move is unsafe or tabu).
 */
export function modelMove(
  st: ControllerState,
  specs: readonly ParameterSpec[],
  params: Readonly<Record<string, number>>,
  snapshot: StationSnapshot,
): Chosen | null {
  const ranked = specs
    .map((spec) => ({ spec, l: st.lessons?.[spec.name] }))
    .filter(
      (x): x is { spec: ParameterSpec; l: StepLesson } =>
        x.spec.hot &&
        probed(x.spec.name) &&
        x.l !== undefined &&
        x.l.direction !== 0 &&
        x.l.slope >= MODEL_MIN_SLOPE,
    )
    .sort((a, b) => b.l.slope * b.l.radius - a.l.slope * a.l.radius);
  for (const { spec, l } of ranked) {
    if (effectiveBounds(spec, snapshot.constraints).frozen || isTabu(st, spec.name, l.direction)) continue;
    // A level setter's gain was the level coming to its target: once there, a step further only leaves it.
    if (againstWish(st, spec.name, l.direction) || levelSettled(spec.name, snapshot)) continue;
    const old = params[spec.name] ?? spec.default;
    const step = l.radius * spec.max_step;
    const nv = safeValue(spec, old, old + l.direction * step, snapshot.constraints, step);
    if (nv === null || Math.abs(nv - old) < 1e-9) continue;
    const reason = `the last step on ${spec.name} gained ${fmt(l.slope, 1)} points per max step: one more step ${l.direction > 0 ? 'up' : 'down'} (${fmt(l.radius, 2)} of a max step)`;
    return { change: { name: spec.name, old, new: nv }, reason, hot: true };
  }
  return null;
}
