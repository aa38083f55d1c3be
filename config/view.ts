// What a station agent knows of the config topic, and the effective parameters it derives from it
// (DESIGN §7): catalog defaults < global < tenant < call, each record valid only until its TTL on the
// agent's own clock. Pure: records and a clock in, parameters out.
import { defaultsForStation, stationById, validateParameterSet } from '../catalog/index.ts';
import type { ConfigRecord, ScopeLevel } from '../contracts/generated.ts';
import { callScope, checkScope, configKey, globalScope, tenantScope } from './keys.ts';

export interface ValueSource {
  level: ScopeLevel | 'default';
  change_id: string | null;
  version: number;
}

export interface Effective {
  params: Record<string, number>;
  /** Highest version among the records in effect; 0 = catalog defaults only. */
  version: number;
  sources: Record<string, ValueSource>;
}

export type ApplyOutcome =
  | { status: 'applied'; record: ConfigRecord }
  | { status: 'removed' }
  | { status: 'stale'; reason: string }
  | { status: 'rejected'; reason: string };

/** Every reason a record must not be applied; empty when it is sound. */
export function checkRecord(key: string, rec: ConfigRecord): string[] {
  const out: string[] = [];
  if (!stationById(rec.station_id)) return [`unknown station ${rec.station_id}`];
  out.push(...checkScope(rec.scope));
  if (out.length === 0 && configKey(rec.station_id, rec.scope) !== key) {
    out.push(`record for ${configKey(rec.station_id, rec.scope)} arrived under key ${key}`);
  }
  if (!Number.isSafeInteger(rec.version) || rec.version <= 0)
    out.push(`version ${rec.version} is not a positive integer`);
  if (rec.expires_at !== null && rec.expires_at <= rec.issued_at)
    out.push('expires_at is not after issued_at');
  const v = validateParameterSet(rec.station_id, rec.parameters);
  if (!v.ok) out.push(...v.errors.map((e) => `${e.parameter}: ${e.reason}`));
  return out;
}

export class ConfigView {
  private readonly records = new Map<string, ConfigRecord>();

  /** Applies one record (or a tombstone) from the topic; an invalid record leaves the last good one. */
  apply(key: string, rec: ConfigRecord | null): ApplyOutcome {
    if (rec === null) {
      this.records.delete(key);
      return { status: 'removed' };
    }
    const problems = checkRecord(key, rec);
    if (problems.length > 0) return { status: 'rejected', reason: problems.join('; ') };
    const cur = this.records.get(key);
    if (cur && cur.version >= rec.version) {
      return { status: 'stale', reason: `version ${rec.version} is not newer than ${cur.version} in effect` };
    }
    this.records.set(key, rec);
    return { status: 'applied', record: rec };
  }

  get(key: string): ConfigRecord | undefined {
    return this.records.get(key);
  }

  /** Records whose TTL has run out on this clock (kept until their tombstone, but no longer applied). */
  expired(now: number): ConfigRecord[] {
    return [...this.records.values()].filter((r) => r.expires_at !== null && r.expires_at <= now);
  }

  /** `overlay`: records that take precedence over this view's at their keys (not yet committed ones). */
  effective(
    stationId: number,
    tenantId: string | null,
    callId: string | null,
    now: number,
    overlay?: ReadonlyMap<string, ConfigRecord>,
  ): Effective {
    const params = defaultsForStation(stationId);
    const sources: Record<string, ValueSource> = {};
    for (const k of Object.keys(params)) sources[k] = { level: 'default', change_id: null, version: 0 };
    let version = 0;
    const chain: (string | null)[] = [
      configKey(stationId, globalScope()),
      tenantId ? configKey(stationId, tenantScope(tenantId)) : null,
      tenantId && callId ? configKey(stationId, callScope(tenantId, callId)) : null,
    ];
    for (const key of chain) {
      if (!key) continue;
      const r = overlay?.get(key) ?? this.records.get(key);
      if (!r || (r.expires_at !== null && r.expires_at <= now)) continue;
      // A call record belongs to one tenant; never apply it to another tenant's call of the same id.
      if (r.scope.level === 'call' && r.scope.tenant_id !== tenantId) continue;
      for (const [name, value] of Object.entries(r.parameters)) {
        if (!(name in params)) continue;
        params[name] = value;
        sources[name] = { level: r.scope.level, change_id: r.change_id, version: r.version };
      }
      version = Math.max(version, r.version);
    }
    return { params, version, sources };
  }

  get size(): number {
    return this.records.size;
  }
}
