// The A/B experiment service (DESIGN §8, issue 6): creates an experiment against the current defaults,
// enrolls calls into arms by a stable hash of call_id, delivers the treatment to treatment calls as
// call-scoped config through the one safe change path, scores both arms from the persisted snapshots,
// and carries out the verdict: promotion to the tenant/global default, rollback of the treatment
// calls, or nothing. Everything an experiment does is a ParameterChange by actor `ab:<id>` with the
// experiment's run_id, and its verdict and numbers are the experiment's row in optimizer_runs.
import { randomUUID } from 'node:crypto';
import { parameterByName, stationById } from '../../catalog/index.ts';
import type { ChangeService } from '../../config/changes.ts';
import { callScope, checkScope, configKey, tenantScope } from '../../config/keys.ts';
import { enqueue } from '../../config/outbox.ts';
import { checkChange, DEFAULT_POLICY } from '../../config/safety.ts';
import type {
  OptimizerResult,
  ParameterProposal,
  Scope,
  StationSnapshot,
} from '../../contracts/generated.ts';
import { type ErrorDetail, VoiceloopError, validationError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { inTransaction, type Pool, type PoolClient } from '../../storage/db.ts';
import type { Registry } from '../../streams/registry.ts';
import { type Arm, bucketOf } from './assign.ts';
import { type Decision, decide } from './decide.ts';
import { type DesignInput, normalizeDesign, plannedLooks } from './design.ts';
import { armScorecard, callObservation } from './observe.ts';
import {
  analysisText,
  componentShifts,
  stopRecord,
  summarizeLook,
  type VerdictAction,
  type VerdictRecord,
  verdictRecord,
} from './report.ts';
import { welchTest } from './stats.ts';
import type { Experiment, ExperimentStatus } from './store.ts';
import * as store from './store.ts';

export interface CreateExperimentRequest {
  actor: string;
  stationId: number;
  /** tenant or global: the scope whose default the treatment would become. */
  scope: Scope;
  /** The candidate values (parameters of the station). */
  treatment: Record<string, number>;
  design?: DesignInput;
  /** TTL of the treatment's call-scoped changes (default: the safety policy's call TTL). */
  callTtlMs?: number | null;
  /** Assignment salt (default: the experiment id, so two experiments split calls independently). */
  salt?: string;
  reason: string;
}

export interface ExperimentView {
  experiment_id: string;
  status: ExperimentStatus;
  station_id: number;
  scope: Scope;
  control: Record<string, number>;
  control_version: number;
  treatment: Record<string, number>;
  salt: string;
  design: Experiment['design'];
  planned_looks: ReturnType<typeof plannedLooks>;
  call_ttl_ms: number | null;
  created_by: string;
  reason: string;
  started_at: string;
  ended_at: string | null;
  arms: Record<Arm, store.ArmCounts>;
  progress: unknown;
  verdict: VerdictRecord | null;
  run: { run_id: string; mode: string; status: string; analysis: string | null; new_parameters: unknown };
}

export type EnrollOutcome =
  | { status: 'enrolled'; arm: Arm; changeId: string | null; version: number | null }
  | { status: 'excluded'; arm: Arm; reason: string }
  | { status: 'known' | 'not_in_scope' | 'closed' };

export type EvaluateOutcome =
  | { status: 'busy' | 'closed' }
  | { status: 'running'; decision: Decision; scored: number }
  | { status: 'concluded'; decision: Decision; verdict: VerdictRecord };

export interface ExperimentServiceDeps {
  pool: Pool;
  changes: ChangeService;
  registry: Registry;
  log: Logger;
}

const ACTOR = (id: string) => `ab:${id}`;
// Snapshots are stamped by the station's clock; allow for skew against the database's when scoring.
const CLOCK_SKEW_MS = 10 * 60_000;

export class ExperimentService {
  readonly stream: string;
  /** (experiment, call) pairs known to be enrolled: saves a transaction per snapshot. */
  private readonly known = new Set<string>();

  constructor(private readonly deps: ExperimentServiceDeps) {
    this.stream = deps.changes.stream;
  }

  /** Validates, captures the control (the effective defaults at the scope) and starts the experiment. */
  async create(req: CreateExperimentRequest): Promise<ExperimentView> {
    const errors: ErrorDetail[] = [];
    const station = stationById(req.stationId);
    if (!station) errors.push({ field: 'station_id', reason: `unknown station ${req.stationId}` });
    if (req.scope.level === 'call')
      errors.push({ field: 'scope.level', reason: 'an experiment runs at tenant or global scope, not call' });
    else
      errors.push(
        ...checkScope(req.scope).map((reason) => ({
          field: reason.includes('tenant_id') ? 'scope.tenant_id' : 'scope',
          reason,
        })),
      );
    const names = Object.keys(req.treatment);
    if (names.length === 0) errors.push({ field: 'treatment', reason: 'names no parameter' });
    for (const name of names) {
      const spec = parameterByName(name);
      if (!spec) errors.push({ field: `treatment.${name}`, reason: 'unknown parameter' });
      else if (station && !spec.stations.includes(req.stationId))
        errors.push({ field: `treatment.${name}`, reason: `does not apply to station ${req.stationId}` });
      else if (!Number.isFinite(req.treatment[name]))
        errors.push({ field: `treatment.${name}`, reason: 'must be a finite number' });
    }
    const design = normalizeDesign(req.design);
    if (!design.ok) errors.push(...design.errors);
    const maxTtl = DEFAULT_POLICY.maxTtlMs.call;
    if (
      req.callTtlMs != null &&
      (!Number.isInteger(req.callTtlMs) || req.callTtlMs < 1000 || req.callTtlMs > maxTtl)
    )
      errors.push({ field: 'call_ttl_ms', reason: `must be an integer in [1000, ${maxTtl}]` });
    if (errors.length || !design.ok)
      throw validationError(
        `invalid experiment: ${errors.map((e) => `${e.field} ${e.reason}`).join('; ')}`,
        errors,
      );

    const id = randomUUID();
    await inTransaction(this.deps.pool, async (c) => {
      // One creation at a time per station, so the overlap check below cannot race.
      await c.query("SELECT pg_advisory_xact_lock(hashtext('ab:create:' || $1 || ':' || $2))", [
        this.stream,
        req.stationId,
      ]);
      const overlapping = (await store.runningExperiments(c, this.stream, req.stationId)).filter(
        (e) =>
          e.scope.level === 'global' ||
          req.scope.level === 'global' ||
          e.scope.tenant_id === req.scope.tenant_id,
      );
      if (overlapping.length > 0) {
        const o = overlapping[0]!;
        throw new VoiceloopError(
          'CONFLICT',
          `experiment ${o.id} is already running on station ${req.stationId} at ${configKey(req.stationId, o.scope)}; stop it first`,
        );
      }
      const eff = await this.deps.changes.effective(req.stationId, req.scope, c);
      // The treatment must be a change the safety layer would accept from the control, both per call
      // and (on promotion) at the scope: bounds, max step, and not equal to what is in effect.
      const check = checkChange({
        stationId: req.stationId,
        scope: req.scope,
        before: eff.params,
        set: req.treatment,
        ttlMs: null,
        isRollback: false,
        lastChangeAt: null,
        now: Date.now(),
      });
      if (!check.ok) {
        throw new VoiceloopError(
          'UNSAFE_CHANGE',
          `the treatment is not a safe change from the current defaults: ${check.reasons.join('; ')}`,
          {
            details: check.reasons.map((reason) => {
              const name = names.find((n) => reason.startsWith(`${n}:`));
              return { field: name ? `treatment.${name}` : 'treatment', reason };
            }),
          },
        );
      }
      const exp: Experiment = {
        id,
        stream: this.stream,
        stationId: req.stationId,
        scope: req.scope,
        status: 'running',
        control: eff.params,
        controlVersion: eff.version,
        treatment: req.treatment,
        salt: req.salt ?? id,
        design: design.design,
        callTtlMs: req.callTtlMs ?? null,
        createdBy: req.actor,
        reason: req.reason,
        startedAt: new Date(),
        endedAt: null,
      };
      await store.insertExperiment(c, exp, {
        station_id: req.stationId,
        scope: req.scope,
        treatment: req.treatment,
        design: design.design,
        call_ttl_ms: exp.callTtlMs,
        salt: exp.salt,
        reason: req.reason,
      });
    });
    this.deps.log.info(
      { experiment: id, station: req.stationId, scope: req.scope },
      'A/B experiment started',
    );
    return (await this.get(id))!;
  }

  async get(id: string): Promise<ExperimentView | null> {
    const exp = await store.loadExperiment(this.deps.pool, this.stream, id);
    if (!exp) return null;
    const { rows } = await this.deps.pool.query(
      'SELECT run_id, mode, status, analysis, new_parameters, progress, verdict FROM optimizer_runs WHERE run_id = $1',
      [id],
    );
    const run = rows[0];
    return {
      experiment_id: exp.id,
      status: exp.status,
      station_id: exp.stationId,
      scope: exp.scope,
      control: exp.control,
      control_version: exp.controlVersion,
      treatment: exp.treatment,
      salt: exp.salt,
      design: exp.design,
      planned_looks: plannedLooks(exp.design),
      call_ttl_ms: exp.callTtlMs,
      created_by: exp.createdBy,
      reason: exp.reason,
      started_at: exp.startedAt.toISOString(),
      ended_at: exp.endedAt?.toISOString() ?? null,
      arms: await store.armCounts(this.deps.pool, id),
      progress: run?.progress ?? null,
      verdict: run?.verdict ?? null,
      run: {
        run_id: id,
        mode: run?.mode,
        status: run?.status,
        analysis: run?.analysis ?? null,
        new_parameters: run?.new_parameters ?? [],
      },
    };
  }

  running(): Promise<Experiment[]> {
    return store.runningExperiments(this.deps.pool, this.stream);
  }

  /**
   * Enrolls the call of a snapshot (once): its arm from the hash, and for the treatment arm the
   * call-scoped change. Segments from the next one on are what the call is scored on.
   */
  async enroll(exp: Experiment, snap: StationSnapshot): Promise<EnrollOutcome> {
    if (snap.station_id !== exp.stationId) return { status: 'not_in_scope' };
    if (exp.scope.level === 'tenant' && snap.tenant_id !== exp.scope.tenant_id)
      return { status: 'not_in_scope' };
    const k = `${exp.id}/${snap.tenant_id}/${snap.call_id}`;
    if (this.known.has(k)) return { status: 'known' };
    const out = await inTransaction(this.deps.pool, async (c): Promise<EnrollOutcome> => {
      const cur = await store.loadExperiment(c, this.stream, exp.id, 'FOR SHARE');
      if (cur?.status !== 'running') return { status: 'closed' };
      await c.query("SELECT pg_advisory_xact_lock(hashtext('ab:enroll:' || $1 || ':' || $2))", [
        exp.id,
        snap.call_id,
      ]);
      const seen = await c.query('SELECT 1 FROM ab_calls WHERE experiment_id = $1 AND call_id = $2', [
        exp.id,
        snap.call_id,
      ]);
      if (seen.rowCount) return { status: 'known' };
      const bucket = bucketOf(exp.salt, snap.call_id);
      const arm: Arm = bucket < exp.design.treatment_share ? 'treatment' : 'control';
      const insert = (status: 'enrolled' | 'excluded', reason: string | null) =>
        c.query(
          `INSERT INTO ab_calls (experiment_id, call_id, tenant_id, arm, bucket, enrolled_segment, status, excluded_reason)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [exp.id, snap.call_id, snap.tenant_id, arm, bucket, snap.segment.index, status, reason],
        );
      if (exp.scope.level === 'global') {
        // A tenant that overrides a treatment parameter would not get a promoted global value: its calls
        // would measure the tenant's setting, not the global default, so they stay out.
        const t = await this.deps.changes.effective(exp.stationId, tenantScope(snap.tenant_id), c);
        const overridden = Object.keys(exp.treatment).filter((n) => t.sources[n]?.level === 'tenant');
        if (overridden.length) {
          const reason = `tenant ${snap.tenant_id} overrides ${overridden.join(', ')}`;
          await insert('excluded', reason);
          return { status: 'excluded', arm, reason };
        }
      }
      await insert('enrolled', null);
      if (arm === 'control') return { status: 'enrolled', arm, changeId: null, version: null };
      const ch = await this.deps.changes.applyTx(c, {
        actor: ACTOR(exp.id),
        stationId: exp.stationId,
        scope: callScope(snap.tenant_id, snap.call_id),
        set: exp.treatment,
        reason: `A/B experiment ${exp.id}: treatment arm (bucket ${bucket.toFixed(4)} < share ${exp.design.treatment_share})`,
        ttlMs: exp.callTtlMs,
        runId: exp.id,
      });
      if (ch.status === 'applied') {
        await c.query(
          'UPDATE ab_calls SET change_id = $3, config_version = $4 WHERE experiment_id = $1 AND call_id = $2',
          [exp.id, snap.call_id, ch.change.change_id, ch.change.config_version],
        );
        return { status: 'enrolled', arm, changeId: ch.change.change_id, version: ch.change.config_version };
      }
      const reason = `treatment change refused: ${ch.reasons.join('; ')}`;
      await c.query(
        `UPDATE ab_calls SET status = 'excluded', excluded_reason = $3, change_id = $4 WHERE experiment_id = $1 AND call_id = $2`,
        [exp.id, snap.call_id, reason, ch.change.change_id],
      );
      return { status: 'excluded', arm, reason };
    });
    if (out.status === 'enrolled' || out.status === 'excluded' || out.status === 'known') {
      if (this.known.size > 200_000) this.known.clear();
      this.known.add(k);
    }
    if ((out.status === 'enrolled' || out.status === 'excluded') && out.arm === 'treatment')
      this.deps.changes.kick();
    return out;
  }

  /** One evaluation: score calls that have enough segments, take the looks now due, act on a verdict. */
  async evaluate(id: string): Promise<EvaluateOutcome> {
    const out = await inTransaction(this.deps.pool, async (c): Promise<EvaluateOutcome> => {
      const lock = await c.query<{ ok: boolean }>(
        "SELECT pg_try_advisory_xact_lock(hashtext('ab:eval:' || $1)) AS ok",
        [id],
      );
      if (!lock.rows[0]?.ok) return { status: 'busy' };
      const exp = await store.loadExperiment(c, this.stream, id, 'FOR UPDATE');
      if (exp?.status !== 'running') return { status: 'closed' };
      const k = exp.design.segments_per_call;
      const pending = await store.pendingCalls(c, id);
      const snaps = await store.armSnapshots(
        c,
        exp.stationId,
        new Date(exp.startedAt.getTime() - CLOCK_SKEW_MS),
        pending,
      );
      let scored = 0;
      for (const call of pending) {
        const obs = callObservation(snaps.get(call.call_id) ?? [], k);
        if (!obs) continue;
        await store.markScored(c, id, call.call_id, obs.score, obs.snapshot_ids);
        scored++;
      }
      await store.excludeStale(c, id, exp.callTtlMs ?? DEFAULT_POLICY.defaultTtlMs.call ?? 3_600_000, k);
      const obs = await store.observations(c, id);
      const decision = decide(
        exp.design,
        obs.control.map((o) => o.score),
        obs.treatment.map((o) => o.score),
      );
      const progress = {
        phase: decision.verdict ? 'concluded' : 'enrolling',
        arms: await store.armCounts(c, id),
        looks: decision.looks.map(summarizeLook),
        next_look: decision.next,
      };
      if (!decision.verdict) {
        await store.updateProgress(c, id, progress);
        return { status: 'running', decision, scored };
      }
      const verdict = await this.conclude(
        c,
        exp,
        decision as Decision & { verdict: NonNullable<Decision['verdict']> },
        obs,
        progress,
      );
      return { status: 'concluded', decision, verdict };
    });
    if (out.status === 'concluded') {
      this.deps.changes.kick();
      this.deps.log.info(
        { experiment: id, verdict: out.verdict.kind, p: out.verdict.p_value },
        'A/B experiment concluded',
      );
    }
    return out;
  }

  /** Stops a running experiment by hand; by default the treatment calls are rolled back. */
  async stop(id: string, actor: string, reason: string, rollback = true): Promise<ExperimentView> {
    await inTransaction(this.deps.pool, async (c) => {
      const exp = await store.loadExperiment(c, this.stream, id, 'FOR UPDATE');
      if (!exp) throw new VoiceloopError('NOT_FOUND', `experiment ${id} does not exist`);
      if (exp.status !== 'running')
        throw new VoiceloopError('CONFLICT', `experiment ${id} has already ended (${exp.status})`);
      const obs = await store.observations(c, id);
      const cs = obs.control.map((o) => o.score);
      const ts = obs.treatment.map((o) => o.score);
      const decision = decide(exp.design, cs, ts);
      const sofar =
        cs.length >= 2 && ts.length >= 2 ? welchTest(cs, ts, 'two-sided', exp.design.alpha) : null;
      const action: VerdictAction = rollback
        ? await this.rollbackTreatment(c, exp, `A/B experiment ${id} stopped by ${actor}: ${reason}`)
        : { kind: 'none' };
      const v = stopRecord(exp.design, decision.looks, sofar, action, actor, reason);
      const cap = exp.design.max_sample_per_arm;
      const { control, treatment } = await this.scorecards(
        c,
        obs.control.slice(0, cap),
        obs.treatment.slice(0, cap),
      );
      await this.record(c, exp, 'stopped', 'stopped', v, control, treatment, [], {
        phase: 'stopped',
        arms: await store.armCounts(c, id),
        looks: decision.looks.map(summarizeLook),
        next_look: null,
      });
    });
    this.deps.changes.kick();
    return (await this.get(id))!;
  }

  private async conclude(
    c: PoolClient,
    exp: Experiment,
    decision: Decision & { verdict: NonNullable<Decision['verdict']> },
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
      ({ action, proposals } = await this.promote(c, exp, `A/B experiment ${exp.id} promoted: ${why}`));
      status = action.kind === 'promoted' ? 'promoted' : 'not_promoted';
    } else if (kind === 'worse' || kind === 'guardrail_stop') {
      action = await this.rollbackTreatment(
        c,
        exp,
        `A/B experiment ${exp.id} ${kind === 'worse' ? 'found the treatment worse' : 'stopped by its guardrail'}: ${why}`,
      );
      status = 'rolled_back';
    }
    const v = verdictRecord(exp.design, decision, action);
    const { control, treatment } = await this.scorecards(
      c,
      obs.control.slice(0, n),
      obs.treatment.slice(0, n),
    );
    await this.record(
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

  private async scorecards(c: PoolClient, control: store.Observation[], treatment: store.Observation[]) {
    const load = async (o: store.Observation[]) =>
      armScorecard(
        await store.snapshotsById(
          c,
          o.flatMap((x) => x.snapshot_ids),
        ),
      );
    return { control: await load(control), treatment: await load(treatment) };
  }

  /** Writes the verdict into the experiment's run and queues its OptimizerResult. */
  private async record(
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
    this.deps.registry.codec('OptimizerResult').encode(result);
    await enqueue(c, this.stream, [
      { role: 'results', contract: 'OptimizerResult', key: exp.scope.tenant_id ?? 'global', payload: result },
    ]);
  }

  private async promote(
    c: PoolClient,
    exp: Experiment,
    reason: string,
  ): Promise<{ action: VerdictAction; proposals: ParameterProposal[] }> {
    const eff = await this.deps.changes.effective(exp.stationId, exp.scope, c);
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
    const out = await this.deps.changes.applyTx(c, {
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
    const proposals = Object.entries(exp.treatment).map(([name, v]) => ({
      station_id: exp.stationId,
      name,
      old: exp.control[name] ?? null,
      new: v,
      unit: parameterByName(name)?.unit ?? '',
      reason,
    }));
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
  private async rollbackTreatment(c: PoolClient, exp: Experiment, reason: string): Promise<VerdictAction> {
    const { rows } = await c.query<{
      call_id: string;
      tenant_id: string;
      change_id: string;
      before: Record<string, number>;
      current_change: string | null;
      expires_at: Date | null;
      tombstoned_at: Date | null;
    }>(
      `SELECT a.call_id, a.tenant_id, a.change_id, pc.before, cs.change_id AS current_change, cs.expires_at, cs.tombstoned_at
         FROM ab_calls a JOIN parameter_changes pc ON pc.change_id = a.change_id
         LEFT JOIN config_state cs ON cs.stream = $2 AND cs.config_key = $3 || '/call/' || a.call_id
        WHERE a.experiment_id = $1 AND a.arm = 'treatment' AND pc.status = 'applied'
        ORDER BY a.enrolled_at`,
      [exp.id, this.stream, String(exp.stationId)],
    );
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
      const out = await this.deps.changes.applyTx(
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
}
