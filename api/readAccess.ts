// Who may read what (issue 12): the roles that read, the roles that may hear audio, and the tenant a
// read is scoped to. A tenant's token only ever reads its own tenant; an admin's ("*") reads one tenant
// when it names one, every tenant otherwise.
import type { FastifyRequest } from 'fastify';
import type { Role } from '../lib/auth.ts';
import { VoiceloopError } from '../lib/errors.ts';
import { idString } from './schemas.ts';

/** Roles that read calls, stations, changes and experiments (admin passes every check). */
export const READ_ROLES: Role[] = ['operator', 'viewer'];
/** Roles that may fetch a snapshot's PCM: audio is the callers' voices, so not a viewer. */
export const AUDIO_ROLES: Role[] = ['operator'];

/** The tenant a read is limited to, or null for every tenant (an admin that named none). */
export function readTenant(req: FastifyRequest, requested: string | undefined): string | null {
  const p = req.principal;
  if (!p) throw new VoiceloopError('UNAUTHORIZED', 'missing Authorization: Bearer <token>');
  if (p.tenant === '*') return requested ?? null;
  if (requested !== undefined && requested !== p.tenant)
    throw new VoiceloopError('FORBIDDEN', `token of tenant ${p.tenant} may not read tenant ${requested}`);
  return p.tenant;
}

export function maySeeAudio(req: FastifyRequest): boolean {
  const role = req.principal?.role;
  return role === 'admin' || (role !== undefined && AUDIO_ROLES.includes(role));
}

/** Query-string pieces: values arrive as strings (no coercion); the handlers parse and range-check. */
export const q = {
  int: { type: 'string', pattern: '^-?[0-9]{1,16}$', maxLength: 17 },
  number: { type: 'string', pattern: '^-?[0-9]{1,6}(\\.[0-9]{1,6})?$', maxLength: 14 },
  time: {
    type: 'string',
    minLength: 10,
    maxLength: 40,
    pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9]{2}:?[0-9]{2})$',
  },
  cursor: { type: 'string', minLength: 1, maxLength: 400, pattern: '^[A-Za-z0-9_-]+$' },
  id: idString,
} as const;
