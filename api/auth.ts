import type { FastifyReply, FastifyRequest } from 'fastify';
import { canAccessTenant, type Principal, type Role, verifyToken } from '../lib/auth.ts';
import { VoiceloopError } from '../lib/errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** preHandler: a valid token with one of `roles`; the principal is left on the request. */
export function requireRole(secret: string, ...roles: Role[]) {
  return async (req: FastifyRequest, _reply: FastifyReply) => {
    const p = verifyToken(secret, req.headers.authorization);
    if (!roles.includes(p.role)) {
      throw new VoiceloopError(
        'FORBIDDEN',
        `role ${p.role} may not ${req.method} ${req.routeOptions.url}; needs ${roles.join(' or ')}`,
      );
    }
    req.principal = p;
  };
}

export function assertTenant(req: FastifyRequest, tenant: string | null): void {
  const p = req.principal;
  if (!p || !canAccessTenant(p, tenant)) {
    throw new VoiceloopError(
      'FORBIDDEN',
      `token of tenant ${p?.tenant ?? '?'} may not access tenant ${tenant ?? 'global'}`,
    );
  }
}
