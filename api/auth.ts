import type { FastifyReply, FastifyRequest } from 'fastify';
import { canAccessTenant, type Principal, type Role, verifyToken } from '../lib/auth.ts';
import { VoiceloopError } from '../lib/errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyInstance {
    /** Set by buildApi from the token store: whether an issued token's id has been revoked. */
    tokenRevoked?: RevocationCheck;
  }
}

/** Says whether a token id has been revoked (the token store's cached view). */
export type RevocationCheck = (jti: string) => boolean;

export interface AuthOptions {
  secret: string;
  isRevoked?: RevocationCheck | undefined;
}

export function authenticate(opts: AuthOptions | string, header: string | undefined): Principal {
  const o = typeof opts === 'string' ? { secret: opts } : opts;
  const p = verifyToken(o.secret, header);
  if (o.isRevoked?.(p.jti)) throw new VoiceloopError('UNAUTHORIZED', 'token has been revoked');
  return p;
}

/** preHandler: a valid token with one of `roles` (an admin passes every check); the principal is left on the request. */
export function requireRole(opts: AuthOptions | string, ...roles: Role[]) {
  return async (req: FastifyRequest, _reply: FastifyReply) => {
    const o = typeof opts === 'string' ? { secret: opts } : opts;
    const p = authenticate({ isRevoked: req.server.tokenRevoked, ...o }, req.headers.authorization);
    if (p.role !== 'admin' && !roles.includes(p.role)) {
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
