// One impairment profile through the loop and the yardstick: every station's calls run in process
// (loop.ts), then the demo's yardstick re-runs the defaults, each call's final set and the offline best
// on the same audio, and the PESQ/STOI judge rates their output against the clean speech. A few
// random sets from the catalog's ranges join on the first call's audio, so the scorecard's ranking
// can be compared with PESQ's on outputs the loop would never produce (gaming included).
import { mean } from 'simple-statistics';
import { defaultsForStation, parametersForStation, stationById } from '../catalog/index.ts';
import { type Evaluation, evaluateCall } from '../demo/offline.ts';
import { judgePairs, type SetPairs, setPairs, yardstick } from '../demo/yardstick.ts';
import type { QualityJudge } from '../quality/index.ts';
import type { StationInput } from '../stations/pipeline.ts';
import { type ImpairmentSet, rngFor, simulateCall } from '../stations/sim/index.ts';
import { type LoopStart, runCallLoop } from './loop.ts';

export interface EvalOptions {
  calls: number;
  segments: number;
  seed: number;
  searchBudget: number;
  /** Random catalog sets per station scored and judged for the score-vs-PESQ ranking. */
  randomSets: number;
  /** The last segments of each call the yardstick judges (default demo/yardstick.ts EVAL_SEGMENTS). */
  judgedSegments?: number;
  /** Where each call of a station starts (default: the catalog defaults). */
  start?: (stationId: number, tenantId: string) => LoopStart | undefined;
  /** Index of the first simulated call (a later pass runs new calls of the same tenants). */
  firstCall?: number;
}

export interface RankPoint {
  /** The station score the scorecard reports. */
  score: number;
  /** The chain's score (without the input's factors), what the loop and the search tune by. */
  chain: number;
  pesq: number;
  /** P.862 of the output as given, undelayed (`pesq` is the median over delays where they differ). */
  pesq_plain: number;
  stoi: number;
  /** Which set: defaults, final, best, random. */
  kind: string;
}

export interface StationRecord {
  profile: string;
  tenant: string;
  station_id: number;
  component: string;
  sample_rate: number;
  default_score: number;
  final_score: number;
  best_score: number;
  ratio_to_best: number;
  /**
   * The loop's standing set (LoopRun.standing) on the yardstick, and over the best (the best set or the
   * standing one, whichever scored higher): where the call ended on a step it had not judged, the set the
   * loop would have kept had the step gained nothing.
   */
  standing_score: number;
  standing_over_best: number;
  /** Per call: first iteration (1-based) within 5% of that call's best; null = never. */
  reached_at: (number | null)[];
  pesq_default: number | null;
  pesq_final: number | null;
  pesq_best: number | null;
  /** The same read as given, without the median over delays (QualityScores.pesqPlain). */
  pesq_plain_default: number | null;
  pesq_plain_final: number | null;
  pesq_plain_best: number | null;
  stoi_default: number | null;
  stoi_final: number | null;
  stoi_best: number | null;
  ref_default_db: number | null;
  ref_final_db: number | null;
  /** The loop's final set differs from the defaults in at least one call. */
  changed: boolean;
  changes: number;
  rejected: number;
  rollbacks: number;
  rank_points: RankPoint[];
  final_params: Record<string, number>[];
  best_params: Record<string, number>;
}

function sameSet(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): boolean {
  return Object.keys({ ...a, ...b }).every((k) => Math.abs((a[k] ?? 0) - (b[k] ?? 0)) < 1e-9);
}

/** A parameter set drawn uniformly from the catalog's ranges (a switch: one of its values). */
export function randomSet(stationId: number, rng: () => number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of parametersForStation(stationId)) {
    const u = rng();
    // A switch is one of its values (u >= 0.5 is on, as the chain read the old continuous draw).
    out[p.name] = p.values
      ? p.values[Math.min(p.values.length - 1, Math.floor(u * p.values.length))]!
      : Number((p.min + (p.max - p.min) * u).toFixed(3));
  }
  return out;
}

/**
 * One station's share of a profile before judging: its record without PESQ and STOI, and the pairs
 * the judge rates (CPU only: eval/pool.ts runs it on worker threads, the judge stays on the main one).
 */
export interface StationWork {
  record: Omit<
    StationRecord,
    | 'pesq_default'
    | 'pesq_final'
    | 'pesq_best'
    | 'pesq_plain_default'
    | 'pesq_plain_final'
    | 'pesq_plain_best'
    | 'stoi_default'
    | 'stoi_final'
    | 'stoi_best'
    | 'rank_points'
  >;
  /** The defaults', each call's final and the best set's output on every call. */
  sets: SetPairs;
  /** The random sets' output on the first call, as r0, r1, ... */
  randoms: SetPairs;
  /**
   * The ranked outputs' scores on the first call, by set name (defaults, final, best, then r0, r1, ...:
   * the names in `sets` and `randoms`).
   */
  ranked: { kind: string; name: string; e: Evaluation }[];
}

