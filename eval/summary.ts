// The distributions `npm run eval` reports (issue 10's goals), from the per-station records. Pure.
import { median, quantile, sampleRankCorrelation } from 'simple-statistics';
import type { StationRecord } from './profile.ts';

export interface Dist {
  median: number;
  p10: number;
  worst: number;
  n: number;
}

export interface RankAgreement {
  family: string;
  /** Spearman rho of score vs PESQ over every judged set of every profile in the family. */
  pooled: number | null;
  /** The same for the chain's score (without the input's factors, scorecard.ts INPUT_COMPONENTS). */
  pooled_chain: number | null;
  /** Median over profiles of the within-profile rho (sets of one station on one call's audio). */
  within_median: number | null;
  /** `pooled` against PESQ read as given (RankPoint.pesq_plain); null for points from before it. */
  pooled_plain: number | null;
  points: number;
}

/**
 * The PESQ goals with PESQ read as given, without the judge's median over delays (quality/sidecar.py
 * DELAYS), so a run can be set beside runs from before the median; null for records that lack it.
 */
export interface PlainPesq {
  share_changed_not_worse: number;
  share_changed_within_tie: number;
  mean_gain_below_3_5: number | null;
  drops_over_0_1: number;
  best_worse_than_default_over_0_02: number;
}

export interface EvalSummary {
  profiles: number;
  stations: number;
  final_over_best: Dist;
  /** The standing set's score over the best (StationRecord.standing_over_best). */
  standing_over_best: Dist;
  /** Stations whose standing set scored otherwise than the last second's. */
  standing_not_final: number;
  /**
   * Per (station, call): iteration at which the running set came within 5% of that call's best; median
   * and mean over the calls that got there (`never` did not).
   */
  iterations_to_within_5pct: {
    median: number | null;
    mean: number | null;
    share_by_5: number;
    never: number;
    n: number;
  };
  pesq: {
    mean_default: number;
    mean_final: number;
    mean_best: number;
    /** Stations whose final set differs from the defaults. */
    changed: number;
    share_changed_not_worse: number;
    /**
     * The same, counting a fall of at most TIE_MOS as not worse: PESQ moves by a few thousandths where
     * only the level or a compressor's threshold changed, which the strict share counts as worse.
     */
    share_changed_within_tie: number;
    /** Mean final - default over stations whose defaults score below 3.5 MOS. */
    mean_gain_below_3_5: number | null;
    below_3_5: number;
    /** Stations whose final set is more than 0.1 MOS below the defaults (not rolled back). */
    drops_over_0_1: number;
    /** Stations where the offline search's best by score is worse by PESQ than the defaults. */
    best_worse_than_default: number;
    /** The same, by more than 0.02 MOS. */
    best_worse_than_default_over_0_02: number;
    best_worse_than_default_over_0_1: number;
  };
  stoi: { mean_default: number; mean_final: number; mean_best: number };
  share_worse_by_pesq: number;
  share_worse_by_score: number;
  changes: number;
  rejected: number;
  rollbacks: number;
  rank_agreement: RankAgreement[];
  pesq_plain: PlainPesq | null;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);

export function dist(xs: number[]): Dist {
  if (xs.length === 0) return { median: Number.NaN, p10: Number.NaN, worst: Number.NaN, n: 0 };
  return { median: median(xs), p10: quantile(xs, 0.1), worst: Math.min(...xs), n: xs.length };
}

function rho(points: { score: number; pesq: number }[]): number | null {
  return rhoOf(
    points.map((p) => p.score),
    points.map((p) => p.pesq),
  );
}

function rhoOf(s: number[], q: number[]): number | null {
  // Rank correlation needs spread on both sides; a station whose every set sounds the same has none.
  if (s.length < 3) return null;
  if (Math.max(...s) === Math.min(...s) || Math.max(...q) === Math.min(...q)) return null;
  return sampleRankCorrelation(s, q);
}

/** Rank agreement of the chain's score (points of runs before it was recorded have none: null). */
function chainRho(points: { chain?: number; pesq: number }[]): number | null {
  if (points.some((p) => p.chain === undefined)) return null;
  return rhoOf(
    points.map((p) => p.chain!),
    points.map((p) => p.pesq),
  );
}

function plainRho(points: { score: number; pesq_plain?: number }[]): number | null {
  if (points.some((p) => p.pesq_plain === undefined)) return null;
  return rhoOf(
    points.map((p) => p.score),
    points.map((p) => p.pesq_plain!),
  );
}

/** A station's PESQ of the defaults, the final and the best set, as one reading or the other. */
type PesqOf = (r: StationRecord) => { def: number | null; final: number | null; best: number | null };
const asJudged: PesqOf = (r) => ({ def: r.pesq_default, final: r.pesq_final, best: r.pesq_best });
const asGiven: PesqOf = (r) => ({
  def: r.pesq_plain_default ?? null,
  final: r.pesq_plain_final ?? null,
  best: r.pesq_plain_best ?? null,
});

