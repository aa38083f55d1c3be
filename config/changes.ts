// The one path every parameter change takes — optimizers and people alike (DESIGN §7). In one
// PostgreSQL transaction: lock the config key, derive the values in effect, run the safety checks,
// record the change (applied or rejected) in parameter_changes, update config_state, and enqueue the
// ConfigRecord and the ParameterChange audit event in the outbox. The relay publishes after commit.
import { randomUUID } from 'node:crypto';
import { parameterByName } from '../catalog/index.ts';
import type { ConfigRecord, ParameterChange, Scope } from '../contracts/generated.ts';
import { VoiceloopError } from '../lib/errors.ts';
import { inTransaction, type Pool, type PoolClient } from '../storage/db.ts';
import type { Registry } from '../streams/registry.ts';
import { checkScope, configKey } from './keys.ts';
import { enqueue } from './outbox.ts';
import { checkChange, DEFAULT_POLICY, type SafetyPolicy } from './safety.ts';
import { ConfigView, type Effective } from './view.ts';

export interface ChangeRequest {
  actor: string;
  stationId: number;
  scope: Scope;
  set: Record<string, number>;
  reason: string;
  ttlMs?: number | null;
  runId?: string | null;
}

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

interface StateRow {
  config_key: string;
  station_id: number;
  scope_level: 'global' | 'tenant' | 'call';
  tenant_id: string | null;
  call_id: string | null;
  version: string;
  parameters: Record<string, number>;
  change_id: string;
  issued_at: Date;
  expires_at: Date | null;
  tombstoned_at: Date | null;
  last_change_at: Date;
}

function toRecord(r: StateRow): ConfigRecord {
  return {
    schema_version: 1,
    station_id: r.station_id,
    scope: { level: r.scope_level, tenant_id: r.tenant_id, call_id: r.call_id },
    version: Number(r.version),
    parameters: r.parameters,
    issued_at: r.issued_at.getTime(),
    expires_at: r.expires_at ? r.expires_at.getTime() : null,
    change_id: r.change_id,
  };
}

