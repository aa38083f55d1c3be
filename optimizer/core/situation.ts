// What every corrective rule (rules.ts, level.ts) reads a snapshot through: the parameters it may
// still move, their steps, and the score it loses per component.
import type { ParameterConstraint, StationScore } from '../../contracts/generated.ts';
import { effectiveBounds } from './bounds.ts';
import type { RuleContext } from './rules.ts';
import { componentLoss } from './scorecard.ts';

// Clipping: act from 0.01% of samples (the clipping and level rules share it).
export const CLIP_ACT_RATIO = 1e-4;

/** Weighted score loss of the named components. */
export function loss(score: StationScore, ...names: string[]): number {
  let l = 0;
  for (const c of score.components) if (names.includes(c.name)) l += componentLoss(c);
  return l;
}

export class Situation {
  constructor(readonly context: RuleContext) {}
  get audio() {
    return this.context.snapshot.metrics.audio;
  }
  get constraints(): readonly ParameterConstraint[] {
    return this.context.snapshot.constraints;
  }
  /** The parameter exists at this station and is not frozen. */
  has(name: string): boolean {
    const spec = this.context.specs.get(name);
    return spec !== undefined && !effectiveBounds(spec, this.constraints).frozen;
  }
  /** The parameter can still move in this direction (not frozen, not at its bound). */
  room(name: string, direction: 1 | -1): boolean {
    const spec = this.context.specs.get(name);
    if (!spec) return false;
    const b = effectiveBounds(spec, this.constraints);
    const v = this.value(name);
    return !b.frozen && (direction > 0 ? v < b.hi - 1e-9 : v > b.lo + 1e-9);
  }
  value(name: string): number {
    return this.context.params[name] ?? this.context.specs.get(name)?.default ?? Number.NaN;
  }
  step(name: string): number {
    return this.context.specs.get(name)?.max_step ?? 0;
  }
}
