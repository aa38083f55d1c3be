// One online decision for one (call, station), as a unit of work: the controller decides (pure), the
// change or rollback goes through the one safe path, and the run (scorecard, analysis, next iteration)
// is recorded in optimizer_runs and queued as an OptimizerResult — all in one transaction.
import { randomUUID } from 'node:crypto';
import type { ChangeOutcome, ChangeService } from '../../config/changes.ts';
import { callScope } from '../../config/keys.ts';
import { enqueue } from '../../config/outbox.ts';
import type {
  ConfigRecord,
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
import * as configRepo from '../../storage/configState.ts';
import { inTransaction, type Pool, type PoolClient } from '../../storage/db.ts';
import * as runs from '../../storage/runs.ts';

export interface DecisionDeps {
  pool: Pool;
  changes: ChangeService;
  /** TTL of the call-scoped changes the optimizer makes: they die with the call or this. */
  callTtlMs: number;
  explore: boolean;
  /** The decisions' clock (cool-downs, evaluation windows); tests inject one instead of sleeping. */
  clock: () => number;
  /** The batch optimizer's learned region for a tenant and station (start point and step size). */
  priors?: (tenantId: string, stationId: number) => Promise<LearnedRegion | null>;
}

export interface DecisionOutcome {
  state: ControllerState;
  decision: Decision;
  runId: string | null;
  change: ChangeOutcome | null;
  /** Set when the change that this decision judged was rolled back. */
  rolledBack: string | null;
}

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
  } | null;
}

/** Scores kept as the baseline for judging someone else's change. */
const BASELINE_WINDOW = 3;

/** Records an online run in optimizer_runs and queues its OptimizerResult, in the caller's transaction. */
export async function recordRun(
  c: PoolClient,
  stream: string,
  run: OptimizerResult,
  extra: { stationId: number | null; requestedBy: string; status?: string; verdict?: unknown },
): Promise<void> {
  await runs.insertOnlineRun(c, stream, run, extra);
  await enqueue(c, stream, [
    {
      role: 'results',
      contract: 'OptimizerResult',
      key: run.scope.call_id ?? run.scope.tenant_id ?? 'global',
      payload: run,
    },
  ]);
}

/** Decides on one snapshot and carries the decision out. `mem` is updated in place. */
export async function decideAndApply(
  deps: DecisionDeps,
  snap: StationSnapshot,
  mem: CallMemory,
  actor = 'optimizer:online',
): Promise<DecisionOutcome> {
  const scope = callScope(snap.tenant_id, snap.call_id);
  const current = await deps.changes.effective(snap.station_id, scope);
  const judged = await judgeExternal(deps, snap, mem, current, actor);
  if (judged) return judged;
  if (mem.prior === undefined)
    mem.prior = deps.priors ? await deps.priors(snap.tenant_id, snap.station_id) : null;
  const d = decide({
    snapshot: snap,
    current: current.params,
    state: mem.state,
    now: deps.clock(),
    explore: deps.explore,
    ...(mem.prior ? { prior: mem.prior } : {}),
  });
  let state = d.state;
  const acting = d.rollback !== null || d.proposals.length > 0;
  if (!acting && d.verdict === null) {
    // Nothing to change and nothing judged: the decision is in the controller's memory only.
    mem.state = state;
    remember(mem, d.score);
    return { state, decision: d, runId: null, change: null, rolledBack: null };
  }
  const runId = randomUUID();
  let rolledBack: string | null = null;
  const proposals: ParameterProposal[] = d.rollback
    ? proposalsFromDiff(snap.station_id, current.params, d.rollback.to, d.rollback.reason)
    : d.proposals;

  const change = await inTransaction(deps.pool, async (c) => {
    const run: OptimizerResult = {
      schema_version: 1,
      run_id: runId,
      mode: 'online',
      scope,
      created_at: deps.clock(),
      new_parameters: proposals,
      scorecard: { overall: d.score.score, stations: [d.score] },
      analysis: d.analysis,
      next_iteration: d.nextIteration,
      source_snapshot_ids: [snap.snapshot_id],
    };
    await recordRun(c, deps.changes.stream, run, {
      stationId: snap.station_id,
      requestedBy: actor,
      verdict: d.verdict,
    });
    if (proposals.length === 0) return null;
    const set = Object.fromEntries(proposals.map((p) => [p.name, p.new]));
    if (d.rollback) {
      rolledBack = mem.lastChangeId;
      return deps.changes.applyTx(
        c,
        {
          actor: `${actor}:auto-rollback`,
          stationId: snap.station_id,
          scope,
          set,
          reason: `automatic rollback: ${d.rollback.reason}`,
          ttlMs: deps.callTtlMs,
          runId,
        },
        mem.lastChangeId,
      );
    }
    return deps.changes.applyTx(c, {
      actor,
      stationId: snap.station_id,
      scope,
      set,
      reason: proposals.map((p) => `${p.name}: ${p.reason}`).join('; '),
      ttlMs: deps.callTtlMs,
      runId,
    });
  });
  deps.changes.kick();
  if (change) {
    if (change.status === 'applied' && change.record) {
      state = markApplied(state, change.record.version);
      mem.lastChangeId = change.change.change_id;
    } else {
      state = markRejected(state);
    }
  }
  mem.state = state;
  remember(mem, d.score);
  return { state, decision: d, runId, change, rolledBack };
}

