// Learning defaults for one (station, context) group (issue 6, item 2): Bayesian optimisation with the
// Gaussian process of optimizer/gp over the station's parameters, each inside its catalog bounds (and
// any narrower snapshot constraints), scaled to the unit box. The objective is the mean scorecard
// score of a training sample of the group's stored segments re-run with the parameters
// (counterfactual replay); what the history itself recorded — the score each parameter set the
// stations really ran with earned — and what earlier runs observed enter the model as prior
// observations with extra noise (other audio, other days), and the best earlier proposals are
// re-evaluated first (warm start). Proposals are the evaluated points with the best posterior mean,
// each with its expected score and uncertainty, plus the earlier proposals (`keep`), so that the run
// verifies again what the last one proposed beside what it found itself.
//
// Optionally (`refToleranceDb`), where the training segments carry the clean signal, the search is
// constrained: the segmental SNR against it may not fall more than that under the baseline's
// (constrained EI on a second GP). The batch run does not use it any more: the segmental SNR
// disagrees with PESQ (it falls when RNNoise is switched on while PESQ rises), so the run searches on
// the score and screens the candidates with PESQ and STOI afterwards (group.ts, reference.ts).
import { type ParameterSpec, parametersForStation } from '../../catalog/index.ts';
import type { ParameterConstraint } from '../../contracts/generated.ts';
import { effectiveBounds, nearestChoice, resolution } from '../core/bounds.ts';
import { BayesianOptimizer } from '../gp/bayesopt.ts';
import { evaluate, meanOf, type Outcome, type ReplaySegment } from './counterfactual.ts';

export interface TunableSpace {
  /** Parameters the optimiser moves, in catalog order, with their effective bounds. */
  readonly specs: readonly ParameterSpec[];
  readonly bounds: readonly { lo: number; hi: number }[];
  /** Parameters held at the baseline value, and why. */
  readonly fixed: Readonly<Record<string, { value: number; why: string }>>;
}

/**
 * The search space of a station: every catalog parameter of it, except those counterfactual replay of
 * PCM cannot judge (the jitter buffer needs the packet trace; the echo canceller needs the far end),
 * the declipper where no stored segment arrived clipped (it would only add its delay), and those the
 * snapshots' constraints freeze or pin.
 */
export function tunableSpace(
  stationId: number,
  constraints: readonly ParameterConstraint[],
  baseline: Readonly<Record<string, number>>,
  o: { hasFarEnd: boolean; inputClips?: boolean },
): TunableSpace {
  const specs: ParameterSpec[] = [];
  const bounds: { lo: number; hi: number }[] = [];
  const fixed: Record<string, { value: number; why: string }> = {};
  for (const spec of parametersForStation(stationId)) {
    const value = baseline[spec.name] ?? spec.default;
    const b = effectiveBounds(spec, constraints);
    if (spec.block === 'jitter_buffer') fixed[spec.name] = { value, why: 'needs the RTP packet trace' };
    else if (spec.block === 'echo_canceller' && !o.hasFarEnd)
      fixed[spec.name] = { value, why: 'no far-end audio stored' };
    else if (spec.block === 'declipper' && o.inputClips !== true)
      fixed[spec.name] = { value, why: 'no stored segment arrived clipped' };
    else if (b.frozen) fixed[spec.name] = { value, why: 'frozen by a snapshot constraint' };
    else if (b.hi - b.lo < resolution(spec)) fixed[spec.name] = { value, why: 'constraints leave no room' };
    else {
      specs.push(spec);
      bounds.push({ lo: b.lo, hi: b.hi });
    }
  }
  return { specs, bounds, fixed };
}

/** A point of the unit-scaled space as a full parameter set, on each parameter's grid. */
export function toParams(space: TunableSpace, x: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, f] of Object.entries(space.fixed)) out[k] = f.value;
  space.specs.forEach((spec, i) => {
    const { lo, hi } = space.bounds[i]!;
    if (spec.values) {
      // A switch is one of its values (the chain reads 0.42 as off, but the audit trail should not).
      const inside = spec.values.filter((c) => c >= lo - 1e-9 && c <= hi + 1e-9);
      out[spec.name] = nearestChoice(
        inside.length > 0 ? inside : spec.values,
        Math.min(hi, Math.max(lo, x[i]!)),
      );
      return;
    }
    const res = resolution(spec);
    let v = Math.round(Math.min(hi, Math.max(lo, x[i]!)) / res) * res;
    if (v > hi) v -= res;
    if (v < lo) v += res;
    out[spec.name] = Math.round(v * 1e9) / 1e9;
  });
  return out;
}