/** The PESQ goals over the stations judged by `of` (both readings share the arithmetic). */
function pesqFigures(records: StationRecord[], of: PesqOf): EvalSummary['pesq'] {
  const judged = records
    .map(of)
    .flatMap((q, i) =>
      q.def !== null && q.final !== null ? [{ ...q, def: q.def, final: q.final, r: records[i]! }] : [],
    );
  const d = (q: { def: number; final: number }) => q.final - q.def;
  const changed = judged.filter((q) => q.r.changed);
  const low = judged.filter((q) => q.def < 3.5);
  const withBest = judged.flatMap((q) => (q.best !== null ? [{ ...q, best: q.best }] : []));
  const share = (n: number) => (changed.length ? n / changed.length : Number.NaN);
  const bestUnder = (by: number) => withBest.filter((q) => q.best < q.def - by).length;
  return {
    mean_default: mean(judged.map((q) => q.def)),
    mean_final: mean(judged.map((q) => q.final)),
    mean_best: mean(withBest.map((q) => q.best)),
    changed: changed.length,
    share_changed_not_worse: share(changed.filter((q) => d(q) >= 0).length),
    share_changed_within_tie: share(changed.filter((q) => d(q) >= -TIE_MOS).length),
    mean_gain_below_3_5: low.length ? mean(low.map(d)) : null,
    below_3_5: low.length,
    drops_over_0_1: judged.filter((q) => d(q) < -0.1).length,
    best_worse_than_default: bestUnder(0),
    best_worse_than_default_over_0_02: bestUnder(0.02),
    best_worse_than_default_over_0_1: bestUnder(0.1),
  };
}

function plainPesq(records: StationRecord[]): PlainPesq | null {
  if (!records.some((r) => r.pesq_plain_default != null && r.pesq_plain_final != null)) return null;
  const g = pesqFigures(records, asGiven);
  return {
    share_changed_not_worse: g.share_changed_not_worse,
    share_changed_within_tie: g.share_changed_within_tie,
    mean_gain_below_3_5: g.mean_gain_below_3_5,
    drops_over_0_1: g.drops_over_0_1,
    best_worse_than_default_over_0_02: g.best_worse_than_default_over_0_02,
  };
}

/** Station families: the catalog's station ids (each has its own blocks and scorecard guards). */
function rankAgreement(records: StationRecord[]): RankAgreement[] {
  const families = [...new Set(records.map((r) => r.station_id))].sort((a, b) => a - b);
  const byFamily = families.map((id) => {
    const rs = records.filter((r) => r.station_id === id);
    const pooled = rs.flatMap((r) => r.rank_points);
    const within = rs.map((r) => rho(r.rank_points)).filter((x): x is number => x !== null);
    return {
      family: `${id} ${rs[0]!.component}`,
      pooled: rho(pooled),
      pooled_chain: chainRho(pooled),
      within_median: within.length ? median(within) : null,
      pooled_plain: plainRho(pooled),
      points: pooled.length,
    };
  });
  const all = records.flatMap((r) => r.rank_points);
  const within = records.map((r) => rho(r.rank_points)).filter((x): x is number => x !== null);
  byFamily.push({
    family: 'all',
    pooled: rho(all),
    pooled_chain: chainRho(all),
    within_median: within.length ? median(within) : null,
    pooled_plain: plainRho(all),
    points: all.length,
  });
  return byFamily;
}

/** A PESQ fall this small is reported beside the strict count as a tie (share_changed_within_tie). */
export const TIE_MOS = 0.01;

export function summarize(records: StationRecord[]): EvalSummary {
  const reached = records.flatMap((r) => r.reached_at);
  const got = reached.filter((x): x is number => x !== null);
  const judged = records.filter((r) => r.pesq_default !== null && r.pesq_final !== null);
  const d = (r: StationRecord) => r.pesq_final! - r.pesq_default!;
  const stoi = records.filter((r) => r.stoi_default !== null && r.stoi_final !== null);
  return {
    profiles: new Set(records.map((r) => r.profile)).size,
    stations: records.length,
    final_over_best: dist(records.map((r) => r.ratio_to_best)),
    standing_over_best: dist(records.map((r) => r.standing_over_best)),
    standing_not_final: records.filter((r) => Math.abs(r.standing_score - r.final_score) > 1e-9).length,
    iterations_to_within_5pct: {
      median: got.length ? median(got) : null,
      mean: got.length ? mean(got) : null,
      share_by_5: reached.length ? got.filter((x) => x <= 5).length / reached.length : Number.NaN,
      never: reached.length - got.length,
      n: reached.length,
    },
    pesq: pesqFigures(records, asJudged),
    stoi: {
      mean_default: mean(stoi.map((r) => r.stoi_default!)),
      mean_final: mean(stoi.map((r) => r.stoi_final!)),
      mean_best: mean(stoi.filter((r) => r.stoi_best !== null).map((r) => r.stoi_best!)),
    },
    share_worse_by_pesq: judged.length ? judged.filter((r) => d(r) < 0).length / judged.length : Number.NaN,
    share_worse_by_score: records.length
      ? records.filter((r) => r.final_score < r.default_score).length / records.length
      : Number.NaN,
    changes: records.reduce((a, r) => a + r.changes, 0),
    rejected: records.reduce((a, r) => a + r.rejected, 0),
    rollbacks: records.reduce((a, r) => a + r.rollbacks, 0),
    rank_agreement: rankAgreement(records),
    pesq_plain: plainPesq(records),
  };
}

