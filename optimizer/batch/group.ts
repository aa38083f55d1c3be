// One (station, context) group of a batch run: its stored audio fetched, the GP search on training
// calls (learn.ts), the candidates verified against the current defaults on held-out calls with the
// same scorecard and — where the clean signal was stored — the reference guard (reference.ts: PESQ
// and STOI against the clean speech, first screening the search's best on the training calls, then
// on the held-out ones), and the verdict. Returns the group's report and the observations the next
// run starts from. Warm start: the earlier runs' proposals for the group are re-evaluated first and
// verified again beside the search's own best, so a run says whether the standing proposal still
// holds on its history; the best observed scores only fill the warm start up, as they include sets
// the reference guard refused as gamed (the model still learns from every earlier observation).
import { defaultsForStation } from '../../catalog/index.ts';
import type { StationSnapshot } from '../../contracts/generated.ts';
import type { LazyJudge, QualityJudge } from '../../quality/index.ts';
import type { AudioStore } from '../../storage/audioStore.ts';
import type { Pool } from '../../storage/db.ts';
import { loadReplayAudio } from '../../storage/replayAudio.ts';
import { hashSeed } from '../core/random.ts';
import { compare, evaluate, type ReplaySegment } from './counterfactual.ts';
import type { GroupHistory, LearningContext } from './history.ts';
import { type Candidate, learn, type PriorObservation, toParams, toVector, tunableSpace } from './learn.ts';
import { compareReference, judgeReference, referenceFault } from './reference.ts';
import { type CandidateReport, type GroupReport, judge, pickWinner } from './report.ts';
import type { BatchRequest } from './request.ts';
import { earlierObservations, earlierProposals, type ObservationRow } from './store.ts';

/** Groups with fewer replayable segments are reported, not learned from: too little to verify on. */
export const MIN_SEGMENTS = 4;
const TRAIN_MAX = 12;
const VERIFY_MAX = 24;
const MIN_VERIFY = 3;
const WARM_STARTS = 2;
const AUDIO_FETCH_CONCURRENCY = 8;
/** With the reference guard: the search's best this many are screened on the training calls... */
const SCREENED = 5;
/** ...and the best this many that pass are verified on the held-out calls (also without the guard). */
const VERIFIED = 3;

/** A call's place in a run's split: calls are ordered by this seeded hash of their id. */
export function callSplitKey(seed: number, callId: string): number {
  return hashSeed(`${seed}|${callId}`);
}

/**
 * Training and verification segments from different calls: calls in a seeded hash order, every third
 * one held out. With too few held-out segments, verification falls back to all of them (and says so).
 * The segments are taken call by call in that order (each call's in segment order), so the split does
 * not depend on the order the history arrived in (Kafka partitions).
 */
