// One batch run, start to end (DESIGN §8, issue 6 items 1-3):
//   replay   the range of the snapshot topic, with the run's own consumer group, scoring every
//            snapshot in scope and grouping them by (station, context)
//   learn    per group, Bayesian optimisation of the station's parameters on a training sample of the
//            stored segments (counterfactual replay), warm-started from earlier runs
//   verify   the best candidates against the current defaults on segments of other calls (held out),
//            same scorecard, plus PESQ and STOI against the clean speech where the simulator stored
//            it (reference.ts); only candidates that beat the defaults by the margin without
//            sounding worse are kept
//   record   the result on the run row, the observations for the next run, and an OptimizerResult on
//            the results topic (through the outbox). Nothing is applied: a kept candidate is a
//            proposal for an A/B experiment (issue 6 item 4), never a change by itself.
import type { ChangeService } from '../../config/changes.ts';
import type { OptimizerResult, Scope, StationSnapshot } from '../../contracts/generated.ts';
import type { Logger } from '../../lib/log.ts';
import type { LazyJudge } from '../../quality/index.ts';
import type { AudioStore } from '../../storage/audioStore.ts';
import type { Pool } from '../../storage/db.ts';
import type { Codec } from '../../streams/registry.ts';
import { buildScorecard } from '../core/scorecard.ts';
import { type GroupHooks, learnGroup, MIN_SEGMENTS, obsRow, versionParams } from './group.ts';
import { type GroupHistory, HistoryCollector, type LearningContext } from './history.ts';
import { type BatchProgress, LEARN_END, ProgressReporter, REPLAY_SHARE } from './progress.ts';
import { PESQ_TOLERANCE, STOI_TOLERANCE } from './reference.ts';
import { regionsOf } from './regions.ts';
import { type ReplayStats, replayRange } from './replay.ts';
import {
  type BatchResult,
  explain,
  type GroupReport,
  groupSkeleton,
  newParametersOf,
  proposalsOf,
} from './report.ts';
import type { BatchRequest } from './request.ts';
import { completeRun, type ObservationRow, paramsByVersion, saveProgress } from './store.ts';

export interface BatchDeps {
  kafka: import('kafkajs').Kafka;
  snapshotCodec: Codec<StationSnapshot>;
  resultCodec: Codec<OptimizerResult>;
  audio: AudioStore;
  pool: Pool;
  /** Current defaults at the run's scope come from the one change path's view of config. */
  changes: ChangeService;
  topics: { snapshots: string };
  /** Prefix of the runs' own consumer groups (cfg.groups.batch); each run appends its id. */
  groupPrefix: string;
  log: Logger;
  /**
   * The PESQ/STOI judge of the reference guard, opened when a group's stored history carries the
   * clean speech (simulation); without it such a group is learned on the score alone, and says so.
   */
  quality?: LazyJudge;
}

export interface RunHooks {
  onProgress?(p: BatchProgress): void;
  signal?: AbortSignal;
}

const SOURCE_IDS_MAX = 200;

type Baselines = Map<number, { params: Record<string, number>; version: number }>;

/** What the learn phase gathered over all groups, for the record phase. */
interface Learned {
  reports: GroupReport[];
  baselines: Baselines;
  observations: ObservationRow[];
  sourceIds: string[];
  /** Counterfactual audio replayed (seconds) and the time it took (ms). */
  cfAudio: number;
  cfMs: number;
}

export async function executeBatch(
  deps: BatchDeps,
  req: BatchRequest,
  runId: string,
  hooks: RunHooks = {},
): Promise<BatchResult> {
  const started = Date.now();
  const progress = new ProgressReporter((p) => saveProgress(deps.pool, runId, p), deps.log, hooks.onProgress);
  const toEffective = Math.min(req.to, started);
  const { collector, stats } = await replay(deps, req, runId, toEffective, progress, hooks.signal);
  const scope: Scope = { level: req.scope.level, tenant_id: req.scope.tenant_id, call_id: null };
  const learned = await learnAll(deps, req, scope, collector, progress, hooks.signal);
  return record(deps, req, runId, { started, toEffective, scope, stats, collector, learned }, progress);
}