/** The tunable coordinates of a parameter set (missing ones at the baseline), clamped into bounds. */
export function toVector(
  space: TunableSpace,
  params: Readonly<Record<string, number>>,
  baseline: Readonly<Record<string, number>>,
): number[] {
  return space.specs.map((spec, i) => {
    const v = params[spec.name] ?? baseline[spec.name] ?? spec.default;
    const { lo, hi } = space.bounds[i]!;
    return Math.min(hi, Math.max(lo, v));
  });
}

const sameParams = (a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);

export interface PriorObservation {
  readonly params: Readonly<Record<string, number>>;
  readonly score: number;
  readonly samples: number;
  readonly source: 'history' | 'warm';
}

export interface Evaluation {
  readonly params: Record<string, number>;
  /** Mean score over the training segments. */
  readonly score: number;
  readonly ref: number | null;
  readonly by: 'baseline' | 'warm' | 'design' | 'ei' | 'prune';
  /** Within the reference-quality constraint (true when there is none). */
  readonly feasible: boolean;
  readonly outcomes: Outcome[];
}

export interface Candidate {
  readonly params: Record<string, number>;
  /** Posterior mean and sd of the training score at the candidate. */
  readonly expected_score: number;
  readonly expected_sd: number;
  readonly observed_score: number;
  /** Parameters that differ from the baseline. */
  readonly changed: number;
  /** Produced by putting back the parameters the score does not need (see parsimony in learn). */
  readonly pruned: boolean;
  /** An earlier run's proposal (LearnOptions.keep), returned whatever its rank. */
  readonly earlier: boolean;
}

export interface LearnOptions {
  readonly stationId: number;
  readonly space: TunableSpace;
  readonly baseline: Readonly<Record<string, number>>;
  readonly train: readonly ReplaySegment[];
  readonly priors: readonly PriorObservation[];
  /** Parameter sets to evaluate right after the baseline (earlier runs' best). */
  readonly warmStarts: readonly Readonly<Record<string, number>>[];
  /**
   * Earlier runs' proposals: each is returned among the candidates (after the `candidates` best,
   * unless among them), evaluated if the search did not; one equal to the baseline is not.
   */
  readonly keep?: readonly Readonly<Record<string, number>>[];
  readonly budget: number;
  readonly seed: number;
  /** Within-set variance of one segment's score (for the priors' noise). */
  readonly pooledVar: number;
  /**
   * With clean references on every training segment: how far (dB) a candidate's segmental SNR may
   * fall under the baseline's; null: no such constraint.
   */
  readonly refToleranceDb: number | null;
  /** How many candidates to return (default 3), best by the model first. */
  readonly candidates?: number;
  readonly signal?: AbortSignal;
  onEvaluation?(done: number, budget: number, best: number): void;
}

export interface LearnResult {
  readonly evaluations: Evaluation[];
  readonly candidates: Candidate[];
  readonly baseline: { observed: number; expected: number; sd: number };
  /** The reference-quality floor the search respected, or null (no clean reference). */
  readonly referenceFloorDb: number | null;
  readonly model: {
    kernel: string;
    observations: number;
    prior_observations: number;
    /** Per parameter, as a share of its bounds: short = the score depends strongly on it. */
    length_scales_share: Record<string, number>;
    signal_sd: number;
    noise_sd: number;
    log_marginal_likelihood: number;
  } | null;
  /** Seconds of audio re-processed and the wall time it took. */
  readonly audioSeconds: number;
  readonly elapsedMs: number;
}

// How far apart the same parameters may score on other audio (another day, other calls), in points:
// the prior observations' extra noise, so they shape the model without outvoting fresh evaluations.
const PRIOR_OFFSET_SD = 3;
const CANDIDATES = 3;
/** Score points within which candidates count as equally good by the scorecard. */
const TIE_POINTS = 1;
/** Training-score points a parameter put back at the baseline may cost and still be put back. */
const PRUNE_POINTS = 0.5;

/**
 * Feasible points first (all of them when there is no constraint), each group by posterior mean; on a
 * plateau (within TIE_POINTS of the best mean) the better reference quality goes first, where it is
 * known: the scorecard cannot tell them apart, the ground truth can.
 */
