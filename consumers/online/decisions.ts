// One online decision for one (call, station), on its own (the API's on-demand decision): the plan
// (plan.ts, pure) is carried out through the one safe change path, and the run (scorecard, analysis,
// next iteration) is recorded in optimizer_runs and queued as an OptimizerResult — all in one
// transaction. The online role decides whole Kafka batches instead (batch.ts).
import { randomUUID } from 'node:crypto';
import type { ChangeService } from '../../config/changes.ts';
import { callScope, configKey } from '../../config/keys.ts';
import { enqueue } from '../../config/outbox.ts';
import type { OptimizerResult, StationSnapshot } from '../../contracts/generated.ts';
import type { LearnedRegion } from '../../optimizer/core/prior.ts';
import * as configRepo from '../../storage/configState.ts';
import { inRoleTransaction, type Pool, type PoolClient } from '../../storage/db.ts';
import * as runs from '../../storage/runs.ts';
import {
  type CallMemory,
  type Current,
  type DecisionOutcome,
  noteCallChange,
  planController,
  planExternal,
  settle,
  unknownCallChange,
} from './plan.ts';

export type { CallMemory, DecisionOutcome } from './plan.ts';

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
  const eff = await deps.changes.effective(snap.station_id, scope);
  const callKey = configKey(snap.station_id, scope);
  const rec = eff.records.find((r) => configKey(r.station_id, r.scope) === callKey);
  const cur: Current = {
    params: eff.params,
    version: eff.version,
    callChangeId: rec?.change_id ?? null,
    callVersion: rec?.version ?? 0,
  };
  const unknown = unknownCallChange(mem, cur);
  if (unknown) noteCallChange(mem, cur, await configRepo.changeById(deps.pool, unknown));
  if (mem.prior === undefined)
    mem.prior = deps.priors ? await deps.priors(snap.tenant_id, snap.station_id) : null;
  const ctx = { now: deps.clock(), explore: deps.explore, actor, callTtlMs: deps.callTtlMs };
  const runId = randomUUID();
  const plan = planExternal(snap, mem, cur, ctx, runId) ?? planController(snap, mem, cur, ctx, runId);
  if (plan.kind === 'none') return settle(snap, mem, plan, null, ctx.now);
  const change = await inRoleTransaction(deps.pool, async (c) => {
    await recordRun(c, deps.changes.stream, plan.run, {
      stationId: snap.station_id,
      requestedBy: actor,
      verdict: plan.verdict,
    });
    return plan.req ? deps.changes.applyTx(c, plan.req, plan.rollbackOf) : null;
  });
  deps.changes.kick();
  return settle(snap, mem, plan, change, deps.clock());
}
