// The statistics of an A/B verdict, pure: Welch's two-sample t-test (unequal variances, Satterthwaite
// degrees of freedom) from @stdlib/stats-ttest2, with the arm summaries and effect sizes a reader of
// the verdict needs. Welch rather than Student because a treatment that changes the level changes
// the spread of the scores too; rather than Mann-Whitney because the quantity to promote on is the
// mean score, and per-call means of several segments are close enough to normal at these sizes.
import ttest2 from '@stdlib/stats-ttest2';
import { mean, sampleStandardDeviation } from 'simple-statistics';

export type Alternative = 'two-sided' | 'less' | 'greater';

export interface ArmStats {
  n: number;
  mean: number;
  /** Sample standard deviation (n - 1). */
  sd: number;
}

export interface WelchResult {
  test: 'welch_t';
  /** About treatment - control: 'less' = the treatment scores lower. */
  alternative: Alternative;
  control: ArmStats;
  treatment: ArmStats;
  /** mean(treatment) - mean(control), score points. */
  difference: number;
  statistic: number;
  df: number;
  p_value: number;
  /** Confidence interval of the difference at 1 - alpha (one-sided tests have one open end: null). */
  ci: [number | null, number | null];
  ci_level: number;
  /** Difference over the pooled standard deviation. */
  cohens_d: number;
  /** Cohen's d with the small-sample correction J = 1 - 3 / (4 (n1 + n2) - 9). */
  hedges_g: number;
  /** Both arms constant: the t statistic is undefined, the p-value is 1 for equal means, else 0. */
  degenerate: boolean;
}

export function armStats(xs: readonly number[]): ArmStats {
  return {
    n: xs.length,
    mean: xs.length ? mean(xs as number[]) : Number.NaN,
    sd: xs.length > 1 ? sampleStandardDeviation(xs as number[]) : Number.NaN,
  };
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** Welch's t-test of treatment against control; needs at least two observations per arm. */
export function welchTest(
  control: readonly number[],
  treatment: readonly number[],
  alternative: Alternative = 'two-sided',
  alpha = 0.05,
): WelchResult {
  if (control.length < 2 || treatment.length < 2) {
    throw new RangeError(
      `Welch's t-test needs two observations per arm, got ${control.length} control and ${treatment.length} treatment`,
    );
  }
  const c = armStats(control);
  const t = armStats(treatment);
  const difference = t.mean - c.mean;
  const pooledVar = ((c.n - 1) * c.sd ** 2 + (t.n - 1) * t.sd ** 2) / Math.max(1, c.n + t.n - 2);
  const pooledSd = Math.sqrt(pooledVar);
  const d = pooledSd > 0 ? difference / pooledSd : difference === 0 ? 0 : Math.sign(difference) * Infinity;
  const g = d * (1 - 3 / (4 * (c.n + t.n) - 9));

  let statistic: number;
  let df: number;
  let pValue: number;
  let ci: [number | null, number | null];
  let degenerate = false;
  if (c.sd === 0 && t.sd === 0) {
    // No spread at all: the standard error is 0 and the t statistic 0/0 or ±inf. The data leave no
    // doubt either way, so say so instead of reporting NaN.
    degenerate = true;
    statistic = difference === 0 ? 0 : Math.sign(difference) * Infinity;
    df = c.n + t.n - 2;
    const favoured =
      alternative === 'two-sided'
        ? difference !== 0
        : alternative === 'less'
          ? difference < 0
          : difference > 0;
    pValue = favoured ? 0 : 1;
    ci = [difference, difference];
  } else {
    const r = ttest2(treatment as number[], control as number[], { alternative, alpha });
    statistic = r.statistic;
    df = r.df;
    pValue = r.pValue;
    ci = [finiteOrNull(r.ci[0]!), finiteOrNull(r.ci[1]!)];
  }
  return {
    test: 'welch_t',
    alternative,
    control: c,
    treatment: t,
    difference,
    statistic,
    df,
    p_value: pValue,
    ci,
    ci_level: 1 - alpha,
    cohens_d: d,
    hedges_g: g,
    degenerate,
  };
}