function rankEvaluations(
  evaluations: Evaluation[],
  baselineParams: Record<string, number>,
  predict: (p: Record<string, number>) => { mean: number; sd: number },
  byReference: boolean,
) {
  const ranked = evaluations
    .filter((e) => e.by !== 'baseline' && !sameParams(e.params, baselineParams))
    .map((e) => ({ e, p: predict(e.params) }))
    .sort((a, b) => Number(b.e.feasible) - Number(a.e.feasible) || b.p.mean - a.p.mean);
  const top = ranked[0]?.p.mean ?? 0;
  const plateau = (x: (typeof ranked)[number]) =>
    x.e.feasible === ranked[0]?.e.feasible && x.p.mean >= top - TIE_POINTS;
  return ranked.sort(
    (a, b) =>
      Number(plateau(b)) - Number(plateau(a)) ||
      (byReference && plateau(a) && plateau(b) ? (b.e.ref ?? 0) - (a.e.ref ?? 0) : 0) ||
      Number(b.e.feasible) - Number(a.e.feasible) ||
      b.p.mean - a.p.mean,
  );
}

/** What the run reports of the fitted model. */
function modelSummary(gp: NonNullable<ReturnType<BayesianOptimizer['model']>>, o: LearnOptions) {
  const h = gp.hyper;
  return {
    kernel: gp.kernel,
    observations: gp.size,
    prior_observations: o.priors.length,
    length_scales_share: Object.fromEntries(o.space.specs.map((s, i) => [s.name, h.lengthScales[i]!])),
    signal_sd: Math.sqrt(h.signalVar) * gp.yStd,
    noise_sd: Math.sqrt(h.noiseVar) * gp.yStd,
    log_marginal_likelihood: gp.logMarginalLikelihood,
  };
}

/**
 * Parsimony: from the best point, puts back at the baseline every parameter the score does not need
 * (least relevant first, by the model's length-scales) while the training score stays within
 * PRUNE_POINTS of the best, the point stays feasible and (where measured) the reference quality does
 * not fall more than the tolerance. Returns the pruned point, or null when nothing could go.
 */
async function prune(
  head: Evaluation,
  baselineParams: Record<string, number>,
  lengthScales: readonly number[],
  o: LearnOptions,
  evaluations: Evaluation[],
  evaluateTrial: (params: Record<string, number>) => Promise<Evaluation>,
): Promise<Evaluation | null> {
  const order = o.space.specs.map((spec, i) => ({ spec, l: lengthScales[i] ?? 0 })).sort((a, b) => b.l - a.l);
  let cur = head;
  for (const { spec } of order) {
    o.signal?.throwIfAborted();
    if (cur.params[spec.name] === baselineParams[spec.name]) continue;
    const trialParams = { ...cur.params, [spec.name]: baselineParams[spec.name]! };
    const t =
      evaluations.find((e) => sameParams(e.params, trialParams)) ?? (await evaluateTrial(trialParams));
    const refHolds =
      o.refToleranceDb === null ||
      head.ref === null ||
      t.ref === null ||
      t.ref >= head.ref - o.refToleranceDb;
    if (t.feasible && refHolds && t.score >= head.score - PRUNE_POINTS) cur = t;
  }
  return cur !== head ? cur : null;
}

/** The evaluations of the earlier proposals (o.keep) on this space's grid, evaluating any missing. */
async function keptEvaluations(
  o: LearnOptions,
  baselineParams: Record<string, number>,
  evaluations: Evaluation[],
  evaluateMissing: (params: Record<string, number>) => Promise<Evaluation>,
): Promise<Evaluation[]> {
  const out: Evaluation[] = [];
  for (const p of o.keep ?? []) {
    const params = toParams(o.space, toVector(o.space, p, o.baseline));
    if (sameParams(params, baselineParams)) continue;
    const e =
      evaluations.find((x) => x.by !== 'baseline' && sameParams(x.params, params)) ??
      (await evaluateMissing(params));
    if (!out.includes(e)) out.push(e);
  }
  return out;
}

