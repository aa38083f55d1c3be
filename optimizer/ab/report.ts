// What an experiment records, pure: the verdict with its numbers (optimizer_runs.verdict), the look
// summaries (optimizer_runs.progress), and the plain-language analysis.
import type { Scorecard } from '../../contracts/generated.ts';
import type { ExperimentDecision, LookResult, VerdictKind } from './decide.ts';
import { type ExperimentDesign, guardrailFalseStopBound, type PlannedLook } from './design.ts';
import type { WelchResult } from './stats.ts';

export const TEST_NAME = "Welch's two-sample t-test (unequal variances, Welch-Satterthwaite df)";

/** What the verdict did to the configuration. */
export type VerdictAction =
  | { kind: 'promoted'; change_id: string; version: number | null }
  | { kind: 'not_promoted'; reasons: string[]; change_id: string | null }
  | {
      kind: 'rolled_back';
      calls: number;
      change_ids: string[];
      skipped: { call_id: string; reason: string }[];
    }
  | { kind: 'none' };

export interface LookSummary {
  kind: PlannedLook['kind'];
  index: number;
  n: number;
  alpha: number;
  alternative: PlannedLook['alternative'];
  control_mean: number;
  treatment_mean: number;
  difference: number;
  statistic: number;
  df: number;
  p_value: number;
  decisive: boolean;
}

export interface VerdictRecord {
  kind: VerdictKind | 'stopped';
  test: string;
  /** The look that decided (null for a manual stop). */
  look: Omit<PlannedLook, 'alpha'> | null;
  alternative: WelchResult['alternative'] | null;
  /** Family-wise alpha of the main test, and the level the deciding look was tested at. */
  alpha: number;
  alpha_per_look: number | null;
  control: WelchResult['control'] | null;
  treatment: WelchResult['treatment'] | null;
  difference: number | null;
  statistic: number | null;
  df: number | null;
  p_value: number | null;
  ci: WelchResult['ci'] | null;
  ci_level: number | null;
  effect_size: { cohens_d: number; hedges_g: number } | null;
  guardrail: { alpha: number; min_drop_points: number; false_stop_bound: number };
  looks: LookSummary[];
  action: VerdictAction;
  stopped_by?: string;
  stop_reason?: string;
}

export function summarizeLook(l: LookResult): LookSummary {
  return {
    kind: l.kind,
    index: l.index,
    n: l.n,
    alpha: l.alpha,
    alternative: l.alternative,
    control_mean: l.result.control.mean,
    treatment_mean: l.result.treatment.mean,
    difference: l.result.difference,
    statistic: l.result.statistic,
    df: l.result.df,
    p_value: l.result.p_value,
    decisive: l.decisive,
  };
}

function numbers(r: WelchResult | null) {
  return {
    alternative: r?.alternative ?? null,
    control: r?.control ?? null,
    treatment: r?.treatment ?? null,
    difference: r?.difference ?? null,
    statistic: r?.statistic ?? null,
    df: r?.df ?? null,
    p_value: r?.p_value ?? null,
    ci: r?.ci ?? null,
    ci_level: r?.ci_level ?? null,
    effect_size: r ? { cohens_d: r.cohens_d, hedges_g: r.hedges_g } : null,
  };
}

function guardrailInfo(d: ExperimentDesign) {
  return {
    alpha: d.guardrail.alpha,
    min_drop_points: d.guardrail.min_drop_points,
    false_stop_bound: guardrailFalseStopBound(d),
  };
}

export function verdictRecord(
  d: ExperimentDesign,
  decision: ExperimentDecision & { verdict: NonNullable<ExperimentDecision['verdict']> },
  action: VerdictAction,
): VerdictRecord {
  const { look } = decision.verdict;
  const { result, alpha, ...where } = look;
  delete (where as Partial<LookResult>).decisive;
  return {
    kind: decision.verdict.kind,
    test: TEST_NAME,
    look: { kind: where.kind, n: where.n, alternative: where.alternative, index: where.index },
    alpha: d.alpha,
    alpha_per_look: alpha,
    ...numbers(result),
    guardrail: guardrailInfo(d),
    looks: decision.looks.map(summarizeLook),
    action,
  };
}