const f = (x: number | null, d = 2) => (x === null || !Number.isFinite(x) ? '-' : x.toFixed(d));
const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '-');

/** The report printed at the end of `npm run eval`. */
export function renderSummary(s: EvalSummary): string {
  const it = s.iterations_to_within_5pct;
  const lines = [
    `${s.profiles} generated profiles, ${s.stations} stations`,
    `final/best:            median ${pct(s.final_over_best.median)}, p10 ${pct(s.final_over_best.p10)}, worst ${pct(s.final_over_best.worst)}`,
    `  standing/best:       median ${pct(s.standing_over_best.median)}, p10 ${pct(s.standing_over_best.p10)}, worst ${pct(s.standing_over_best.worst)} (the set the loop stood by at the call's end; it scores otherwise than the last second's on ${s.standing_not_final} station${s.standing_not_final === 1 ? '' : 's'})`,
    `iters to within 5%:    median ${f(it.median, 1)}, mean ${f(it.mean)}, by iteration 5 in ${pct(it.share_by_5)} of ${it.n} calls (never: ${it.never})`,
    `PESQ (MOS-LQO):        defaults ${f(s.pesq.mean_default)} -> final ${f(s.pesq.mean_final)} (offline best by score ${f(s.pesq.mean_best)})`,
    `  changed stations not worse: ${pct(s.pesq.share_changed_not_worse)} of ${s.pesq.changed} (${pct(s.pesq.share_changed_within_tie)} within ${TIE_MOS} MOS); gain where defaults < 3.5: ${f(s.pesq.mean_gain_below_3_5)} over ${s.pesq.below_3_5}; drops > 0.1 MOS: ${s.pesq.drops_over_0_1}`,
    `  offline best by score worse than defaults by PESQ: ${s.pesq.best_worse_than_default} (by > 0.02 MOS: ${s.pesq.best_worse_than_default_over_0_02}, by > 0.1 MOS: ${s.pesq.best_worse_than_default_over_0_1})`,
    ...(s.pesq_plain === null
      ? []
      : [
          `  read as given (no median over delays): changed not worse ${pct(s.pesq_plain.share_changed_not_worse)} (${pct(s.pesq_plain.share_changed_within_tie)} within ${TIE_MOS}); gain where defaults < 3.5: ${f(s.pesq_plain.mean_gain_below_3_5)}; drops > 0.1 MOS: ${s.pesq_plain.drops_over_0_1}; best worse by > 0.02 MOS: ${s.pesq_plain.best_worse_than_default_over_0_02}; Spearman, all pooled: ${f(s.rank_agreement.at(-1)?.pooled_plain ?? null)}`,
        ]),
    `STOI:                  defaults ${f(s.stoi.mean_default, 3)} -> final ${f(s.stoi.mean_final, 3)} (best ${f(s.stoi.mean_best, 3)})`,
    `stations made worse:   by PESQ ${pct(s.share_worse_by_pesq)}, by score ${pct(s.share_worse_by_score)}`,
    `changes ${s.changes}, rejected ${s.rejected}, rollbacks ${s.rollbacks}`,
    'score vs PESQ, Spearman rho (pooled over profiles | median within a profile | pooled, chain score):',
    ...s.rank_agreement.map(
      (r) =>
        `  ${r.family.padEnd(18)} ${f(r.pooled).padStart(6)} | ${f(r.within_median).padStart(6)} | ${f(r.pooled_chain).padStart(6)}  (${r.points} sets)`,
    ),
  ];
  return lines.join('\n');
}

/** One arm of the batch-priors comparison (eval/run.ts priorsPass). */
export type PriorsArm = EvalSummary['iterations_to_within_5pct'] & {
  final_over_best: Dist;
  /** The online loop's rollbacks over the arm's calls. */
  rollbacks: number;
};

/** One arm's figures from its records' summary. */
export function priorsArm(s: EvalSummary): PriorsArm {
  return { ...s.iterations_to_within_5pct, final_over_best: s.final_over_best, rollbacks: s.rollbacks };
}

/** The batch-priors comparison: iterations to within 5% on new calls of seen tenants. */
export function renderPriors(p: { without: PriorsArm; with: PriorsArm; started: PriorsArm }): string {
  const line = (name: string, x: PriorsArm) =>
    `  ${name.padEnd(26)} median ${f(x.median, 1)}, mean ${f(x.mean)} iterations, by iteration 5 in ${pct(x.share_by_5)} of ${x.n} calls (never ${x.never}); final/best median ${pct(x.final_over_best.median)}, p10 ${pct(x.final_over_best.p10)}; ${x.rollbacks} rollbacks`;
  return [
    'new calls of seen tenants, iterations to within 5% of the best:',
    line('from the defaults', p.without),
    line('with the learned region', p.with),
    line('promoted one safe step', p.started),
  ].join('\n');
}
