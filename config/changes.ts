// The one path every parameter change takes — optimizers and people alike (DESIGN §7). In one
// PostgreSQL transaction: lock the config key, derive the values in effect, run the safety checks,
// record the change (applied or rejected) in parameter_changes, update config_state, and enqueue the
// ConfigRecord and the ParameterChange audit event in the outbox. The relay publishes after commit.
import { randomUUID } from 'node:crypto';
import type { ConfigRecord, ParameterChange, Scope } from '../contracts/generated.ts';
import { VoiceloopError } from '../lib/errors.ts';
import { actorKind, type Metrics } from '../lib/metrics.ts';
import { withSpan } from '../lib/tracing.ts';
import * as repo from '../storage/configState.ts';
import { afterCommit, inTransaction, type Pool, type PoolClient } from '../storage/db.ts';
import type { Registry } from '../streams/registry.ts';
import { recordChangeEvents } from '../webhooks/record.ts';
import { type ChangeRequest, planChange } from './changePlan.ts';
import { checkScope, configKey } from './keys.ts';
import { enqueue } from './outbox.ts';
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
      this.registry.codec('ConfigRecord').encode(record);
    }
    this.registry.codec('ParameterChange').encode(change);
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
