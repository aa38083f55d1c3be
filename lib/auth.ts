// Bearer tokens carry a role and a tenant (DESIGN §9): `v1.<payload>.<signature>`, payload the
// base64url JSON {sub, role, tenant, exp, jti}, signature HMAC-SHA256 over "v1.<payload>" with the
// server's secret. Claims are strict: exactly these five, `exp` (epoch seconds) numeric, tenant "*"
// (every tenant) for the admin role only, and `jti` (the token's id) always present, so that every
// token, wherever it was minted, can be revoked (`npm run token -- revoke`). Nobody reads or changes
// another tenant's data.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { VoiceloopError } from './errors.ts';

export const ROLES = ['station', 'operator', 'viewer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  sub: string;
  role: Role;
  /** A tenant id, or "*" for all tenants (admin only). */
  tenant: string;
  /** Expiry, epoch seconds. */
  exp: number;
  /** Token id: what revocation names. */
  jti: string;
}

/** Claims to mint: the token id is drawn at random when not given. */
export type Claims = Omit<Principal, 'jti'> & { jti?: string };

const CLAIMS = new Set(['sub', 'role', 'tenant', 'exp', 'jti']);

/**
 * A fresh token id: 96 random bits in URL-safe base64, never starting with '-': `npm run token --
 * revoke --id -XYZ...` is refused by the flag parser as a missing argument (one id in 64 began with '-',
 * and a CI run failed on it, 2026-12-06). An id from before the rule is revoked as `--id=-XYZ...`.
 */
export function newTokenId(): string {
  for (;;) {
    const id = randomBytes(12).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

function sign(secret: string, data: string): string {
  return createHmac('sha256', secret).update(data).digest('base64url');
}

/** Every problem with a token's claims; empty when they are sound. */
export function claimProblems(p: Record<string, unknown>): string[] {
  const out: string[] = [];
  if (typeof p.sub !== 'string' || p.sub.length === 0 || p.sub.length > 128)
    out.push('sub must be 1-128 characters');
  if (typeof p.role !== 'string' || !(ROLES as readonly string[]).includes(p.role))
    out.push(`role must be one of ${ROLES.join(', ')}`);
  if (typeof p.tenant !== 'string' || !/^(\*|[A-Za-z0-9._-]{1,64})$/.test(p.tenant))
    out.push('tenant must be "*" or 1-64 characters of A-Z a-z 0-9 . _ -');
  else if (p.tenant === '*' && p.role !== 'admin') out.push('only an admin may hold tenant "*"');
  if (typeof p.exp !== 'number' || !Number.isInteger(p.exp) || p.exp <= 0)
    out.push('exp must be an integer (epoch seconds)');
  if (typeof p.jti !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(p.jti))
    out.push('jti (the token id) must be 1-64 characters of A-Z a-z 0-9 _ -');
  const unknown = Object.keys(p).filter((k) => !CLAIMS.has(k));
  if (unknown.length) out.push(`unknown claim(s) ${unknown.join(', ')}`);
  return out;
}

export function mintToken(secret: string, claims: Claims): string {
  const p: Principal = { ...claims, jti: claims.jti ?? newTokenId() };
  const problems = claimProblems(p as unknown as Record<string, unknown>);
  if (problems.length) throw new VoiceloopError('VALIDATION', `token claims: ${problems.join('; ')}`);
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
  let p: unknown;
  try {
    p = JSON.parse(Buffer.from(m[2]!, 'base64url').toString('utf8'));
  } catch {
    throw new VoiceloopError('UNAUTHORIZED', 'token payload is not JSON');
  }
  if (typeof p !== 'object' || p === null || Array.isArray(p))
    throw new VoiceloopError('UNAUTHORIZED', 'token payload is not a JSON object');
  const problems = claimProblems(p as Record<string, unknown>);
  if (problems.length) throw new VoiceloopError('UNAUTHORIZED', `token claims: ${problems.join('; ')}`);
  const principal = p as Principal;
  if (principal.exp * 1000 < now) throw new VoiceloopError('UNAUTHORIZED', 'token has expired');
  return principal;
}

export function canAccessTenant(p: Principal, tenant: string | null): boolean {
  return p.tenant === '*' || (tenant !== null && p.tenant === tenant);
}

// A token secret is the key of every tenant's data: a short or low-variety one can be brute-forced
// offline from any token. 32 characters with at least 10 distinct ones rules out "aaaa..." and words.
export function secretProblem(s: string): string | null {
  if (s.length < 32) return `must be at least 32 characters (got ${s.length})`;
  if (new Set(s).size < 10) return 'must use at least 10 distinct characters';
  return null;
}
