// The one path every parameter change takes — optimizers and people alike (DESIGN §7). In one
// PostgreSQL transaction: lock the config key, derive the values in effect, run the safety checks,
// record the change (applied or rejected) in parameter_changes, update config_state, and enqueue the
// ConfigRecord and the ParameterChange audit event in the outbox. The relay publishes after commit.
import { randomUUID } from 'node:crypto';
import type { ConfigRecord, ParameterChange, Scope } from '../contracts/generated.ts';
import { VoiceloopError } from '../lib/errors.ts';
import { actorKind, type Metrics } from '../lib/metrics.ts';
import { type Context, contextOfSpan, endSpan, startSpan, traceparentOf, withSpan } from '../lib/tracing.ts';
import * as repo from '../storage/configState.ts';
import { afterCommit, inTransaction, type Pool, type PoolClient } from '../storage/db.ts';
import type { Registry } from '../streams/registry.ts';
import { recordChangeEvents, recordChangeEventsMany } from '../webhooks/record.ts';
import { type ChangeRequest, planChange } from './changePlan.ts';
import { checkScope, configKey } from './keys.ts';
import { enqueue, type OutboxEntry } from './outbox.ts';
import { DEFAULT_POLICY, type SafetyPolicy } from './safety.ts';
import { ConfigView, type Effective } from './view.ts';

export type { ChangeRequest } from './changePlan.ts';

export interface ChangeOutcome {
  status: 'applied' | 'rejected';
  change: ParameterChange;
  record: ConfigRecord | null;
  reasons: string[];
  /** Parameters that take effect only at the agent's next call (not hot). */
  coldParams: string[];
}

/** One change of a batch (applyManyTx), with what the caller read under the key's lock. */
export interface BatchChange {
  req: ChangeRequest;
  /** Set when the change restores what that change replaced (exempt from max step and cool-down). */
  rollbackOf: string | null;
  /** The values in effect at the scope before the change. */
  before: Record<string, number>;
  /** The key's last change (config_state.last_change_at), for the cool-down; null: never changed. */
  lastChangeAt: number | null;
  /** The decision's span: the change's span is its child. */
  parent?: Context;
}

export interface RollbackRequest {
  actor: string;
  reason: string;
  /** Undo this change: restore the values in effect before it. */
  changeId?: string;
  /** Or restore the values a given config version had at this key. */
  stationId?: number;
  scope?: Scope;
  toVersion?: number;
}

export class ChangeService {
  constructor(
    private readonly pool: Pool,
    private readonly registry: Registry,
    readonly stream: string,
    private readonly policy: SafetyPolicy = DEFAULT_POLICY,
    private readonly onCommit: () => void = () => {},
    private readonly clock: () => number = Date.now,
    private readonly metrics?: Metrics,
  ) {}

  /** The values in effect for a station at a scope, each with the scope and change it came from. */
  async effective(
    stationId: number,
    scope: Scope,
    client?: PoolClient,
  ): Promise<Effective & { records: ConfigRecord[] }> {
    const q = client ?? this.pool;
    const keys = [configKey(stationId, { level: 'global', tenant_id: null, call_id: null })];
    if (scope.tenant_id)
      keys.push(configKey(stationId, { level: 'tenant', tenant_id: scope.tenant_id, call_id: null }));
    if (scope.level === 'call') keys.push(configKey(stationId, scope));
    const records = await repo.liveRecords(q, this.stream, keys);
    const view = new ConfigView();
    for (const r of records) view.apply(configKey(r.station_id, r.scope), r);
    return {
      ...view.effective(
        stationId,
        scope.tenant_id,
        scope.level === 'call' ? scope.call_id : null,
        this.clock(),
      ),
      records,
    };
  }

  async apply(req: ChangeRequest): Promise<ChangeOutcome> {
    const out = await inTransaction(this.pool, (c) => this.applyIn(c, req, null));
    this.onCommit();
    return out;
  }

  /**
   * The same change inside the caller's transaction (the online optimizer records its run in the same
   * unit of work). `rollbackOf` makes it a restore: exempt from max step and cool-down, and the named
   * change is marked rolled_back. Call `kick()` after the caller commits.
   */
  applyTx(c: PoolClient, req: ChangeRequest, rollbackOf: string | null = null): Promise<ChangeOutcome> {
    return this.applyIn(c, req, rollbackOf);
  }

  /** Wakes the outbox relay (after a commit made outside this service). */
  kick(): void {
    this.onCommit();
  }

