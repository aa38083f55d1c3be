// What one online decision does, without I/O (issue 16's shape: pure decisions, I/O around them). A
// plan says whether the decision only updates the controller's memory, records a run, or changes a
// parameter (forward, or rolling back its own or someone else's change); `settle` folds the change
// path's outcome back into the memory. decisions.ts (one decision, on demand) and batch.ts (a Kafka
// batch in one transaction) carry plans out.
import type { ChangeOutcome, ChangeRequest } from '../../config/changes.ts';
import { callScope } from '../../config/keys.ts';
import type {
  OptimizerResult,
  ParameterProposal,
  StationScore,
  StationSnapshot,
} from '../../contracts/generated.ts';
import { proposalsFromDiff } from '../../domain/proposals.ts';
import {
  attributableDrop,
  type ControllerState,
  componentScores,
  type Decision,
  decide,
  markApplied,
  markRejected,
  ROLLBACK_DROP_POINTS,
  scoreSnapshot,
} from '../../optimizer/core/index.ts';
import type { LearnedRegion } from '../../optimizer/core/prior.ts';

export interface CallMemory {
  state: ControllerState | null;
  /** The learned region this call started with (read once per call); null: none learned. */
  prior?: LearnedRegion | null;
  /** change_id of the last change this controller made at this call and station (for rollback). */
  lastChangeId: string | null;
  /** Recent scores, the baseline against which a change made by someone else is judged. */
  recent?: number[];
  /** Component scores of the latest snapshot, to tell a change's effect from the content's. */
  lastComponents?: Record<string, number>;
  /** A call-scoped change the controller did not make (an operator's), waiting to be judged. */
  external?: {
    changeId: string;
    version: number;
    scoreBefore: number;
    componentsBefore: Record<string, number>;
    changed: string[];
    actorReason: string;
    /** The values the change replaced: what a rollback restores. */
    before: Record<string, number>;
  } | null;
}

export interface DecisionOutcome {
  state: ControllerState;
  decision: Decision;
  runId: string | null;
  change: ChangeOutcome | null;
  /** Set when the change that this decision judged was rolled back. */
  rolledBack: string | null;
}

/** What the decision needs to know of the values in effect at the call. */
export interface Current {
  params: Readonly<Record<string, number>>;
  version: number;
  /** The call-scope record's change, if one is in effect. */
  callChangeId: string | null;
  callVersion: number;
}

/** The change a call-scope record came from, as the audit log has it. */
export interface ChangeFacts {
  actor: string;
  reason: string;
  rollback_of: string | null;
  before: Record<string, number>;
  after: Record<string, number>;
}

export interface PlanContext {
  now: number;
  explore: boolean;
  actor: string;
  callTtlMs: number;
}

export type Plan =
  /** Nothing to change and nothing judged: the decision lives in the controller's memory only. */
  | { kind: 'none'; decision: Decision }
  /** A run to record (a verdict, proposals), and the change to make if `req` is set. */
  | {
      kind: 'act';
      decision: Decision;
      run: OptimizerResult;
      verdict: unknown;
      req: ChangeRequest | null;
      rollbackOf: string | null;
      /** Set for the rollback of someone else's change (judged on this snapshot). */
      external: { changeId: string; reason: string; score: StationScore } | null;
    };

/** Scores kept as the baseline for judging someone else's change. */
const BASELINE_WINDOW = 3;

export function remember(mem: CallMemory, score: StationScore): void {
  mem.recent = [...(mem.recent ?? []), score.score].slice(-BASELINE_WINDOW);
  mem.lastComponents = componentScores(score);
}

/** The call-scope change in effect that this controller has not seen yet (its facts are needed), or null. */
export function unknownCallChange(mem: CallMemory, cur: Current): string | null {
  const id = cur.callChangeId;
  if (!id || id === mem.lastChangeId || id === mem.external?.changeId) return null;
  return (mem.recent?.length ?? 0) > 0 ? id : null;
}

