// The statistical design of an A/B experiment, pure: defaults, validation that names every bad field,
// and the planned looks. Looks are planned up front (at fixed sample sizes per arm) and each uses the
// first n observations of each arm in the order they were scored, so a verdict does not depend on
// when the evaluator happened to wake up, and repeated looks cannot be used to fish for significance.
import type { ErrorDetail } from '../../lib/errors.ts';

export interface GuardrailDesign {
  /** One-sided alpha of each guardrail look (treatment worse than control). Stricter than `alpha`. */
  alpha: number;
  /** Observations per arm at the first guardrail look. */
  min_sample_per_arm: number;
  /** Observations per arm between guardrail looks. */
  every: number;
  /** The guardrail fires only when the control mean is also at least this many points higher. */
  min_drop_points: number;
}

export interface ExperimentDesign {
  /** Share of calls assigned to the treatment, in (0, 1). */
  treatment_share: number;
  /** Observations per arm at the first main look. */
  min_sample_per_arm: number;
  /** Observations per arm at the last main look: no significant difference there = no verdict. */
  max_sample_per_arm: number;
  /** Main looks, evenly spaced from min to max sample; each is tested at alpha / looks (Bonferroni). */
  looks: number;
  /** Two-sided family-wise significance level of the main test. */
  alpha: number;
  /** A significant improvement smaller than this (score points) is not promoted. */
  min_effect_points: number;
  /** One observation = the mean score of this many of the call's segments after its enrollment. */
  segments_per_call: number;
  guardrail: GuardrailDesign;
}

export type DesignInput = Partial<Omit<ExperimentDesign, 'guardrail'>> & {
  guardrail?: Partial<GuardrailDesign>;
};

export const DEFAULT_DESIGN: Readonly<ExperimentDesign> = Object.freeze({
  treatment_share: 0.5,
  min_sample_per_arm: 20,
  // Twice the minimum unless given: a second chance for a smaller effect, with alpha split in two.
  max_sample_per_arm: 40,
  looks: 2,
  alpha: 0.05,
  min_effect_points: 0,
  // Two segments per call: one alone is noisy, and short calls must still count.
  segments_per_call: 2,
  guardrail: Object.freeze({
    // 1% one-sided per look: a clearly worse treatment is stopped after a handful of calls, while an
    // equal one is stopped by chance at most looks × 1% of the time.
    alpha: 0.01,
    min_sample_per_arm: 5,
    every: 5,
    min_drop_points: 1,
  }),
});

const MAX_SAMPLE = 100_000;

export type DesignResult = { ok: true; design: ExperimentDesign } | { ok: false; errors: ErrorDetail[] };