/** The loop, the yardstick and the outputs to judge, for every station of one profile. */
export function computeProfile(
  set: ImpairmentSet,
  o: EvalOptions,
  onStation?: (stationId: number) => void,
): StationWork[] {
  const tenant = set.tenants[0] ?? 'sim-tenant';
  const inputs = new Map<number, StationInput[][]>(set.stations.map((s) => [s.stationId, []]));
  for (let c = o.firstCall ?? 0; c < (o.firstCall ?? 0) + o.calls; c++) {
    const call = simulateCall({ impairments: set, callIndex: c, seed: o.seed, segments: o.segments });
    for (const [s, list] of inputs) list.push(call.segments.map((seg) => seg.inputs.get(s)!));
  }
  const out: StationWork[] = [];
  for (const [s, calls] of inputs) {
    const runs = calls.map((segs, c) => {
      const start = o.start?.(s, tenant) ?? { params: defaultsForStation(s) };
      return runCallLoop(s, tenant, `${set.name}-call-${c}`, segs, start);
    });
    const y = yardstick(
      s,
      calls.map((segs, c) => ({ inputs: segs, params: runs[c]!.params })),
      o.searchBudget,
      o.seed,
      o.judgedSegments,
    );
    const finals = runs.map((r) => r.params.at(-1)!);
    const standingScore = mean(runs.map((r, c) => evaluateCall(s, r.standing, y.audio[c]!).score));
    const sets = setPairs(s, y.audio, { defaults: [y.defaults], final: finals, best: [y.best.params] });
    const rng = rngFor('eval-random-set', o.seed, set.name, s);
    const draws = Array.from({ length: o.randomSets }, () => randomSet(s, rng));
    const first = y.audio.slice(0, 1);
    const randoms = setPairs(s, first, Object.fromEntries(draws.map((p, k) => [`r${k}`, [p]])));
    // Ranked by the station score the scorecard reports (the chain's score times the input's factors).
    const ranked = [
      { kind: 'defaults', name: 'defaults', e: y.perCallDefault[0]! },
      { kind: 'final', name: 'final', e: y.finals[0]! },
      { kind: 'best', name: 'best', e: y.bestOnAll[0]! },
      ...draws.map((p, k) => ({ kind: 'random', name: `r${k}`, e: evaluateCall(s, p, first[0]!) })),
    ];
    const sum = (f: (r: (typeof runs)[number]) => number) => runs.reduce((a, r) => a + f(r), 0);
    out.push({
      record: {
        profile: set.name,
        tenant,
        station_id: s,
        component: stationById(s)!.component,
        sample_rate: calls[0]![0]!.sampleRate,
        default_score: y.defaultScore,
        final_score: y.finalScore,
        best_score: y.bestScore,
        ratio_to_best: y.finalScore / y.bestScore,
        standing_score: standingScore,
        standing_over_best: standingScore / Math.max(y.bestScore, standingScore),
        reached_at: y.reachedAt,
        ref_default_db: y.refBefore,
        ref_final_db: y.refAfter,
        changed: finals.some((f) => !sameSet(f, y.defaults)),
        changes: sum((r) => r.changes),
        rejected: sum((r) => r.rejected),
        rollbacks: sum((r) => r.rollbacks),
        final_params: finals,
        best_params: y.best.params,
      },
      sets,
      randoms,
      ranked,
    });
    onStation?.(s);
  }
  return out;
}

/** The judge's half: PESQ and STOI of every station's outputs, and the records complete. */
export async function judgeProfile(
  work: readonly StationWork[],
  judge: QualityJudge,
): Promise<StationRecord[]> {
  const out: StationRecord[] = [];
  for (const w of work) {
    const q = await judgePairs(judge, w.sets);
    const quality = { ...q, ...(await judgePairs(judge, w.randoms)) };
    const rankPoints: RankPoint[] = [];
    for (const { kind, name, e } of w.ranked) {
      const j = quality[name]?.perCall[0];
      if (j)
        rankPoints.push({
          kind,
          score: e.station,
          chain: e.score,
          pesq: j.pesq,
          pesq_plain: j.pesqPlain,
          stoi: j.stoi,
        });
    }
    out.push({
      ...w.record,
      pesq_default: q['defaults']!.pesq,
      pesq_final: q['final']!.pesq,
      pesq_best: q['best']!.pesq,
      pesq_plain_default: q['defaults']!.pesqPlain,
      pesq_plain_final: q['final']!.pesqPlain,
      pesq_plain_best: q['best']!.pesqPlain,
      stoi_default: q['defaults']!.stoi,
      stoi_final: q['final']!.stoi,
      stoi_best: q['best']!.stoi,
      rank_points: rankPoints,
    });
  }
  return out;
}
