// Carrying out an experiment's verdict (DESIGN §8): promotion of the treatment to the scope's default,
// rollback of the treatment calls, and the record of it all in the experiment's run and an
// OptimizerResult on the outbox. Called inside the service's transactions.
import { callScope } from '../../config/keys.ts';
import { enqueue } from '../../config/outbox.ts';
import type { OptimizerResult, ParameterProposal } from '../../contracts/generated.ts';
import { proposalsFromDiff } from '../../domain/proposals.ts';
import type { PoolClient } from '../../storage/db.ts';
import { recordEvent } from '../../webhooks/record.ts';
import type { Arm } from './assign.ts';
import type { ExperimentDecision } from './decide.ts';
import { armScorecard } from './observe.ts';
import {
  analysisText,
  componentShifts,
  type VerdictAction,
  type VerdictRecord,
  verdictRecord,
} from './report.ts';
import type { ExperimentServiceDeps } from './service.ts';
import type { Experiment, ExperimentStatus } from './store.ts';
import * as store from './store.ts';

export interface VerdictContext {
  deps: ExperimentServiceDeps;
  stream: string;
}

export const ACTOR = (id: string) => `ab:${id}`;

export async function conclude(
  ctx: VerdictContext,
  c: PoolClient,
  exp: Experiment,
  decision: ExperimentDecision & { verdict: NonNullable<ExperimentDecision['verdict']> },
  obs: Record<Arm, store.Observation[]>,
  progress: object,
): Promise<VerdictRecord> {
  const n = decision.verdict.look.n;
  const kind = decision.verdict.kind;
  let action: VerdictAction = { kind: 'none' };
  let status: ExperimentStatus = 'no_verdict';
  let proposals: ParameterProposal[] = [];
  const r = decision.verdict.look.result;
  const why = `treatment ${r.treatment.mean.toFixed(2)} vs control ${r.control.mean.toFixed(2)} over ${n} calls per arm, Welch p = ${r.p_value.toPrecision(3)}`;
  if (kind === 'promote') {
    ({ action, proposals } = await promote(ctx, c, exp, `A/B experiment ${exp.id} promoted: ${why}`));
    status = action.kind === 'promoted' ? 'promoted' : 'not_promoted';
  } else if (kind === 'worse' || kind === 'guardrail_stop') {
    action = await rollbackTreatment(
      ctx,
      c,
      exp,
      `A/B experiment ${exp.id} ${kind === 'worse' ? 'found the treatment worse' : 'stopped by its guardrail'}: ${why}`,
    );
    status = 'rolled_back';
  }
  const v = verdictRecord(exp.design, decision, action);
  const { control, treatment } = await scorecards(c, obs.control.slice(0, n), obs.treatment.slice(0, n));
  await record(
    ctx,
    c,
    exp,
    status,
    kind === 'guardrail_stop' ? 'stopped' : 'completed',
    v,
    control,
    treatment,
    proposals,
    progress,
  );
  return v;
}

export async function scorecards(
  c: PoolClient,
  control: store.Observation[],
  treatment: store.Observation[],
) {
  const load = async (o: store.Observation[]) =>
    armScorecard(
      await store.snapshotsById(
        c,
        o.flatMap((x) => x.snapshot_ids.map((snapshot_id) => ({ tenant_id: x.tenant_id, snapshot_id }))),
      ),
    );
  return { control: await load(control), treatment: await load(treatment) };
}