/** Fills defaults and checks every field; errors name the request field (e.g. `guardrail.alpha`). */
export function normalizeDesign(input: DesignInput = {}): DesignResult {
  const errors: ErrorDetail[] = [];
  const num = (
    field: string,
    v: unknown,
    lo: number,
    hi: number,
    opts: { int?: boolean; openLo?: boolean; openHi?: boolean } = {},
  ) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      errors.push({ field, reason: 'must be a finite number' });
      return;
    }
    if (opts.int && !Number.isInteger(v)) errors.push({ field, reason: `must be an integer, got ${v}` });
    const below = opts.openLo ? v <= lo : v < lo;
    const above = opts.openHi ? v >= hi : v > hi;
    if (below || above)
      errors.push({
        field,
        reason: `must be in ${opts.openLo ? '(' : '['}${lo}, ${hi}${opts.openHi ? ')' : ']'}, got ${v}`,
      });
  };
  const min = input.min_sample_per_arm ?? DEFAULT_DESIGN.min_sample_per_arm;
  const g = { ...DEFAULT_DESIGN.guardrail, ...(input.guardrail ?? {}) };
  const design: ExperimentDesign = {
    treatment_share: input.treatment_share ?? DEFAULT_DESIGN.treatment_share,
    min_sample_per_arm: min,
    max_sample_per_arm: input.max_sample_per_arm ?? 2 * min,
    looks: input.looks ?? (input.max_sample_per_arm === min ? 1 : DEFAULT_DESIGN.looks),
    alpha: input.alpha ?? DEFAULT_DESIGN.alpha,
    min_effect_points: input.min_effect_points ?? DEFAULT_DESIGN.min_effect_points,
    segments_per_call: input.segments_per_call ?? DEFAULT_DESIGN.segments_per_call,
    guardrail: g,
  };
  num('treatment_share', design.treatment_share, 0, 1, { openLo: true, openHi: true });
  // Welch's test needs two observations per arm; three is the least that estimates a spread at all.
  num('min_sample_per_arm', design.min_sample_per_arm, 3, MAX_SAMPLE, { int: true });
  num('max_sample_per_arm', design.max_sample_per_arm, 3, MAX_SAMPLE, { int: true });
  num('looks', design.looks, 1, 20, { int: true });
  num('alpha', design.alpha, 0, 0.5, { openLo: true });
  num('min_effect_points', design.min_effect_points, 0, 100);
  num('segments_per_call', design.segments_per_call, 1, 1000, { int: true });
  num('guardrail.alpha', g.alpha, 0, 0.5, { openLo: true });
  num('guardrail.min_sample_per_arm', g.min_sample_per_arm, 2, MAX_SAMPLE, { int: true });
  num('guardrail.every', g.every, 1, MAX_SAMPLE, { int: true });
  num('guardrail.min_drop_points', g.min_drop_points, 0, 100);
  if (errors.length === 0) {
    if (design.max_sample_per_arm < design.min_sample_per_arm)
      errors.push({
        field: 'max_sample_per_arm',
        reason: `must be at least min_sample_per_arm (${design.min_sample_per_arm}), got ${design.max_sample_per_arm}`,
      });
    else if (design.looks > design.max_sample_per_arm - design.min_sample_per_arm + 1)
      errors.push({
        field: 'looks',
        reason: `${design.looks} looks do not fit between ${design.min_sample_per_arm} and ${design.max_sample_per_arm} observations per arm`,
      });
    if (g.alpha > design.alpha)
      errors.push({
        field: 'guardrail.alpha',
        reason: `must not exceed alpha (${design.alpha}): the guardrail is the stricter test, got ${g.alpha}`,
      });
    if (g.min_sample_per_arm > design.max_sample_per_arm)
      errors.push({
        field: 'guardrail.min_sample_per_arm',
        reason: `must not exceed max_sample_per_arm (${design.max_sample_per_arm}), got ${g.min_sample_per_arm}`,
      });
  }
  return errors.length ? { ok: false, errors } : { ok: true, design };
}

export interface PlannedLook {
  kind: 'guardrail' | 'main';
  /** Observations per arm this look uses (the first n of each arm). */
  n: number;
  /** The significance level this one look is tested at. */
  alpha: number;
  alternative: 'two-sided' | 'less';
  /** 1-based index among the looks of its kind. */
  index: number;
}

/** Every look of the design, in the order they are taken (a guardrail look before a main look at the same n). */
export function plannedLooks(d: ExperimentDesign): PlannedLook[] {
  const out: PlannedLook[] = [];
  const mainN = new Set<number>();
  for (let k = 0; k < d.looks; k++) {
    const n =
      d.looks === 1
        ? d.max_sample_per_arm
        : d.min_sample_per_arm +
          Math.round(((d.max_sample_per_arm - d.min_sample_per_arm) * k) / (d.looks - 1));
    mainN.add(n);
  }
  const mains = [...mainN].sort((a, b) => a - b);
  for (const [i, n] of mains.entries())
    out.push({ kind: 'main', n, alpha: d.alpha / mains.length, alternative: 'two-sided', index: i + 1 });
  let i = 1;
  for (let n = d.guardrail.min_sample_per_arm; n <= d.max_sample_per_arm; n += d.guardrail.every) {
    out.push({ kind: 'guardrail', n, alpha: d.guardrail.alpha, alternative: 'less', index: i++ });
  }
  return out.sort((a, b) => a.n - b.n || (a.kind === b.kind ? 0 : a.kind === 'guardrail' ? -1 : 1));
}

/** Upper bound of the chance that the guardrail stops a treatment that is not worse (Bonferroni). */
export function guardrailFalseStopBound(d: ExperimentDesign): number {
  return Math.min(1, plannedLooks(d).filter((l) => l.kind === 'guardrail').length * d.guardrail.alpha);
}