  async rollback(req: RollbackRequest): Promise<ChangeOutcome> {
    const out = await inTransaction(this.pool, async (c) => {
      let stationId: number;
      let scope: Scope;
      let set: Record<string, number>;
      let rollbackOf: string;
      if (req.changeId) {
        const ch = await repo.changeForUpdate(c, this.stream, req.changeId);
        if (!ch) throw new VoiceloopError('NOT_FOUND', `change ${req.changeId} does not exist`);
        if (ch.status !== 'applied')
          throw new VoiceloopError(
            'CONFLICT',
            `change ${req.changeId} is ${ch.status}; only an applied change can be rolled back`,
          );
        stationId = ch.station_id;
        scope = { level: ch.scope_level, tenant_id: ch.tenant_id, call_id: ch.call_id };
        set = ch.before;
        rollbackOf = ch.change_id;
      } else if (req.stationId !== undefined && req.scope && req.toVersion !== undefined) {
        const problems = checkScope(req.scope);
        if (problems.length) throw new VoiceloopError('VALIDATION', problems.join('; '));
        const ch = await repo.changeOfVersion(c, this.stream, req.stationId, req.scope, req.toVersion);
        if (!ch)
          throw new VoiceloopError(
            'NOT_FOUND',
            `no change produced version ${req.toVersion} for station ${req.stationId} at ${configKey(req.stationId, req.scope)}`,
          );
        stationId = req.stationId;
        scope = req.scope;
        set = ch.after;
        rollbackOf = ch.change_id;
      } else {
        throw new VoiceloopError(
          'VALIDATION',
          'a rollback names change_id, or station_id + scope + to_version',
        );
      }
      return this.applyIn(c, { actor: req.actor, stationId, scope, set, reason: req.reason }, rollbackOf);
    });
    this.onCommit();
    return out;
  }

  /** The change as a span (child of whatever decided it): the outbox rows it writes carry its trace. */
  private applyIn(c: PoolClient, req: ChangeRequest, rollbackOf: string | null): Promise<ChangeOutcome> {
    return withSpan(
      'change',
      { attributes: { 'voiceloop.station': req.stationId, 'voiceloop.actor_kind': actorKind(req.actor) } },
      async (span) => {
        const out = await this.applyUntraced(c, req, rollbackOf);
        span.setAttributes({
          'voiceloop.change_id': out.change.change_id,
          'voiceloop.status': out.status,
          ...(out.record ? { 'voiceloop.config_version': out.record.version } : {}),
        });
        return out;
      },
    );
  }

  private async applyUntraced(
    c: PoolClient,
    req: ChangeRequest,
    rollbackOf: string | null,
  ): Promise<ChangeOutcome> {
    const now = this.clock();
    const key = configKey(req.stationId, req.scope);
    const scopeProblems = checkScope(req.scope);
    if (scopeProblems.length) throw new VoiceloopError('VALIDATION', scopeProblems.join('; '));
    await repo.lockKey(c, this.stream, key);
    const own = await repo.stateOf(c, this.stream, key);
    const eff = await this.effective(req.stationId, req.scope, c);
    const { change, record, reasons, coldParams } = planChange({
      req,
      rollbackOf,
      before: eff.params,
      lastChangeAt: own ? own.last_change_at.getTime() : null,
      now,
      policy: this.policy,
      changeId: randomUUID(),
    });
    if (record) {
      record.version = await repo.nextVersion(c);
      change.config_version = record.version;
      // Type-check both payloads against their schemas before anything is committed.
      this.registry.codec('ConfigRecord').check(record);
    }
    this.registry.codec('ParameterChange').check(change);
    await repo.insertChange(c, this.stream, change, record?.expires_at ?? null);
    if (record) {
      await repo.putState(c, this.stream, key, record);
      if (rollbackOf) await repo.markRolledBack(c, rollbackOf);
    }
    await enqueue(c, this.stream, [
      ...(record
        ? [{ role: 'config' as const, contract: 'ConfigRecord' as const, key, payload: record }]
        : []),
      { role: 'changes', contract: 'ParameterChange', key, payload: change },
    ]);
    const status = record ? 'applied' : 'rejected';
    // Webhook deliveries owed for this change, committed with it (nothing announced that is not recorded).
    await recordChangeEvents(c, this.stream, change, reasons);
    const m = this.metrics;
    if (m) {
      const labels = { actor_kind: actorKind(req.actor), station: String(req.stationId) };
      // Counted once the caller's transaction commits (applyTx runs inside someone else's).
      afterCommit(c, () => {
        m.changes.inc({ ...labels, outcome: status });
        if (record && rollbackOf) m.changes.inc({ ...labels, outcome: 'rolled_back' });
      });
    }
    return { status, change, record, reasons, coldParams };
  }

