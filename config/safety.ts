// The safety layer every parameter change passes (DESIGN §7), as a pure function: catalog bounds,
// per-change max step, cool-down per config key, TTL rules per scope. Unsafe changes are refused
// with every reason, so the caller (optimizer or operator) learns exactly what to fix.
import { parameterByName, stationById } from '../catalog/index.ts';
import type { Scope, ScopeLevel } from '../contracts/generated.ts';
import { checkScope } from './keys.ts';

export interface SafetyPolicy {
  /** Minimum time between two changes of the same config key. */
  coolDownMs: Record<ScopeLevel, number>;
  /** TTL given to a change that names none (null = no expiry). Call scope always expires. */
  defaultTtlMs: Record<ScopeLevel, number | null>;
  maxTtlMs: Record<ScopeLevel, number>;
}

export const DEFAULT_POLICY: SafetyPolicy = Object.freeze({
  // The online loop acts per segment (about a second); people and the batch optimizer act far less often.
  coolDownMs: { call: 200, tenant: 10_000, global: 30_000 },
  defaultTtlMs: { call: 3_600_000, tenant: null, global: null },
  maxTtlMs: { call: 86_400_000, tenant: 30 * 86_400_000, global: 365 * 86_400_000 },
});

export interface ChangeCheck {
  stationId: number;
  scope: Scope;
  /** Effective values at this scope before the change (what the agent runs now). */
  before: Readonly<Record<string, number>>;
  /** The values to change (a subset of the station's parameters). */
  set: Readonly<Record<string, number>>;
  ttlMs: number | null | undefined;
  /** A rollback returns to values that were in effect before: it is exempt from max step and cool-down. */
  isRollback: boolean;
  lastChangeAt: number | null;
  now: number;
  policy?: SafetyPolicy;
}

export type ChangeVerdict =
  | { ok: true; after: Record<string, number>; ttlMs: number | null; changed: string[]; coldParams: string[] }
  | { ok: false; reasons: string[] };

export function checkChange(c: ChangeCheck): ChangeVerdict {
  const policy = c.policy ?? DEFAULT_POLICY;
  const reasons: string[] = [];
  const station = stationById(c.stationId);
  if (!station) return { ok: false, reasons: [`unknown station ${c.stationId}`] };
  reasons.push(...checkScope(c.scope));

  const names = Object.keys(c.set);
  if (names.length === 0) reasons.push('no parameters to change');
  const after = { ...c.before };
  const changed: string[] = [];
  const coldParams: string[] = [];
  for (const name of names) {
    const value = c.set[name]!;
    const spec = parameterByName(name);
    if (!spec) {
      reasons.push(`${name}: unknown parameter`);
      continue;
    }
    if (!spec.stations.includes(c.stationId)) {
      reasons.push(`${name}: does not apply to station ${c.stationId}`);
      continue;
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      reasons.push(`${name}: ${value} is not a finite number`);
      continue;
    }
    if (value < spec.min || value > spec.max) {
      reasons.push(`${name}: ${value} ${spec.unit} is outside [${spec.min}, ${spec.max}]`);
      continue;
    }
    if (spec.values && !spec.values.includes(value)) {
      reasons.push(
        `${name}: ${value} is not one of its values (${spec.values.join(', ')}): a switch, not a range`,
      );
      continue;
    }
    const old = c.before[name] ?? spec.default;
    const step = Math.abs(value - old);
    // A small epsilon: steps computed in floating point may exceed max_step by rounding alone.
    if (!c.isRollback && step > spec.max_step + 1e-9) {
      reasons.push(
        `${name}: step ${old} -> ${value} (${round(step)} ${spec.unit}) exceeds the max step of ${spec.max_step} ${spec.unit}`,
      );
      continue;
    }
    if (value !== old) {
      changed.push(name);
      if (!spec.hot) coldParams.push(name);
    }
    after[name] = value;
  }
  if (reasons.length === 0 && changed.length === 0)
    reasons.push('every value equals the one in effect: nothing to change');

  const level = c.scope.level;
  if (!c.isRollback && c.lastChangeAt !== null) {
    const since = c.now - c.lastChangeAt;
    if (since < policy.coolDownMs[level]) {
      reasons.push(
        `cool-down: the last change of this ${level} config was ${since} ms ago; wait ${policy.coolDownMs[level] - since} ms more`,
      );
    }
  }
  let ttlMs = c.ttlMs === undefined || c.ttlMs === null ? policy.defaultTtlMs[level] : c.ttlMs;
  if (c.ttlMs !== undefined && c.ttlMs !== null && (!Number.isInteger(c.ttlMs) || c.ttlMs <= 0)) {
    reasons.push(`ttl_ms ${c.ttlMs} must be a positive integer`);
    ttlMs = null;
  } else if (ttlMs !== null && ttlMs > policy.maxTtlMs[level]) {
    reasons.push(`ttl_ms ${ttlMs} exceeds the ${level} maximum of ${policy.maxTtlMs[level]} ms`);
  }
  if (reasons.length > 0) return { ok: false, reasons };
  return { ok: true, after, ttlMs, changed, coldParams };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