export function splitByCall<T extends { snapshot: StationSnapshot }>(
  segs: readonly T[],
  seed: number,
): { train: T[]; verify: T[]; heldOut: boolean } {
  const calls = [...new Set(segs.map((s) => s.snapshot.call_id))].sort(
    (a, b) => callSplitKey(seed, a) - callSplitKey(seed, b) || a.localeCompare(b),
  );
  const rank = new Map(calls.map((c, i) => [c, i]));
  const ordered = [...segs].sort(
    (a, b) =>
      rank.get(a.snapshot.call_id)! - rank.get(b.snapshot.call_id)! ||
      a.snapshot.segment.index - b.snapshot.segment.index ||
      a.snapshot.captured_at - b.snapshot.captured_at,
  );
  const held = new Set(calls.filter((_, i) => i % 3 === 2));
  if (held.size === 0 && calls.length >= 2) held.add(calls[calls.length - 1]!);
  const train = ordered.filter((s) => !held.has(s.snapshot.call_id)).slice(0, TRAIN_MAX);
  const verify = ordered.filter((s) => held.has(s.snapshot.call_id)).slice(0, VERIFY_MAX);
  if (verify.length >= MIN_VERIFY) return { train, verify, heldOut: true };
  return { train: ordered.slice(0, TRAIN_MAX), verify: ordered.slice(0, VERIFY_MAX), heldOut: false };
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export function obsRow(
  ctx: LearningContext,
  params: Record<string, number>,
  score: number,
  samples: number,
  source: ObservationRow['source'],
): ObservationRow {
  return {
    stationId: ctx.stationId,
    contextKey: ctx.key,
    tenantId: ctx.tenantId,
    params,
    score,
    samples,
    source,
  };
}

/** The parameter set each history version ran with (version 0: the catalog defaults), if known. */
export function versionParams(
  stationId: number,
  version: number,
  known: ReadonlyMap<number, { params: Record<string, number> }>,
): Record<string, number> | undefined {
  return version === 0 ? defaultsForStation(stationId) : known.get(version)?.params;
}

/** What the reference guard's screening on the training calls did (GroupReport.learning). */
export interface ReferenceScreen {
  /** Candidates judged beside the defaults. */
  judged: number;
  /** Why each dropped one was dropped. */
  dropped: string[];
  baseline_pesq: number | null;
  baseline_stoi: number | null;
}

export interface GroupDeps {
  audio: AudioStore;
  pool: Pool;
  stream: string;
  /** The PESQ/STOI judge, opened only for a group whose training segments carry the clean speech. */
  quality?: LazyJudge;
}

export interface GroupHooks {
  signal?: AbortSignal;
  onLearn?(trainSegments: number): void;
  onEvaluation?(done: number, budget: number, best: number): void;
  onVerify?(candidates: number, segments: number): void;
}

export interface GroupOutcome {
  /** The learned parts of the group's report. */
  report: Pick<
    GroupReport,
    'status' | 'reason' | 'space' | 'warm_start' | 'learning' | 'verification' | 'candidates' | 'winner'
  >;
  /** Counterfactual observations for batch_observations. */
  observations: ObservationRow[];
  /** The verification snapshots (the OptimizerResult's source_snapshot_ids). */
  sourceIds: string[];
  audioSeconds: number;
  elapsedMs: number;
}

/** The run's training and held-out segments (splitByCall), each with its stored audio. */
async function splitWithAudio(store: AudioStore, h: GroupHistory, seed: number) {
  const split = splitByCall(h.segments, seed);
  const needed = [...new Set([...split.train, ...split.verify])];
  const audio = await mapLimit(needed, AUDIO_FETCH_CONCURRENCY, (s) => loadReplayAudio(store, s.source));
  const withAudio = new Map(
    needed.map((s, i): [(typeof needed)[number], ReplaySegment] => [
      s,
      { snapshot: s.snapshot, audio: audio[i]! },
    ]),
  );
  return {
    split,
    train: split.train.map((s) => withAudio.get(s)!),
    verify: split.verify.map((s) => withAudio.get(s)!),
  };
}

/**
 * What the search starts from. Priors: the history's own parameter sets, then what earlier runs saw
 * here. Warm starts: the earlier runs' proposals, filled up with the best earlier observations.
 */
async function startingPoints(
  deps: GroupDeps,
  h: GroupHistory,
  known: ReadonlyMap<number, { params: Record<string, number> }>,
) {
  const ctx = h.context;
  const priors: PriorObservation[] = [];
  for (const v of h.versions) {
    const params = versionParams(ctx.stationId, v.version, known);
    if (params) priors.push({ params, score: v.mean, samples: v.n, source: 'history' });
  }
  const earlier = await earlierObservations(deps.pool, deps.stream, ctx.stationId, ctx.key, ctx.tenantId);
  for (const e of earlier)
    priors.push({ params: e.params, score: e.score, samples: e.samples, source: 'warm' });
  const proposed = await earlierProposals(
    deps.pool,
    deps.stream,
    ctx.stationId,
    ctx.key,
    ctx.tenantId,
    WARM_STARTS,
  );
  const warmStarts = [
    ...proposed.map((p) => p.params),
    ...earlier
      .filter((e) => e.source === 'counterfactual')
      .sort((a, b) => b.score - a.score)
      .map((e) => e.params),
  ]
    .filter((p, i, all) => all.findIndex((q) => JSON.stringify(q) === JSON.stringify(p)) === i)
    .slice(0, WARM_STARTS);
  return { priors, earlier, proposed, warmStarts };
}

/**
 * The reference guard's screening on the training calls: the search's best by score, judged with
 * PESQ and STOI beside the defaults in one batch; the ones that sound worse are not verified.
 */
async function screenOnTraining(
  quality: QualityJudge,
  stationId: number,
  baselineParams: Record<string, number>,
  candidates: readonly Candidate[],
  train: readonly ReplaySegment[],
  signal: AbortSignal | undefined,
): Promise<{ shortlist: Candidate[]; screen: ReferenceScreen }> {
  const sets = [baselineParams, ...candidates.map((c) => c.params)];
  const { scores, seconds } = await judgeReference(quality, stationId, sets, train, signal);
  const faults = candidates.map((_, i) =>
    referenceFault(compareReference(scores[i + 1], scores[0], seconds)),
  );
  return {
    shortlist: candidates.filter((_, i) => faults[i] === null),
    screen: {
      judged: candidates.length,
      dropped: faults.filter((f) => f !== null),
      baseline_pesq: scores[0]?.pesq ?? null,
      baseline_stoi: scores[0]?.stoi ?? null,
    },
  };
}

export async function learnGroup(
  deps: GroupDeps,
  h: GroupHistory,
  base: { params: Record<string, number> },
  known: ReadonlyMap<number, { params: Record<string, number> }>,
  req: BatchRequest,
  hooks: GroupHooks = {},
): Promise<GroupOutcome> {
  const ctx = h.context;
  const { signal } = hooks;
  const { split, train, verify } = await splitWithAudio(deps.audio, h, req.seed);
  const space = tunableSpace(ctx.stationId, h.constraints, base.params, {
    hasFarEnd: train.every((s) => s.audio.farEnd !== null),
    inputClips: train.some((s) => (s.snapshot.metrics.input_clipping_ratio ?? 0) > 0),
  });
  const { priors, earlier, proposed, warmStarts } = await startingPoints(deps, h, known);

  hooks.onLearn?.(train.length);
  const withClean = train.length > 0 && train.every((s) => s.audio.clean !== null);
  const quality = withClean && deps.quality ? await deps.quality.get() : null;
  const learned = await learn({
    stationId: ctx.stationId,
    space,
    baseline: base.params,
    train,
    priors,
    warmStarts,
    keep: proposed.map((p) => p.params),
    budget: req.budget,
    // A seed per station and context, not per tenant: the same request on the same data searches
    // the same way whichever tenant it is run for.
    seed: (req.seed ^ hashSeed(`${ctx.stationId}|${ctx.key}`)) >>> 0,
    pooledVar: h.pooledVar,
    // No segmental-SNR constraint: it disagrees with PESQ (RNNoise: -0.5..-1.8 dB while PESQ rises),
    // so the search runs on the score and the reference guard screens its best afterwards.
    refToleranceDb: null,
    candidates: quality ? SCREENED : VERIFIED,
    ...(signal ? { signal } : {}),
    ...(hooks.onEvaluation ? { onEvaluation: hooks.onEvaluation } : {}),
  });
  const observations = learned.evaluations.map((e) =>
    obsRow(ctx, e.params, e.score, train.length, 'counterfactual'),
  );
  const baselineParams = toParams(space, toVector(space, base.params, base.params));

  const screened = quality
    ? await screenOnTraining(quality, ctx.stationId, baselineParams, learned.candidates, train, signal)
    : { shortlist: learned.candidates, screen: null };
  // The search's best few, and the earlier proposals that passed the screen whatever their rank.
  const shortlist = screened.shortlist.filter((c, i) => i < VERIFIED || c.earlier);
  const screen = screened.screen;

  // Verification on held-out calls: the defaults and each candidate, paired segment by segment, and
  // where the clean speech is there, PESQ and STOI of each beside the defaults' in one batch.
  hooks.onVerify?.(shortlist.length, verify.length);
  const verifyStarted = Date.now();
  const baseOut = await evaluate(ctx.stationId, baselineParams, verify, signal);
  const verifiedSets = [baselineParams, ...shortlist.map((c) => c.params)];
  const refV = quality ? await judgeReference(quality, ctx.stationId, verifiedSets, verify, signal) : null;
  const candidates: CandidateReport[] = [];
  for (const [i, c] of shortlist.entries()) {
    const cmp = compare(await evaluate(ctx.stationId, c.params, verify, signal), baseOut);
    const reference = refV ? compareReference(refV.scores[i + 1], refV.scores[0], refV.seconds) : null;
    candidates.push({ ...c, verification: cmp, reference, ...judge(cmp, req.margin, reference) });
    observations.push(obsRow(ctx, c.params, cmp.candidate_score, verify.length, 'counterfactual'));
  }
  const verifySecs = verify.reduce((a, s) => a + s.audio.samples.length / s.audio.sampleRate, 0);
  const baseCmp = compare(baseOut, baseOut);

  return {
    report: {
      status: 'learned',
      reason: null,
      space: { tunable: space.specs.map((s) => s.name), fixed: space.fixed },
      warm_start: {
        observations: earlier.length,
        runs: [...new Set([...earlier, ...proposed].map((e) => e.runId))],
        re_evaluated: learned.evaluations.filter((e) => e.by === 'warm').length,
        proposals: proposed.map((p) => p.runId),
      },
      learning: {
        train_segments: train.length,
        evaluations: learned.evaluations.map((e) => ({
          params: e.params,
          score: e.score,
          ref_db: e.ref,
          by: e.by,
          feasible: e.feasible,
        })),
        reference_floor_db: learned.referenceFloorDb,
        reference_screen: screen,
        baseline_train_score: learned.baseline.observed,
        best_train_score: Math.max(...learned.evaluations.filter((e) => e.feasible).map((e) => e.score)),
        model: learned.model,
        elapsed_ms: learned.elapsedMs,
        audio_seconds: learned.audioSeconds,
      },
      verification: {
        segments: verify.length,
        calls: new Set(verify.map((s) => s.snapshot.call_id)).size,
        held_out: split.heldOut,
        baseline_score: baseCmp.baseline_score,
        baseline_ref_db: baseCmp.baseline_ref_db,
        baseline_pesq: refV?.scores[0]?.pesq ?? null,
        baseline_stoi: refV?.scores[0]?.stoi ?? null,
      },
      candidates,
      winner: pickWinner(candidates, req.margin),
    },
    observations,
    sourceIds: verify.map((s) => s.snapshot.snapshot_id),
    audioSeconds: learned.audioSeconds + verifySecs * (1 + shortlist.length),
    elapsedMs: learned.elapsedMs + (Date.now() - verifyStarted),
  };
}