export class ChangeService {
  constructor(
    private readonly pool: Pool,
    private readonly registry: Registry,
    readonly stream: string,
    private readonly policy: SafetyPolicy = DEFAULT_POLICY,
    private readonly onCommit: () => void = () => {},
    private readonly clock: () => number = Date.now,
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
    const { rows } = await q.query<StateRow>(
      'SELECT * FROM config_state WHERE stream = $1 AND config_key = ANY($2::text[]) AND tombstoned_at IS NULL',
      [this.stream, keys],
    );
    const view = new ConfigView();
    const records = rows.map(toRecord);
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
        const { rows } = await c.query(
          'SELECT * FROM parameter_changes WHERE stream = $1 AND change_id = $2 FOR UPDATE',
          [this.stream, req.changeId],
        );
        const ch = rows[0];
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
        const { rows } = await c.query(
          `SELECT * FROM parameter_changes WHERE stream = $1 AND station_id = $2 AND scope_level = $3
             AND tenant_id IS NOT DISTINCT FROM $4 AND call_id IS NOT DISTINCT FROM $5 AND config_version = $6`,
          [
            this.stream,
            req.stationId,
            req.scope.level,
            req.scope.tenant_id,
            req.scope.call_id,
            req.toVersion,
          ],
        );
        const ch = rows[0];
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

  private async applyIn(
    c: PoolClient,
    req: ChangeRequest,
    rollbackOf: string | null,
  ): Promise<ChangeOutcome> {
    const now = this.clock();
    const key = configKey(req.stationId, req.scope);
    const scopeProblems = checkScope(req.scope);
    if (scopeProblems.length) throw new VoiceloopError('VALIDATION', scopeProblems.join('; '));
    // Serialise changes of one key across processes; the lock ends with the transaction.
    await c.query("SELECT pg_advisory_xact_lock(hashtext('config:' || $1 || ':' || $2))", [this.stream, key]);
    const own = await c.query<StateRow>('SELECT * FROM config_state WHERE stream = $1 AND config_key = $2', [
      this.stream,
      key,
    ]);
    const eff = await this.effective(req.stationId, req.scope, c);
    const before = eff.params;
    // Only parameters the station has are restored by a rollback; anything else is the caller's error.
    const set = rollbackOf
      ? Object.fromEntries(
          Object.entries(req.set).filter(([k]) => parameterByName(k)?.stations.includes(req.stationId)),
        )
      : req.set;
    const verdict = checkChange({
      stationId: req.stationId,
      scope: req.scope,
      before,
      set,
      ttlMs: req.ttlMs,
      isRollback: rollbackOf !== null,
      lastChangeAt: own.rows[0] ? own.rows[0].last_change_at.getTime() : null,
      now,
      policy: this.policy,
    });
    const changeId = randomUUID();
    const change: ParameterChange = {
      schema_version: 1,
      change_id: changeId,
      actor: req.actor,
      scope: req.scope,
      station_id: req.stationId,
      before,
      after: verdict.ok ? verdict.after : { ...before, ...set },
      reason: verdict.ok ? req.reason : `${req.reason} — REJECTED: ${verdict.reasons.join('; ')}`,
      ttl_ms: verdict.ok ? verdict.ttlMs : (req.ttlMs ?? null),
      status: verdict.ok ? 'applied' : 'rejected',
      rollback_of: rollbackOf,
      config_version: null,
      run_id: req.runId ?? null,
      created_at: now,
    };
    // Audit values must be finite for Avro doubles and JSON; a rejected NaN request keeps its reason only.
    for (const [k, v] of Object.entries(change.after)) if (!Number.isFinite(v)) delete change.after[k];

    let record: ConfigRecord | null = null;
    if (verdict.ok) {
      const { rows } = await c.query<{ v: string }>("SELECT nextval('config_version_seq')::text AS v");
      const version = Number(rows[0]!.v);
      change.config_version = version;
      record = {
        schema_version: 1,
        station_id: req.stationId,
        scope: req.scope,
        version,
        parameters: verdict.after,
        issued_at: now,
        expires_at: verdict.ttlMs === null ? null : now + verdict.ttlMs,
        change_id: changeId,
      };
      // Type-check both payloads against their schemas before anything is committed.
      this.registry.codec('ConfigRecord').encode(record);
    }
    this.registry.codec('ParameterChange').encode(change);

    await c.query(
      `INSERT INTO parameter_changes (change_id, stream, actor, scope_level, tenant_id, call_id, station_id, before, after,
         reason, ttl_ms, expires_at, status, rollback_of, config_version, run_id, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
      [
        changeId,
        this.stream,
        req.actor,
        req.scope.level,
        req.scope.tenant_id,
        req.scope.call_id,
        req.stationId,
        JSON.stringify(change.before),
        JSON.stringify(change.after),
        change.reason,
        change.ttl_ms,
        record?.expires_at ? new Date(record.expires_at) : null,
        change.status,
        rollbackOf,
        change.config_version,
        req.runId ?? null,
        new Date(now),
      ],
    );
    if (record) {
      await c.query(
        `INSERT INTO config_state (stream, config_key, station_id, scope_level, tenant_id, call_id, version, parameters,
           change_id, issued_at, expires_at, tombstoned_at, last_change_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, $10)
         ON CONFLICT (stream, config_key) DO UPDATE SET version = EXCLUDED.version, parameters = EXCLUDED.parameters,
           change_id = EXCLUDED.change_id, issued_at = EXCLUDED.issued_at, expires_at = EXCLUDED.expires_at,
           tombstoned_at = NULL, last_change_at = EXCLUDED.last_change_at`,
        [
          this.stream,
          key,
          req.stationId,
          req.scope.level,
          req.scope.tenant_id,
          req.scope.call_id,
          record.version,
          JSON.stringify(record.parameters),
          changeId,
          new Date(now),
          record.expires_at ? new Date(record.expires_at) : null,
        ],
      );
      if (rollbackOf) {
        await c.query("UPDATE parameter_changes SET status = 'rolled_back' WHERE change_id = $1", [
          rollbackOf,
        ]);
      }
    }
    await enqueue(c, this.stream, [
      ...(record
        ? [{ role: 'config' as const, contract: 'ConfigRecord' as const, key, payload: record }]
        : []),
      { role: 'changes', contract: 'ParameterChange', key, payload: change },
    ]);
    return {
      status: change.status === 'applied' ? 'applied' : 'rejected',
      change,
      record,
      reasons: verdict.ok ? [] : verdict.reasons,
      coldParams: verdict.ok ? verdict.coldParams : [],
    };
  }

  /** Tombstones expired records (call-scoped ones above all) so the compacted topic forgets them. */
  async expire(): Promise<number> {
    const n = await inTransaction(this.pool, async (c) => {
      const { rows } = await c.query<{ config_key: string }>(
        `UPDATE config_state SET tombstoned_at = now()
          WHERE stream = $1 AND tombstoned_at IS NULL AND expires_at IS NOT NULL AND expires_at <= $2
          RETURNING config_key`,
        [this.stream, new Date(this.clock())],
      );
      await enqueue(
        c,
        this.stream,
        rows.map((r) => ({
          role: 'config' as const,
          contract: 'ConfigRecord' as const,
          key: r.config_key,
          payload: null,
        })),
      );
      return rows.length;
    });
    if (n > 0) this.onCommit();
    return n;
  }
}
