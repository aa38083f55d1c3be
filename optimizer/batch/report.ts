// What a batch run records (optimizer_runs.result, and the summary columns): per group the history,
// the search, the verified candidates and the verdict on each, and the plain-language analysis. Also
// the rules that turn verification numbers into a verdict. Pure.
import { defaultsForStation, parameterByName } from '../../catalog/index.ts';
import type { ParameterProposal } from '../../contracts/generated.ts';
import { fmt } from '../core/curves.ts';
import type { Comparison } from './counterfactual.ts';
import type { GroupHistory } from './history.ts';
import type { Candidate } from './learn.ts';
import { PESQ_TOLERANCE, type ReferenceComparison, referenceFault } from './reference.ts';
import type { ReplayStats } from './replay.ts';
import type { BatchRequest } from './request.ts';

export interface CandidateReport extends Candidate {
  verification: Comparison;
  /** PESQ and STOI against the clean speech on the held-out segments, where it was stored; else null. */
  reference: ReferenceComparison | null;
  kept: boolean;
  why: string;
}

export interface GroupReport {
  context: { station_id: number; tenant_id: string | null; impairment: string; codec: string; key: string };
  history: {
    snapshots: number;
    calls: number;
    score_mean: number;
    score_sd: number;
    versions: { version: number; n: number; mean: number; sd: number; params_known: boolean }[];
  };
  replayable: number;
  not_replayable: Record<string, number>;
  status: 'learned' | 'skipped';
  reason: string | null;
  baseline: { params: Record<string, number>; version: number; is_catalog_default: boolean } | null;
  space: { tunable: string[]; fixed: Record<string, { value: number; why: string }> } | null;
  /** proposals: the earlier runs whose proposal was re-evaluated and verified again (newest first). */
  warm_start: {
    observations: number;
    runs: string[];
    re_evaluated: number;
    proposals: string[];
  } | null;
  learning: {
    train_segments: number;
    evaluations: {
      params: Record<string, number>;
      score: number;
      ref_db: number | null;
      by: string;
      feasible: boolean;
    }[];
    /** Reference-quality floor the search kept to (clean references present), else null. */
    reference_floor_db: number | null;
    /** The reference guard's screening of the search's best on the training calls, if it ran. */
    reference_screen: {
      judged: number;
      dropped: string[];
      baseline_pesq: number | null;
      baseline_stoi: number | null;
    } | null;
    baseline_train_score: number;
    best_train_score: number;
    model: unknown;
    elapsed_ms: number;
    audio_seconds: number;
  } | null;
  verification: {
    segments: number;
    calls: number;
    held_out: boolean;
    baseline_score: number;
    baseline_ref_db: number | null;
    /** PESQ and STOI of the defaults on the held-out segments (clean speech stored), else null. */
    baseline_pesq: number | null;
    baseline_stoi: number | null;
  } | null;
  candidates: CandidateReport[];
  /** Index into candidates of the proposal (see pickWinner); null if no candidate was kept. */
  winner: number | null;
}

export interface BatchResult {
  run_id: string;
  range: { from: string; to: string; to_effective: string };
  scope: BatchRequest['scope'];
  budget: number;
  margin: number;
  /** The reference guard's tolerances (PESQ MOS, STOI) where the clean speech was stored. */
  reference_guard: { pesq_tolerance: number; stoi_tolerance: number };
  replay: {
    group_id: string;
    partitions: number;
    records_in_range: number;
    read: number;
    decoded: number;
    undecodable: number;
    out_of_range: number;
    in_scope: number;
    elapsed_ms: number;
    /** Records read per second over the whole replay (offset lookups and the group join included). */
    snapshots_per_s: number;
    /** Records read, decoded and scored per second from the first record to the last. */
    snapshots_per_s_streaming: number;
    idle_stopped: number;
  };
  groups: GroupReport[];
  proposals: {
    station_id: number;
    context: string;
    params: Record<string, number>;
    gain: number;
    gain_ci95: [number, number];
    /** Segmental SNR against the clean speech (a cheap extra, not a guard). */
    ref_gain_db: number | null;
    pesq_gain: number | null;
    stoi_gain: number | null;
    expected_score: number;
    expected_sd: number;
  }[];
  counterfactual: { audio_seconds: number; elapsed_ms: number; audio_seconds_per_s: number };
  elapsed_ms: number;
}