/** Writes the verdict into the experiment's run and queues its OptimizerResult. */
export async function record(
  ctx: VerdictContext,
  c: PoolClient,
  exp: Experiment,
  status: ExperimentStatus,
  runStatus: 'completed' | 'stopped',
  v: VerdictRecord,
  control: ReturnType<typeof armScorecard>,
  treatment: ReturnType<typeof armScorecard>,
  proposals: ParameterProposal[],
  progress: object,
): Promise<void> {
  const shifts = componentShifts(control, treatment);
  const analysis = analysisText(exp.treatment, v, exp.scope.level, shifts);
  const nextIteration = {
    evaluate_after_ms: 0,
    evaluate_after_snapshots: 0,
    watch_metrics: shifts.map((s) => s.name),
    stop_condition: `experiment ended: ${v.kind}`,
    converged: true,
  };
  await store.finishExperiment(c, exp.id, status, {
    status: runStatus,
    verdict: v,
    scorecard: { control, treatment },
    newParameters: proposals,
    analysis,
    nextIteration,
    progress,
  });
  // The experiment is the batch optimizer's rollout step; OptimizerResult's mode has no 'experiment'.
  const result: OptimizerResult = {
    schema_version: 1,
    run_id: exp.id,
    mode: 'batch',
    scope: exp.scope,
    created_at: Date.now(),
    new_parameters: proposals,
    scorecard: treatment,
    analysis,
    next_iteration: nextIteration,
    source_snapshot_ids: [],
  };
  ctx.deps.registry.codec('OptimizerResult').encode(result);
  await enqueue(c, ctx.stream, [
    { role: 'results', contract: 'OptimizerResult', key: exp.scope.tenant_id ?? 'global', payload: result },
  ]);
  await recordEvent(c, ctx.stream, 'experiment.verdict', exp.scope.tenant_id, {
    experiment_id: exp.id,
    scope: exp.scope,
    status,
    verdict: v,
    analysis,
  });
}

async function promote(
  ctx: VerdictContext,
  c: PoolClient,
  exp: Experiment,
  reason: string,
): Promise<{ action: VerdictAction; proposals: ParameterProposal[] }> {
  const eff = await ctx.deps.changes.effective(exp.stationId, exp.scope, c);
  // The verdict compares the treatment with the defaults the experiment started from; if someone
  // moved them since, it says nothing about the treatment against the new ones.
  const drift = Object.entries(exp.control).filter(([k, v]) => Math.abs((eff.params[k] ?? v) - v) > 1e-9);
  if (drift.length) {
    return {
      action: {
        kind: 'not_promoted',
        change_id: null,
        reasons: [
          `the defaults changed during the experiment (${drift.map(([k, v]) => `${k} ${v} -> ${eff.params[k]}`).join(', ')})`,
        ],
      },
      proposals: [],
    };
  }
  const out = await ctx.deps.changes.applyTx(c, {
    actor: ACTOR(exp.id),
    stationId: exp.stationId,
    scope: exp.scope,
    set: exp.treatment,
    reason,
    ttlMs: null,
    runId: exp.id,
  });
  if (out.status !== 'applied')
    return {
      action: { kind: 'not_promoted', reasons: out.reasons, change_id: out.change.change_id },
      proposals: [],
    };
  const proposals = proposalsFromDiff(exp.stationId, exp.control, exp.treatment, reason);
  return {
    action: { kind: 'promoted', change_id: out.change.change_id, version: out.change.config_version },
    proposals,
  };
}

/**
 * Restores the control values on every treatment call whose treatment change is still the one in
 * effect, as a rollback change (history is never rewritten) that expires when the treatment would
 * have. Calls whose record expired, or that someone else changed since, are left alone and listed.
 */
export async function rollbackTreatment(
  ctx: VerdictContext,
  c: PoolClient,
  exp: Experiment,
  reason: string,
): Promise<VerdictAction> {
  const rows = await store.treatmentChanges(c, exp.id, ctx.stream, exp.stationId);

  const changeIds: string[] = [];
  const skipped: { call_id: string; reason: string }[] = [];
  const now = Date.now();
  for (const r of rows) {
    if (r.current_change !== r.change_id) {
      skipped.push({ call_id: r.call_id, reason: 'changed by someone else since' });
      continue;
    }
    const left = r.expires_at ? r.expires_at.getTime() - now : null;
    if (r.tombstoned_at || (left !== null && left <= 0)) {
      skipped.push({ call_id: r.call_id, reason: 'treatment already expired' });
      continue;
    }
    const set = Object.fromEntries(
      Object.keys(exp.treatment).map((n) => [n, r.before[n] ?? exp.control[n]!]),
    );
    const out = await ctx.deps.changes.applyTx(
      c,
      {
        actor: ACTOR(exp.id),
        stationId: exp.stationId,
        scope: callScope(r.tenant_id, r.call_id),
        set,
        reason,
        ttlMs: left === null ? null : Math.ceil(left),
        runId: exp.id,
      },
      r.change_id,
    );
    if (out.status === 'applied') changeIds.push(out.change.change_id);
    else skipped.push({ call_id: r.call_id, reason: `rollback refused: ${out.reasons.join('; ')}` });
  }
  return { kind: 'rolled_back', calls: changeIds.length, change_ids: changeIds, skipped };
}