/** The record of a manual stop: the numbers so far (two-sided at the design's alpha), if there are any. */
export function stopRecord(
  d: ExperimentDesign,
  looks: LookResult[],
  sofar: WelchResult | null,
  action: VerdictAction,
  by: string,
  reason: string,
): VerdictRecord {
  return {
    kind: 'stopped',
    test: TEST_NAME,
    look: null,
    alpha: d.alpha,
    alpha_per_look: null,
    ...numbers(sofar),
    guardrail: guardrailInfo(d),
    looks: looks.map(summarizeLook),
    action,
    stopped_by: by,
    stop_reason: reason,
  };
}

const f = (x: number | null | undefined, digits = 1) =>
  x === null || x === undefined || !Number.isFinite(x) ? String(x) : x.toFixed(digits);
const p = (x: number) => (x < 1e-4 ? x.toExponential(1) : x.toFixed(4));

/** The components whose scores differ most between the arms: what the treatment changed. */
export function componentShifts(control: Scorecard, treatment: Scorecard, top = 3) {
  const comps = (s: Scorecard) => new Map((s.stations[0]?.components ?? []).map((c) => [c.name, c]));
  const c = comps(control);
  const t = comps(treatment);
  return [...t.entries()]
    .filter(([name]) => c.has(name))
    .map(([name, tc]) => ({
      name,
      control: c.get(name)!.score,
      treatment: tc.score,
      delta: tc.score - c.get(name)!.score,
      detail: tc.detail,
    }))
    .sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta))
    .slice(0, top);
}

export function analysisText(
  treatment: Record<string, number>,
  v: VerdictRecord,
  scope: string,
  shifts: ReturnType<typeof componentShifts>,
): string {
  const what = Object.entries(treatment)
    .map(([k, x]) => `${k} = ${x}`)
    .join(', ');
  const nums =
    v.control && v.treatment
      ? `mean score ${f(v.treatment.mean, 2)} (sd ${f(v.treatment.sd, 2)}, n ${v.treatment.n}) for the treatment against ${f(v.control.mean, 2)} (sd ${f(v.control.sd, 2)}, n ${v.control.n}) for the control, a difference of ${f(v.difference, 2)} points; Welch t = ${f(v.statistic, 2)}, df = ${f(v.df, 1)}, ${v.alternative} p = ${p(v.p_value ?? 1)}${v.alpha_per_look !== null ? ` against ${p(v.alpha_per_look)}` : ''}; Hedges' g = ${f(v.effect_size?.hedges_g, 2)}`
      : 'too few scored calls for a test';
  const moved = shifts.length
    ? ` Components that moved most: ${shifts.map((s) => `${s.name} ${f(s.control, 2)} -> ${f(s.treatment, 2)}`).join(', ')}.`
    : '';
  const a = v.action;
  const did =
    a.kind === 'promoted'
      ? ` The treatment is now the ${scope} default (change ${a.change_id}, version ${a.version}).`
      : a.kind === 'not_promoted'
        ? ` It was not promoted: ${a.reasons.join('; ')}.`
        : a.kind === 'rolled_back'
          ? ` The treatment was rolled back on ${a.calls} call(s)${a.skipped.length ? `; ${a.skipped.length} skipped (${[...new Set(a.skipped.map((s) => s.reason))].join('; ')})` : ''}; the ${scope} default is unchanged.`
          : ' Nothing was changed.';
  switch (v.kind) {
    case 'promote':
      return `A/B experiment: the treatment (${what}) is better at main look ${v.look?.index} (${v.look?.n} calls per arm): ${nums}.${moved}${did}`;
    case 'worse':
      return `A/B experiment: the treatment (${what}) is worse at main look ${v.look?.index} (${v.look?.n} calls per arm): ${nums}.${moved}${did}`;
    case 'guardrail_stop':
      return `A/B experiment stopped early by the guardrail after ${v.look?.n} calls per arm: the treatment (${what}) is clearly worse, ${nums} (guardrail: one-sided alpha ${v.guardrail.alpha} per look and a drop of at least ${v.guardrail.min_drop_points} points).${moved}${did}`;
    case 'no_verdict':
      return `A/B experiment: no verdict. At the last look (${v.look?.n} calls per arm) the treatment (${what}) is not significantly different: ${nums}.${did}`;
    default:
      return `A/B experiment stopped by ${v.stopped_by} ("${v.stop_reason}") before a verdict: ${nums}.${did}`;
  }
}