export function describeChange(params: Record<string, number>, baseline: Record<string, number>): string {
  const moves = Object.entries(params)
    .filter(([k, v]) => baseline[k] !== v)
    .map(([k, v]) => `${k} ${fmt(baseline[k] ?? Number.NaN, 2)} -> ${fmt(v, 2)}`);
  return moves.length ? moves.join(', ') : 'no change';
}

/**
 * Keep a candidate only if it beats the current defaults by the margin, significantly (the paired 95%
 * interval excludes 0), and — where the clean speech exists — without costing PESQ or STOI (the
 * reference guard, reference.ts): a better score at a worse sound is the blind score being gamed.
 */
export function judge(
  c: Comparison,
  margin: number,
  reference: ReferenceComparison | null = null,
): { kept: boolean; why: string } {
  const [lo, hi] = c.gain_ci95;
  const ci = `95% CI ${fmt(lo)}..${fmt(hi)}`;
  if (c.gain < margin)
    return {
      kept: false,
      why: `gain ${fmt(c.gain)} points is under the ${fmt(margin)}-point margin (${ci})`,
    };
  if (!(lo > 0)) return { kept: false, why: `gain ${fmt(c.gain)} points is not significant (${ci})` };
  const fault = referenceFault(reference);
  if (fault !== null)
    return {
      kept: false,
      why: `scores ${fmt(c.gain)} points better but ${fault} against the clean speech: the blind score is being gamed`,
    };
  const ref =
    reference === null
      ? ''
      : `; PESQ ${fmt(reference.pesq_before, 2)} -> ${fmt(reference.pesq_after, 2)}, STOI ${fmt(reference.stoi_before, 3)} -> ${fmt(reference.stoi_after, 3)}`;
  return {
    kept: true,
    why: `beats the current defaults by ${fmt(c.gain)} points (${ci}, ${c.wins}/${c.segments} segments)${ref}`,
  };
}

/**
 * The kept candidate with the highest verified gain; among those within the margin of it (a gain
 * smaller than the margin is not one the run acts on, so neither is a difference that small), the
 * one PESQ likes clearly better (where it is measured), else the one that changes fewest parameters.
 * Null when nothing was kept.
 */
export function pickWinner(candidates: readonly CandidateReport[], margin: number): number | null {
  const kept = candidates.map((c, i) => ({ c, i })).filter(({ c }) => c.kept);
  if (kept.length === 0) return null;
  const bestGain = Math.max(...kept.map(({ c }) => c.verification.gain));
  return (
    kept
      .filter(({ c }) => c.verification.gain >= bestGain - margin)
      .sort((a, b) => {
        const ra = a.c.reference?.pesq_gain ?? 0;
        const rb = b.c.reference?.pesq_gain ?? 0;
        if (Math.abs(ra - rb) > PESQ_TOLERANCE) return rb - ra;
        return a.c.changed - b.c.changed || b.c.verification.gain - a.c.verification.gain;
      })[0]?.i ?? null
  );
}

/** A group's report before learning: what the history says, judged against the current defaults. */
export function groupSkeleton(
  h: GroupHistory,
  known: ReadonlyMap<number, unknown>,
  base: { params: Record<string, number>; version: number },
): GroupReport {
  const ctx = h.context;
  const catalog = defaultsForStation(ctx.stationId);
  return {
    context: {
      station_id: ctx.stationId,
      tenant_id: ctx.tenantId,
      impairment: ctx.impairment,
      codec: ctx.codec,
      key: ctx.key,
    },
    history: {
      snapshots: h.snapshots,
      calls: h.calls,
      score_mean: h.scoreMean,
      score_sd: h.scoreSd,
      versions: h.versions.map((v) => ({ ...v, params_known: v.version === 0 || known.has(v.version) })),
    },
    replayable: h.replayable,
    not_replayable: h.notReplayable,
    status: 'skipped',
    reason: null,
    baseline: {
      params: base.params,
      version: base.version,
      is_catalog_default: Object.entries(catalog).every(([k, v]) => base.params[k] === v),
    },
    space: null,
    warm_start: null,
    learning: null,
    verification: null,
    candidates: [],
    winner: null,
  };
}

