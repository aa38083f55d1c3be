// The decision rule of an A/B experiment, pure: observations of both arms in, the looks taken so far
// and the verdict (if any) out. Re-running it on the same observations gives the same answer, so the
// evaluator can simply call it again on every tick.
//
// - Guardrail looks (one-sided Welch, H1: treatment < control, at guardrail.alpha each): the experiment
//   stops early when the treatment is significantly worse AND the control mean is at least
//   guardrail.min_drop_points higher. Verdict `guardrail_stop`: the treatment is rolled back.
// - Main looks (two-sided Welch at alpha / looks each, so the family-wise error is at most alpha):
//   significant and better by at least min_effect_points -> `promote`; significant and worse -> `worse`
//   (rolled back); still undecided at the last look (max sample) -> `no_verdict`, nothing changes.
import type { ExperimentDesign, PlannedLook } from './design.ts';
import { plannedLooks } from './design.ts';
import { type WelchResult, welchTest } from './stats.ts';

export type VerdictKind = 'promote' | 'worse' | 'guardrail_stop' | 'no_verdict';

export interface LookResult extends PlannedLook {
  result: WelchResult;
  /** This look ends the experiment. */
  decisive: boolean;
}

export interface ExperimentDecision {
  looks: LookResult[];
  verdict: { kind: VerdictKind; look: LookResult } | null;
  /** The next look and how many observations per arm it waits for (null once decided). */
  next: PlannedLook | null;
}

export function decideExperiment(
  d: ExperimentDesign,
  control: readonly number[],
  treatment: readonly number[],
): ExperimentDecision {
  const available = Math.min(control.length, treatment.length);
  const plan = plannedLooks(d);
  const lastMain = Math.max(...plan.filter((l) => l.kind === 'main').map((l) => l.n));
  const looks: LookResult[] = [];
  for (const look of plan) {
    if (look.n > available) return { looks, verdict: null, next: look };
    const result = welchTest(
      control.slice(0, look.n),
      treatment.slice(0, look.n),
      look.alternative,
      look.alpha,
    );
    const significant = result.p_value < look.alpha;
    let kind: VerdictKind | null = null;
    if (look.kind === 'guardrail') {
      if (significant && -result.difference >= d.guardrail.min_drop_points) kind = 'guardrail_stop';
    } else if (significant && result.difference < 0) {
      kind = 'worse';
    } else if (significant && result.difference >= d.min_effect_points) {
      kind = 'promote';
    } else if (look.n >= lastMain) {
      kind = 'no_verdict';
    }
    const lr: LookResult = { ...look, result, decisive: kind !== null };
    looks.push(lr);
    if (kind) return { looks, verdict: { kind, look: lr }, next: null };
  }
  // Unreachable: the last main look always decides.
  return { looks, verdict: null, next: null };
}
