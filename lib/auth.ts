// Bearer tokens carry a role and a tenant (DESIGN §9): `v1.<payload>.<signature>`, payload the
// base64url JSON {sub, role, tenant, exp?}, signature HMAC-SHA256 over "v1.<payload>" with the
// server's secret. Tenant "*" is the fleet operator. Nobody reads or changes another tenant's data.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { VoiceloopError } from './errors.ts';

export const ROLES = ['station', 'operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  sub: string;
  role: Role;
  /** A tenant id, or "*" for all tenants (fleet operators only). */
  tenant: string;
  exp?: number;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

function sign(secret: string, data: string): string {
  return createHmac('sha256', secret).update(data).digest('base64url');
}

export function mintToken(secret: string, p: Principal): string {
  if (!ROLES.includes(p.role))
    throw new VoiceloopError('VALIDATION', `role must be one of ${ROLES.join(', ')}`);
  if (p.tenant === '*' && p.role !== 'operator')
    throw new VoiceloopError('VALIDATION', 'only an operator may hold tenant "*"');
  const payload = b64url(JSON.stringify(p));
  return `v1.${payload}.${sign(secret, `v1.${payload}`)}`;
}

export function verifyToken(secret: string, header: string | undefined, now = Date.now()): Principal {
  if (!header) throw new VoiceloopError('UNAUTHORIZED', 'missing Authorization: Bearer <token>');
  const m = /^Bearer\s+(v1)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(header.trim());
  if (!m) throw new VoiceloopError('UNAUTHORIZED', 'Authorization must be "Bearer v1.<payload>.<signature>"');
  const expected = Buffer.from(sign(secret, `v1.${m[2]}`));
  const got = Buffer.from(m[3]!);
  if (expected.length !== got.length || !timingSafeEqual(expected, got))
    throw new VoiceloopError('UNAUTHORIZED', 'token signature is invalid');
  let p: Principal;
  try {
    p = JSON.parse(Buffer.from(m[2]!, 'base64url').toString('utf8')) as Principal;
  } catch {
    throw new VoiceloopError('UNAUTHORIZED', 'token payload is not JSON');
  }
  if (!ROLES.includes(p.role) || typeof p.tenant !== 'string' || typeof p.sub !== 'string') {
    throw new VoiceloopError('UNAUTHORIZED', 'token payload lacks sub, role or tenant');
  }
  if (p.exp !== undefined && p.exp * 1000 < now)
    throw new VoiceloopError('UNAUTHORIZED', 'token has expired');
  return p;
}

export function canAccessTenant(p: Principal, tenant: string | null): boolean {
  return p.tenant === '*' || (tenant !== null && p.tenant === tenant);
}