export function proposalsOf(reports: readonly GroupReport[]): BatchResult['proposals'] {
  return reports
    .filter((g) => g.winner !== null)
    .map((g) => {
      const c = g.candidates[g.winner!]!;
      return {
        station_id: g.context.station_id,
        context: g.context.key,
        params: c.params,
        gain: c.verification.gain,
        gain_ci95: c.verification.gain_ci95,
        ref_gain_db: c.verification.ref_gain_db,
        pesq_gain: c.reference?.pesq_gain ?? null,
        stoi_gain: c.reference?.stoi_gain ?? null,
        expected_score: c.expected_score,
        expected_sd: c.expected_sd,
      };
    });
}

/**
 * The run row's and the results topic's new_parameters: per station, the proposal of the context
 * with the most history (config scopes have no context), only the parameters it changes.
 */
export function newParametersOf(
  reports: readonly GroupReport[],
  baselines: ReadonlyMap<number, { params: Record<string, number> }>,
): ParameterProposal[] {
  const out: ParameterProposal[] = [];
  const stations = [...new Set(reports.filter((r) => r.winner !== null).map((r) => r.context.station_id))];
  for (const st of stations.sort((a, b) => a - b)) {
    const g = reports
      .filter((r) => r.context.station_id === st && r.winner !== null)
      .sort((a, b) => b.history.snapshots - a.history.snapshots)[0]!;
    const c = g.candidates[g.winner!]!;
    const base = baselines.get(st)!.params;
    for (const [name, v] of Object.entries(c.params)) {
      if (base[name] === v) continue;
      out.push({
        station_id: st,
        name,
        old: base[name] ?? null,
        new: v,
        unit: parameterByName(name)?.unit ?? '',
        reason: `batch (${g.context.key}): ${c.why}`,
      });
    }
  }
  return out;
}

export function explain(
  req: BatchRequest,
  toEffective: number,
  stats: ReplayStats,
  inScope: number,
  reports: readonly GroupReport[],
  baselines: ReadonlyMap<number, { params: Record<string, number> }>,
): string {
  const who = req.scope.tenant_id ? `tenant ${req.scope.tenant_id}` : 'all tenants';
  const where = req.scope.station_ids ? `stations ${req.scope.station_ids.join(', ')}` : 'every station';
  const parts = [
    `Replayed ${stats.read} snapshot record(s) from ${new Date(req.from).toISOString()} to ${new Date(toEffective).toISOString()}; ${inScope} in scope (${who}, ${where}).`,
  ];
  if (inScope === 0) parts.push('Nothing to learn from in this range.');
  for (const g of reports) {
    const head = `Station ${g.context.station_id} (${g.context.key}, ${g.history.snapshots} snapshots, mean score ${fmt(g.history.score_mean)})`;
    if (g.status === 'skipped') {
      parts.push(`${head}: not learned — ${g.reason}.`);
      continue;
    }
    if (g.winner === null) {
      const best = g.candidates[0];
      parts.push(
        `${head}: no candidate beat the current defaults by ${fmt(req.margin)} points${best ? ` (best: ${best.why})` : ''}; keep them.`,
      );
      continue;
    }
    const c = g.candidates[g.winner]!;
    const base = baselines.get(g.context.station_id)!.params;
    parts.push(
      `${head}: after ${g.learning!.evaluations.length} counterfactual evaluations the proposal ${describeChange(c.params, base)} ${c.why} on ${g.verification!.segments} ${g.verification!.held_out ? 'held-out ' : ''}segments (model expects ${fmt(c.expected_score)} ± ${fmt(c.expected_sd)} on the training sample).`,
    );
  }
  parts.push('Nothing was applied: proposals go out as A/B experiments through the safe change path.');
  return parts.join(' ');
}