// ---- replay ----
async function replay(
  deps: BatchDeps,
  req: BatchRequest,
  runId: string,
  toEffective: number,
  progress: ProgressReporter,
  signal: AbortSignal | undefined,
): Promise<{ collector: HistoryCollector; stats: ReplayStats }> {
  progress.update((p) => {
    p.phase = 'replay';
    p.message = `replaying ${new Date(req.from).toISOString()} .. ${new Date(toEffective).toISOString()}`;
  });
  const collector = new HistoryCollector({
    tenantId: req.scope.tenant_id,
    stationIds: req.scope.station_ids,
    seed: req.seed,
  });
  const replayStarted = Date.now();
  const stats: ReplayStats = await replayRange(
    { kafka: deps.kafka, codec: deps.snapshotCodec, log: deps.log },
    {
      topic: deps.topics.snapshots,
      from: req.from,
      to: toEffective,
      groupId: `${deps.groupPrefix}.${runId}`,
      ...(signal ? { signal } : {}),
      onSnapshot: (s, m) => {
        collector.add(s, m.whole);
      },
      onProgress: (r) =>
        progress.update((p) => {
          const secs = (Date.now() - replayStarted) / 1000;
          p.replay = {
            records_total: r.total,
            read: r.read,
            in_scope: collector.matched,
            partitions: r.partitions,
            partitions_done: r.partitionsDone,
            snapshots_per_s: secs > 0 ? Math.round(r.read / secs) : 0,
          };
          p.percent = r.total > 0 ? (REPLAY_SHARE * r.read) / r.total : REPLAY_SHARE;
        }),
    },
  );
  signal?.throwIfAborted();
  return { collector, stats };
}

// ---- learn and verify, group by group ----
async function learnAll(
  deps: BatchDeps,
  req: BatchRequest,
  scope: Scope,
  collector: HistoryCollector,
  progress: ProgressReporter,
  signal: AbortSignal | undefined,
): Promise<Learned> {
  const stream = deps.changes.stream;
  const histories = collector.history();
  const versions = [...new Set(histories.flatMap((h) => h.versions.map((v) => v.version)))];
  const known = await paramsByVersion(deps.pool, stream, versions);
  const baselines: Baselines = new Map();
  for (const st of new Set(histories.map((h) => h.context.stationId))) {
    const eff = await deps.changes.effective(st, scope);
    baselines.set(st, { params: eff.params, version: eff.version });
  }
  const learnable = histories.filter((h) => h.segments.length >= MIN_SEGMENTS);
  const groupShare = (LEARN_END - REPLAY_SHARE) / Math.max(1, learnable.length);
  progress.update((p) => {
    p.phase = 'learn';
    p.percent = REPLAY_SHARE;
    p.learn.groups_total = learnable.length;
    p.message = `${collector.matched} snapshots in scope, ${histories.length} group(s), ${learnable.length} with replayable audio`;
  });

  const learned: Learned = { reports: [], baselines, observations: [], sourceIds: [], cfAudio: 0, cfMs: 0 };
  let groupsDone = 0;
  for (const h of histories) {
    const ctx = h.context;
    const base = baselines.get(ctx.stationId)!;
    const report = groupSkeleton(h, known, base);
    learned.reports.push(report);
    for (const v of h.versions) {
      const params = versionParams(ctx.stationId, v.version, known);
      if (params) learned.observations.push(obsRow(ctx, params, v.mean, v.n, 'history'));
    }
    if (h.segments.length < MIN_SEGMENTS) {
      report.reason = notLearnable(h);
      continue;
    }
    signal?.throwIfAborted();
    const out = await learnGroup(
      { audio: deps.audio, pool: deps.pool, stream, ...(deps.quality ? { quality: deps.quality } : {}) },
      h,
      base,
      known,
      req,
      { ...(signal ? { signal } : {}), ...learnProgress(progress, req, ctx, groupsDone, groupShare) },
    );
    Object.assign(report, out.report);
    learned.observations.push(...out.observations);
    learned.sourceIds.push(...out.sourceIds);
    learned.cfAudio += out.audioSeconds;
    learned.cfMs += out.elapsedMs;
    groupsDone++;
    progress.update((p) => {
      p.learn.groups_done = groupsDone;
      p.percent = REPLAY_SHARE + groupShare * groupsDone;
    });
  }
  return learned;
}

/** Why a group with too few replayable segments is not learned. */
function notLearnable(h: GroupHistory): string {
  return h.replayable === 0
    ? `no replayable audio: ${Object.entries(h.notReplayable)
        .map(([r, n]) => `${n} × ${r}`)
        .join('; ')}`
    : `only ${h.replayable} replayable segment(s); ${MIN_SEGMENTS} needed`;
}