/**
 * Someone else's change at this call (an operator's, through the API) is judged like the controller's
 * own: it waits in `mem.external` for the first snapshot that runs it. Rollbacks restore a state that
 * was already judged; only forward changes by others are judged. An A/B experiment's treatment (actor
 * ab:<id>) is judged by the experiment across many calls, not here on one.
 */
export function noteCallChange(mem: CallMemory, cur: Current, row: ChangeFacts | undefined): void {
  const id = cur.callChangeId!;
  if (row && row.rollback_of === null && !row.actor.startsWith('ab:')) {
    const base = mem.recent!;
    mem.external = {
      changeId: id,
      version: cur.callVersion,
      scoreBefore: base.reduce((a, b) => a + b, 0) / base.length,
      componentsBefore: mem.lastComponents ?? {},
      changed: Object.keys(row.after).filter(
        (k) => Math.abs((row.before[k] ?? 0) - (row.after[k] ?? 0)) > 1e-9,
      ),
      actorReason: `${row.actor} ("${row.reason}")`,
      before: row.before,
    };
  } else {
    mem.lastChangeId = id;
  }
}

function onlineRun(
  snap: StationSnapshot,
  ctx: PlanContext,
  runId: string,
  proposals: ParameterProposal[],
  score: StationScore,
  analysis: string,
  next: OptimizerResult['next_iteration'],
): OptimizerResult {
  return {
    schema_version: 1,
    run_id: runId,
    mode: 'online',
    scope: callScope(snap.tenant_id, snap.call_id),
    created_at: ctx.now,
    new_parameters: proposals,
    scorecard: { overall: score.score, stations: [score] },
    analysis,
    next_iteration: next,
    source_snapshot_ids: [snap.snapshot_id],
  };
}

/**
 * The judgement of a waiting external change on this snapshot: null when there is none to judge yet or
 * it is accepted (then the memory goes on from here), else the plan that rolls it back. Updates `mem`.
 */
export function planExternal(
  snap: StationSnapshot,
  mem: CallMemory,
  cur: Current,
  ctx: PlanContext,
  runId: string,
): Plan | null {
  const ext = mem.external;
  if (!ext || snap.applied_config_version < ext.version) return null;
  const score = scoreSnapshot(snap, undefined, { input: false });
  mem.external = null;
  // Accepted unless the score fell beyond the noise AND the fall is on what the change can move.
  const attributable = attributableDrop(ext.componentsBefore, score, ext.changed);
  if (score.score >= ext.scoreBefore - ROLLBACK_DROP_POINTS || attributable < ROLLBACK_DROP_POINTS) {
    remember(mem, score);
    return null;
  }
  const worst = [...score.components].sort((a, b) => a.score - b.score).slice(0, 2);
  const reason = `score fell from ${ext.scoreBefore.toFixed(1)} to ${score.score.toFixed(1)} (${attributable.toFixed(1)} points on what ${ext.changed.join(', ')} moves) after the change by ${ext.actorReason}; weakest now: ${worst.map((c) => `${c.name} ${c.score.toFixed(2)} (${c.detail})`).join(', ')}`;
  // The proposals are listed against the set this decision read; the change path re-reads under its lock.
  const proposals = proposalsFromDiff(snap.station_id, cur.params, ext.before, reason);
  const decision = decide({
    snapshot: snap,
    current: cur.params,
    state: mem.state,
    now: ctx.now,
    explore: false,
  });
  const run = onlineRun(snap, ctx, runId, proposals, score, `Automatic rollback: ${reason}.`, {
    evaluate_after_ms: 1000,
    evaluate_after_snapshots: 1,
    watch_metrics: worst.map((w) => w.name),
    stop_condition: 'the restored set is judged like any other',
    converged: false,
  });
  return {
    kind: 'act',
    decision,
    run,
    verdict: { kind: 'regressed', before: ext.scoreBefore, after: score.score, detail: reason },
    req: {
      actor: `${ctx.actor}:auto-rollback`,
      stationId: snap.station_id,
      scope: callScope(snap.tenant_id, snap.call_id),
      set: ext.before,
      reason: `automatic rollback: ${reason}`,
      ttlMs: ctx.callTtlMs,
      runId,
    },
    rollbackOf: ext.changeId,
    external: { changeId: ext.changeId, reason, score },
  };
}