function remember(mem: CallMemory, score: StationScore) {
  mem.recent = [...(mem.recent ?? []), score.score].slice(-BASELINE_WINDOW);
  mem.lastComponents = componentScores(score);
}

/**
 * Someone else's change at this call (an operator's, through the API) is judged like the controller's
 * own: once a snapshot runs it, a score drop beyond ROLLBACK_DROP_POINTS against the recent baseline
 * rolls it back through the same safe path, with the numbers as evidence. Tenant and global changes
 * are judged across many calls by the batch optimizer's experiments, not by one call.
 */
async function judgeExternal(
  deps: DecisionDeps,
  snap: StationSnapshot,
  mem: CallMemory,
  current: { params: Readonly<Record<string, number>>; records: readonly ConfigRecord[] },
  actor: string,
): Promise<DecisionOutcome | null> {
  const rec = current.records.find((r) => r.scope.level === 'call' && r.scope.call_id === snap.call_id);
  const known = new Set([mem.lastChangeId, mem.external?.changeId]);
  if (rec && !known.has(rec.change_id) && (mem.recent?.length ?? 0) > 0) {
    const row = await configRepo.changeById(deps.pool, rec.change_id);
    // Rollbacks restore a state that was already judged; only forward changes by others are judged.
    // An A/B experiment's treatment (actor ab:<id>) is judged by the experiment across many calls,
    // not here on one: rolling it back would move the call out of its arm.
    if (row && row.rollback_of === null && !row.actor.startsWith('ab:')) {
      const base = mem.recent!;
      mem.external = {
        changeId: rec.change_id,
        version: rec.version,
        scoreBefore: base.reduce((a, b) => a + b, 0) / base.length,
        componentsBefore: mem.lastComponents ?? {},
        changed: Object.keys(row.after).filter(
          (k) => Math.abs((row.before[k] ?? 0) - (row.after[k] ?? 0)) > 1e-9,
        ),
        actorReason: `${row.actor} ("${row.reason}")`,
      };
    } else {
      mem.lastChangeId = rec.change_id;
    }
  }
  const ext = mem.external;
  if (!ext || snap.applied_config_version < ext.version) return null;
  const score = scoreSnapshot(snap);
  mem.external = null;
  // Accepted unless the score fell beyond the noise AND the fall is on what the change can move; the
  // controller goes on from here.
  const attributable = attributableDrop(ext.componentsBefore, score, ext.changed);
  if (score.score >= ext.scoreBefore - ROLLBACK_DROP_POINTS || attributable < ROLLBACK_DROP_POINTS) {
    remember(mem, score);
    return null;
  }
  const worst = [...score.components].sort((a, b) => a.score - b.score).slice(0, 2);
  const reason = `score fell from ${ext.scoreBefore.toFixed(1)} to ${score.score.toFixed(1)} (${attributable.toFixed(1)} points on what ${ext.changed.join(', ')} moves) after the change by ${ext.actorReason}; weakest now: ${worst.map((c) => `${c.name} ${c.score.toFixed(2)} (${c.detail})`).join(', ')}`;
  const runId = randomUUID();
  const change = await inTransaction(deps.pool, async (c) => {
    // The proposals are listed against the set this decision read; the change path re-reads under its lock.
    const to = (await configRepo.changeById(c, ext.changeId))?.before ?? {};
    const proposals = proposalsFromDiff(snap.station_id, current.params, to, reason);
    const run: OptimizerResult = {
      schema_version: 1,
      run_id: runId,
      mode: 'online',
      scope: callScope(snap.tenant_id, snap.call_id),
      created_at: deps.clock(),
      new_parameters: proposals,
      scorecard: { overall: score.score, stations: [score] },
      analysis: `Automatic rollback: ${reason}.`,
      next_iteration: {
        evaluate_after_ms: 1000,
        evaluate_after_snapshots: 1,
        watch_metrics: worst.map((w) => w.name),
        stop_condition: 'the restored set is judged like any other',
        converged: false,
      },
      source_snapshot_ids: [snap.snapshot_id],
    };
    await recordRun(c, deps.changes.stream, run, {
      stationId: snap.station_id,
      requestedBy: actor,
      verdict: { kind: 'regressed', before: ext.scoreBefore, after: score.score, detail: reason },
    });
    return deps.changes.applyTx(
      c,
      {
        actor: `${actor}:auto-rollback`,
        stationId: snap.station_id,
        scope: callScope(snap.tenant_id, snap.call_id),
        set: to,
        reason: `automatic rollback: ${reason}`,
        ttlMs: deps.callTtlMs,
        runId,
      },
      ext.changeId,
    );
  });
  deps.changes.kick();
  if (change.status === 'applied') mem.lastChangeId = change.change.change_id;
  const decision = decide({
    snapshot: snap,
    current: change.change.after,
    state: mem.state,
    now: deps.clock(),
    explore: false,
  });
  mem.state = markApplied({ ...decision.state, pending: null }, change.record?.version ?? 0);
  return {
    state: mem.state,
    decision: {
      ...decision,
      analysis: `Automatic rollback: ${reason}.`,
      proposals: [],
      rollback: { to: change.change.after, reason },
    },
    runId,
    change,
    rolledBack: ext.changeId,
  };
}