  /**
   * Locks `lock` (sorted, one statement) and reads the state rows of `read` (tombstoned or not) in the
   * caller's transaction: what a batch of changes must base its values and cool-downs on.
   */
  async lockAndRead(c: PoolClient, lock: string[], read: string[]): Promise<repo.StateRow[]> {
    await repo.lockKeys(c, this.stream, lock);
    return repo.statesOf(c, this.stream, read);
  }

  /**
   * Several changes in the caller's transaction (the online optimizer's decision batch), each planned
   * exactly as apply() plans one (the same safety rules), written with one multi-row statement per
   * table. The caller holds the keys' locks (lockAndRead) and passes the values in effect and the last
   * change time it read under them; one change per key. `leading` outbox rows (the runs' results) are
   * queued ahead of the changes' in the same statement. Call `kick()` after the caller commits.
   */
  async applyManyTx(
    c: PoolClient,
    items: BatchChange[],
    leading: OutboxEntry[] = [],
  ): Promise<ChangeOutcome[]> {
    const now = this.clock();
    const keys = items.map((it) => configKey(it.req.stationId, it.req.scope));
    if (new Set(keys).size !== keys.length)
      throw new VoiceloopError('CONFLICT', 'a change batch names one config key twice');
    const plans = items.map((it) => {
      const problems = checkScope(it.req.scope);
      if (problems.length) throw new VoiceloopError('VALIDATION', problems.join('; '));
      return planChange({
        req: it.req,
        rollbackOf: it.rollbackOf,
        before: it.before,
        lastChangeAt: it.lastChangeAt,
        now,
        policy: this.policy,
        changeId: randomUUID(),
      });
    });
    const versions = await repo.nextVersions(c, plans.filter((p) => p.record).length);
    let v = 0;
    const changeCodec = this.registry.codec('ParameterChange');
    const recordCodec = this.registry.codec('ConfigRecord');
    const outbox: OutboxEntry[] = [...leading];
    const outcomes = plans.map((p, i): ChangeOutcome => {
      const it = items[i]!;
      const span = startSpan('change', {
        ...(it.parent ? { parent: it.parent } : {}),
        attributes: {
          'voiceloop.station': it.req.stationId,
          'voiceloop.actor_kind': actorKind(it.req.actor),
        },
      });
      if (p.record) {
        p.record.version = versions[v++]!;
        p.change.config_version = p.record.version;
        recordCodec.check(p.record);
      }
      changeCodec.check(p.change);
      const status = p.record ? 'applied' : 'rejected';
      span.setAttributes({
        'voiceloop.change_id': p.change.change_id,
        'voiceloop.status': status,
        ...(p.record ? { 'voiceloop.config_version': p.record.version } : {}),
      });
      const traceparent = traceparentOf(contextOfSpan(span, it.parent));
      if (p.record)
        outbox.push({
          role: 'config',
          contract: 'ConfigRecord',
          key: keys[i]!,
          payload: p.record,
          traceparent,
        });
      outbox.push({
        role: 'changes',
        contract: 'ParameterChange',
        key: keys[i]!,
        payload: p.change,
        traceparent,
      });
      endSpan(span);
      return { status, change: p.change, record: p.record, reasons: p.reasons, coldParams: p.coldParams };
    });
    await repo.insertChanges(
      c,
      this.stream,
      outcomes.map((o) => ({ change: o.change, expiresAt: o.record?.expires_at ?? null })),
    );
    await repo.putStates(
      c,
      this.stream,
      outcomes.flatMap((o, i) => (o.record ? [{ key: keys[i]!, record: o.record }] : [])),
    );
    await repo.markRolledBackMany(
      c,
      outcomes.flatMap((o, i) => (o.record && items[i]!.rollbackOf ? [items[i]!.rollbackOf!] : [])),
    );
    await enqueue(c, this.stream, outbox);
    await recordChangeEventsMany(c, this.stream, outcomes);
    const m = this.metrics;
    if (m)
      afterCommit(c, () => {
        for (const [i, o] of outcomes.entries()) {
          const it = items[i]!;
          const labels = { actor_kind: actorKind(it.req.actor), station: String(it.req.stationId) };
          m.changes.inc({ ...labels, outcome: o.status });
          if (o.record && it.rollbackOf) m.changes.inc({ ...labels, outcome: 'rolled_back' });
        }
      });
    return outcomes;
  }

  /** Tombstones expired records (call-scoped ones above all) so the compacted topic forgets them. */
  async expire(): Promise<number> {
    const n = await inTransaction(this.pool, async (c) => {
      const keys = await repo.tombstoneExpired(c, this.stream, this.clock());
      await enqueue(
        c,
        this.stream,
        keys.map((key) => ({
          role: 'config' as const,
          contract: 'ConfigRecord' as const,
          key,
          payload: null,
        })),
      );
      return keys.length;
    });
    if (n > 0) this.onCommit();
    return n;
  }
}