/** The controller's own decision on this snapshot against the values in effect. */
export function planController(
  snap: StationSnapshot,
  mem: CallMemory,
  cur: Current,
  ctx: PlanContext,
  runId: string,
): Plan {
  const d = decide({
    snapshot: snap,
    current: cur.params,
    state: mem.state,
    now: ctx.now,
    explore: ctx.explore,
    ...(mem.prior ? { prior: mem.prior } : {}),
  });
  const acting = d.rollback !== null || d.proposals.length > 0;
  if (!acting && d.verdict === null) return { kind: 'none', decision: d };
  const proposals: ParameterProposal[] = d.rollback
    ? proposalsFromDiff(snap.station_id, cur.params, d.rollback.to, d.rollback.reason)
    : d.proposals;
  const run = onlineRun(snap, ctx, runId, proposals, d.score, d.analysis, d.nextIteration);
  const scope = callScope(snap.tenant_id, snap.call_id);
  const set = Object.fromEntries(proposals.map((p) => [p.name, p.new]));
  const req: ChangeRequest | null =
    proposals.length === 0
      ? null
      : d.rollback
        ? {
            actor: `${ctx.actor}:auto-rollback`,
            stationId: snap.station_id,
            scope,
            set,
            reason: `automatic rollback: ${d.rollback.reason}`,
            ttlMs: ctx.callTtlMs,
            runId,
          }
        : {
            actor: ctx.actor,
            stationId: snap.station_id,
            scope,
            set,
            reason: proposals.map((p) => `${p.name}: ${p.reason}`).join('; '),
            ttlMs: ctx.callTtlMs,
            runId,
          };
  return {
    kind: 'act',
    decision: d,
    run,
    verdict: d.verdict,
    req,
    rollbackOf: d.rollback && req ? mem.lastChangeId : null,
    external: null,
  };
}

/** Folds the plan's outcome into the memory (after the change committed) and says what happened. */
export function settle(
  snap: StationSnapshot,
  mem: CallMemory,
  plan: Plan,
  change: ChangeOutcome | null,
  now: number,
): DecisionOutcome {
  if (plan.kind === 'none') {
    mem.state = plan.decision.state;
    remember(mem, plan.decision.score);
    return { state: mem.state, decision: plan.decision, runId: null, change: null, rolledBack: null };
  }
  const runId = plan.run.run_id;
  if (plan.external && change) {
    const ext = plan.external;
    if (change.status === 'applied') mem.lastChangeId = change.change.change_id;
    const decision = decide({
      snapshot: snap,
      current: change.change.after,
      state: mem.state,
      now,
      explore: false,
    });
    mem.state = markApplied({ ...decision.state, pending: null }, change.record?.version ?? 0);
    return {
      state: mem.state,
      decision: {
        ...decision,
        analysis: `Automatic rollback: ${ext.reason}.`,
        proposals: [],
        rollback: { to: change.change.after, reason: ext.reason },
      },
      runId,
      change,
      rolledBack: ext.changeId,
    };
  }
  let state = plan.decision.state;
  const rolledBack = plan.rollbackOf;
  if (change) {
    if (change.status === 'applied' && change.record) {
      state = markApplied(state, change.record.version);
      mem.lastChangeId = change.change.change_id;
    } else {
      state = markRejected(state);
    }
  }
  mem.state = state;
  remember(mem, plan.decision.score);
  return { state, decision: plan.decision, runId, change, rolledBack };
}
