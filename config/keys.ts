// Config keys (DESIGN §4): `station/scope/scope_id`, e.g. `4/global/*`, `4/tenant/acme`, `4/call/acme/c-123`.
// A call's scope id carries its tenant: call ids come from outside (SIP Call-IDs, station agents), so
// two tenants may use the same one, and a key without the tenant would let one overwrite the other's
// config on the compacted topic (issue 9). Ids cannot contain '/', so the key stays unambiguous.
import type { Scope } from '../contracts/generated.ts';
import { ID_RE } from '../domain/ids.ts';

export function scopeId(scope: Scope): string {
  if (scope.level === 'global') return '*';
  if (scope.level === 'tenant') return scope.tenant_id ?? '';
  return `${scope.tenant_id ?? ''}/${scope.call_id ?? ''}`;
}

export function configKey(stationId: number, scope: Scope): string {
  return `${stationId}/${scope.level}/${scopeId(scope)}`;
}

/** Problems with a scope's shape (ids present where the level needs them, absent elsewhere). */
export function checkScope(scope: Scope): string[] {
  const out: string[] = [];
  if (scope.level === 'global') {
    if (scope.tenant_id !== null || scope.call_id !== null)
      out.push('global scope takes no tenant_id or call_id');
  } else {
    if (!scope.tenant_id || !ID_RE.test(scope.tenant_id))
      out.push(`${scope.level} scope needs a tenant_id of 1-64 characters A-Z a-z 0-9 . _ -`);
    if (scope.level === 'call' && (!scope.call_id || !ID_RE.test(scope.call_id)))
      out.push('call scope needs a call_id of 1-64 characters A-Z a-z 0-9 . _ -');
    if (scope.level === 'tenant' && scope.call_id !== null) out.push('tenant scope takes no call_id');
  }
  return out;
}

export const globalScope = (): Scope => ({ level: 'global', tenant_id: null, call_id: null });
export const tenantScope = (tenant: string): Scope => ({ level: 'tenant', tenant_id: tenant, call_id: null });
export const callScope = (tenant: string, call: string): Scope => ({
  level: 'call',
  tenant_id: tenant,
  call_id: call,
});
