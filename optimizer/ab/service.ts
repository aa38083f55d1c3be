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
import { checkChange, DEFAULT_POLICY } from '../../config/safety.ts';
import type { Scope, StationSnapshot } from '../../contracts/generated.ts';
import { type ErrorDetail, VoiceloopError, validationError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { inRoleTransaction, inTransaction, type Pool, type PoolClient } from '../../storage/db.ts';
import type { Registry } from '../../streams/registry.ts';
import { type Arm, bucketOf } from './assign.ts';
import { decideExperiment, type ExperimentDecision } from './decide.ts';
import { type DesignInput, normalizeDesign, plannedLooks } from './design.ts';
import { callObservation } from './observe.ts';
import { stopRecord, summarizeLook, type VerdictAction, type VerdictRecord } from './report.ts';
import { welchTest } from './stats.ts';
import type { Experiment, ExperimentStatus } from './store.ts';
import * as store from './store.ts';
import { ACTOR, conclude, record, rollbackTreatment, scorecards } from './verdict.ts';

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
  | { status: 'running'; decision: ExperimentDecision; scored: number }
  | { status: 'concluded'; decision: ExperimentDecision; verdict: VerdictRecord };

export interface ExperimentServiceDeps {
  pool: Pool;
  changes: ChangeService;
  registry: Registry;
  log: Logger;
}

// Snapshots are stamped by the station's clock; allow for skew against the database's when scoring.
const CLOCK_SKEW_MS = 10 * 60_000;

export class ExperimentService {
  readonly stream: string;
  /** (experiment, call) pairs known to be enrolled: saves a transaction per snapshot. */
  private readonly known = new Set<string>();

  constructor(readonly deps: ExperimentServiceDeps) {
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
      await store.lockCreation(c, this.stream, req.stationId);
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
    const run = await store.experimentRun(this.deps.pool, id);
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
      verdict: (run?.verdict as VerdictRecord | null | undefined) ?? null,
      run: {
        run_id: id,
        mode: run?.mode as string,
        status: run?.status as string,
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
    const enrollIn = async (c: PoolClient): Promise<EnrollOutcome> => {
      const cur = await store.loadExperiment(c, this.stream, exp.id, 'FOR SHARE');
      if (cur?.status !== 'running') return { status: 'closed' };
      await store.lockEnrollment(c, exp.id, snap);
      if (await store.isEnrolled(c, exp.id, snap)) return { status: 'known' };
      const bucket = bucketOf(exp.salt, snap.call_id);
      const arm: Arm = bucket < exp.design.treatment_share ? 'treatment' : 'control';
      const insert = (status: 'enrolled' | 'excluded', reason: string | null) =>
        store.insertCall(c, { experimentId: exp.id, snap, arm, bucket, status, reason });
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
        await store.setCallChange(c, exp.id, snap, ch.change.change_id, ch.change.config_version);
        return { status: 'enrolled', arm, changeId: ch.change.change_id, version: ch.change.config_version };
      }
      const reason = `treatment change refused: ${ch.reasons.join('; ')}`;
      await store.excludeCall(c, exp.id, snap, reason, ch.change.change_id);
      return { status: 'excluded', arm, reason };
    };
    // Called from the runner's consumer batch, which heartbeats while it works: its statements are bounded.
    const out = await inRoleTransaction(this.deps.pool, enrollIn);
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
    // Bounded as the other role transactions are: a stalled statement fails this evaluation (the runner
    // logs it and tries again at its next tick) instead of holding the experiment's lock for ever.
    const out = await inRoleTransaction(this.deps.pool, async (c): Promise<EvaluateOutcome> => {
      if (!(await store.tryLockEvaluation(c, id))) return { status: 'busy' };
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
        const obs = callObservation(snaps.get(store.callKey(call.tenant_id, call.call_id)) ?? [], k);
        if (!obs) continue;
        await store.markScored(c, id, call, obs.score, obs.snapshot_ids);
        scored++;
      }
      await store.excludeStale(c, id, exp.callTtlMs ?? DEFAULT_POLICY.defaultTtlMs.call ?? 3_600_000, k);
      const obs = await store.observations(c, id);
      const decision = decideExperiment(
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
      const verdict = await conclude(
        this,
        c,
        exp,
        decision as ExperimentDecision & { verdict: NonNullable<ExperimentDecision['verdict']> },
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
      const decision = decideExperiment(exp.design, cs, ts);
      const sofar =
        cs.length >= 2 && ts.length >= 2 ? welchTest(cs, ts, 'two-sided', exp.design.alpha) : null;
      const action: VerdictAction = rollback
        ? await rollbackTreatment(this, c, exp, `A/B experiment ${id} stopped by ${actor}: ${reason}`)
        : { kind: 'none' };
      const v = stopRecord(exp.design, decision.looks, sofar, action, actor, reason);
      const cap = exp.design.max_sample_per_arm;
      const { control, treatment } = await scorecards(
        c,
        obs.control.slice(0, cap),
        obs.treatment.slice(0, cap),
      );
      await record(this, c, exp, 'stopped', 'stopped', v, control, treatment, [], {
        phase: 'stopped',
        arms: await store.armCounts(c, id),
        looks: decision.looks.map(summarizeLook),
        next_look: null,
      });
    });
    this.deps.changes.kick();
    return (await this.get(id))!;
  }
}
