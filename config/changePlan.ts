// The change path's decisions, without I/O: given the values in effect, the request and the policy,
// what the audit row says and what record (if any) goes out. config/changes.ts carries the plan out
// in one transaction; the tests check the plan alone (test/unit/config/).
import { parameterByName } from '../catalog/index.ts';
import type { ConfigRecord, ParameterChange, Scope } from '../contracts/generated.ts';
import { checkChange, type SafetyPolicy } from './safety.ts';

export interface ChangeRequest {
  actor: string;
  stationId: number;
  scope: Scope;
  set: Record<string, number>;
  reason: string;
  ttlMs?: number | null;
  runId?: string | null;
}

export interface PlanInput {
  req: ChangeRequest;
  /** Set when this change restores the values another change replaced. */
  rollbackOf: string | null;
  /** The values in effect at the scope before the change. */
  before: Record<string, number>;
  lastChangeAt: number | null;
  now: number;
  policy: SafetyPolicy;
  changeId: string;
}

export interface ChangePlan {
  /** The audit row; its config_version is filled in when the record gets its version. */
  change: ParameterChange;
  /** The record to publish (version 0 until assigned), or null when the change is refused. */
  record: ConfigRecord | null;
  reasons: string[];
  coldParams: string[];
}

export function planChange(p: PlanInput): ChangePlan {
  const { req, rollbackOf, before, now } = p;
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
    lastChangeAt: p.lastChangeAt,
    now,
    policy: p.policy,
  });
  const change: ParameterChange = {
    schema_version: 1,
    change_id: p.changeId,
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
  if (!verdict.ok) return { change, record: null, reasons: verdict.reasons, coldParams: [] };
  const record: ConfigRecord = {
    schema_version: 1,
    station_id: req.stationId,
    scope: req.scope,
    version: 0,
    parameters: verdict.after,
    issued_at: now,
    expires_at: verdict.ttlMs === null ? null : now + verdict.ttlMs,
    change_id: p.changeId,
  };
  return { change, record, reasons: [], coldParams: verdict.coldParams };
}