export async function learn(o: LearnOptions): Promise<LearnResult> {
  const started = Date.now();
  const d = o.space.specs.length;
  const evaluations: Evaluation[] = [];
  const segSeconds = o.train.reduce((a, s) => a + s.audio.samples.length / s.audio.sampleRate, 0);
  let audioSeconds = 0;
  const withReference =
    o.refToleranceDb !== null && o.train.length > 0 && o.train.every((s) => s.audio.clean !== null);
  let floor: number | null = null;
  const run = async (params: Record<string, number>, by: Evaluation['by']): Promise<Evaluation> => {
    const outcomes = await evaluate(o.stationId, params, o.train, o.signal);
    audioSeconds += segSeconds;
    const refs = outcomes.map((x) => x.ref).filter((x): x is number => x !== null);
    const ref = refs.length === outcomes.length && refs.length > 0 ? meanOf(refs) : null;
    const e: Evaluation = {
      params,
      score: meanOf(outcomes.map((x) => x.score)),
      ref,
      by,
      feasible: floor === null || ref === null || ref >= floor,
      outcomes,
    };
    evaluations.push(e);
    return e;
  };
  /** The constraint value the model sees: >= 0 is feasible. */
  const slack = (e: Evaluation) => (floor !== null && e.ref !== null ? e.ref - floor : undefined);

  const baselineParams = toParams(o.space, toVector(o.space, o.baseline, o.baseline));
  const base = await run(baselineParams, 'baseline');
  if (withReference && base.ref !== null) floor = base.ref - (o.refToleranceDb ?? 0);
  if (d === 0) {
    return {
      evaluations,
      candidates: [],
      baseline: { observed: base.score, expected: base.score, sd: 0 },
      referenceFloorDb: floor,
      model: null,
      audioSeconds,
      elapsedMs: Date.now() - started,
    };
  }

  const bo = new BayesianOptimizer({
    bounds: o.space.bounds,
    snap: (x) => toVector(o.space, toParams(o.space, x), o.baseline),
    seed: o.seed,
    initialDesign: Math.max(3, Math.min(d + 1, Math.floor(o.budget / 3))),
  });
  for (const p of o.priors) {
    const extra = o.pooledVar / Math.max(1, p.samples) + PRIOR_OFFSET_SD ** 2;
    bo.observe(toVector(o.space, p.params, o.baseline), p.score, extra);
  }
  bo.observe(toVector(o.space, base.params, o.baseline), base.score, 0, slack(base));
  /** An evaluation the model learns from. */
  const observed = async (params: Record<string, number>, by: Evaluation['by']) => {
    const e = await run(params, by);
    bo.observe(toVector(o.space, e.params, o.baseline), e.score, 0, slack(e));
    return e;
  };
  o.onEvaluation?.(1, o.budget, base.score);

  const queue = o.warmStarts.map((p) => toParams(o.space, toVector(o.space, p, o.baseline)));
  let best = base.score;
  let attempts = 0;
  while (evaluations.length < o.budget && attempts < 4 * o.budget) {
    attempts++;
    const warm = queue.shift();
    const s = warm ? null : bo.suggest();
    const params = warm ?? toParams(o.space, s!.x);
    // Rounding to the parameters' grids can land on a point already evaluated: nothing new to learn.
    if (evaluations.some((e) => sameParams(e.params, params))) continue;
    const e = await observed(params, warm ? 'warm' : s!.by);
    if (e.feasible) best = Math.max(best, e.score);
    o.onEvaluation?.(evaluations.length, o.budget, best);
  }

  const gp0 = bo.model()!;
  const predict0 = (p: Record<string, number>) => gp0.predict(bo.toUnit(toVector(o.space, p, o.baseline)));
  const ranked = rankEvaluations(evaluations, baselineParams, predict0, floor !== null);

  // Parsimony: a default change should move only what earns its place (see prune).
  const head = ranked[0]?.e;
  const pruned = head?.feasible
    ? await prune(head, baselineParams, gp0.hyper.lengthScales, o, evaluations, (p) => observed(p, 'prune'))
    : null;
  const kept = await keptEvaluations(o, baselineParams, evaluations, (p) => observed(p, 'warm'));
  const gp = bo.model()!;
  const predictAt = (p: Record<string, number>) => gp.predict(bo.toUnit(toVector(o.space, p, o.baseline)));
  const top = [...(pruned ? [pruned] : []), ...ranked.map((r) => r.e)].slice(0, o.candidates ?? CANDIDATES);
  const chosen = [...top, ...kept.filter((e) => !top.includes(e))];
  const candidates: Candidate[] = chosen.map((e) => {
    const p = predictAt(e.params);
    return {
      params: e.params,
      expected_score: p.mean,
      expected_sd: p.sd,
      observed_score: e.score,
      changed: Object.keys(e.params).filter((k) => e.params[k] !== baselineParams[k]).length,
      pruned: e === pruned,
      earlier: kept.includes(e),
    };
  });
  const bp = predictAt(baselineParams);
  return {
    evaluations,
    candidates,
    baseline: { observed: base.score, expected: bp.mean, sd: bp.sd },
    referenceFloorDb: floor,
    model: modelSummary(gp, o),
    audioSeconds,
    elapsedMs: Date.now() - started,
  };
}