/** The progress hooks of one group's learning, after `groupsDone` groups of `groupShare` percent each. */
function learnProgress(
  progress: ProgressReporter,
  req: BatchRequest,
  ctx: LearningContext,
  groupsDone: number,
  groupShare: number,
): Pick<GroupHooks, 'onLearn' | 'onEvaluation' | 'onVerify'> {
  return {
    onLearn: (n) =>
      progress.update((p) => {
        p.phase = 'learn';
        p.learn.group = ctx.id;
        p.learn.evaluations = 0;
        p.learn.budget = req.budget;
        p.learn.best_score = null;
        p.message = `learning station ${ctx.stationId} (${ctx.key}) on ${n} segments`;
      }),
    onEvaluation: (done, budget, best) =>
      progress.update((p) => {
        p.learn.evaluations = done;
        p.learn.best_score = best;
        p.percent = Math.max(
          p.percent,
          REPLAY_SHARE + groupShare * (groupsDone + (0.85 * Math.min(done, budget)) / budget),
        );
      }),
    onVerify: (n, segs) =>
      progress.update((p) => {
        p.phase = 'verify';
        p.message = `verifying ${n} candidate(s) for station ${ctx.stationId} on ${segs} segments`;
      }),
  };
}

// ---- record ----
async function record(
  deps: BatchDeps,
  req: BatchRequest,
  runId: string,
  run: {
    started: number;
    toEffective: number;
    scope: Scope;
    stats: ReplayStats;
    collector: HistoryCollector;
    learned: Learned;
  },
  progress: ProgressReporter,
): Promise<BatchResult> {
  const { started, toEffective, scope, stats, collector } = run;
  const { reports, baselines, observations, sourceIds, cfAudio, cfMs } = run.learned;
  const replaySecs = stats.elapsedMs / 1000;
  progress.update((p) => {
    p.phase = 'saving';
    p.percent = LEARN_END;
    p.message = 'recording the result';
  });
  const proposals = proposalsOf(reports);
  const newParameters = newParametersOf(reports, baselines);
  const scorecard = buildScorecard(collector.scorecardSample());
  const analysis = explain(req, toEffective, stats, collector.matched, reports, baselines);
  const nextIteration = {
    evaluate_after_ms: 0,
    evaluate_after_snapshots: 0,
    watch_metrics: [...new Set(newParameters.map((p) => `station ${p.station_id} score`))],
    stop_condition:
      newParameters.length > 0
        ? 'not applied: roll the proposal out as an A/B experiment and promote it only on a significant win'
        : 'nothing to roll out: the current defaults hold on this history',
    converged: newParameters.length === 0,
  };
  const message: OptimizerResult = {
    schema_version: 1,
    run_id: runId,
    mode: 'batch',
    scope,
    created_at: Date.now(),
    new_parameters: newParameters,
    scorecard,
    analysis,
    next_iteration: nextIteration,
    source_snapshot_ids: sourceIds.slice(0, SOURCE_IDS_MAX),
  };
  deps.resultCodec.encode(message); // type-check before anything is written
  const result: BatchResult = {
    run_id: runId,
    range: {
      from: new Date(req.from).toISOString(),
      to: new Date(req.to).toISOString(),
      to_effective: new Date(toEffective).toISOString(),
    },
    scope: req.scope,
    budget: req.budget,
    margin: req.margin,
    reference_guard: { pesq_tolerance: PESQ_TOLERANCE, stoi_tolerance: STOI_TOLERANCE },
    replay: {
      group_id: stats.groupId,
      partitions: stats.partitions,
      records_in_range: stats.total,
      read: stats.read,
      decoded: stats.decoded,
      undecodable: stats.undecodable,
      out_of_range: stats.outOfRange,
      in_scope: collector.matched,
      elapsed_ms: stats.elapsedMs,
      snapshots_per_s: replaySecs > 0 ? stats.read / replaySecs : 0,
      snapshots_per_s_streaming: stats.streamingMs > 0 ? (stats.read - 1) / (stats.streamingMs / 1000) : 0,
      idle_stopped: stats.idleStopped,
    },
    groups: reports,
    proposals,
    counterfactual: {
      audio_seconds: cfAudio,
      elapsed_ms: cfMs,
      audio_seconds_per_s: cfMs > 0 ? cfAudio / (cfMs / 1000) : 0,
    },
    elapsed_ms: Date.now() - started,
  };
  progress.update((p) => {
    p.phase = 'done';
    p.percent = 100;
    p.message = `${proposals.length} proposal(s)`;
  });
  await progress.flush();
  await completeRun(deps.pool, deps.changes.stream, runId, {
    result,
    scorecard,
    newParameters,
    analysis,
    nextIteration,
    progress: progress.state,
    observations,
    message,
    regions: regionsOf(reports, req.scope, runId),
  });
  return result;
}
