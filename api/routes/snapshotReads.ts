// GET /v1/snapshots/{id} and its PCM (issue 12): a persisted snapshot as the station sent it, with its
// score, and a link to its audio for the roles allowed to hear callers (operator, admin).
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { fromPcm16 } from '../../domain/pcm.ts';
import { encodeWav } from '../../domain/wav.ts';
import { VoiceloopError, validationError } from '../../lib/errors.ts';
import type { AudioStore } from '../../storage/audioStore.ts';
import * as callReads from '../../storage/callReads.ts';
import type { Pool } from '../../storage/db.ts';
import { snapshotFromRow } from '../../storage/snapshots.ts';
import { requireRole } from '../auth.ts';
import { AUDIO_ROLES, maySeeAudio, q, READ_ROLES, readTenant } from '../readAccess.ts';
import { scoreOf } from '../readModel.ts';

export interface SnapshotReadDeps {
  pool: Pool;
  audio: AudioStore;
  tokenSecret: string;
}

const params = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: q.id },
} as const;
const query = { type: 'object', additionalProperties: false, properties: { tenant_id: q.id } } as const;

type Req = FastifyRequest<{ Params: { id: string }; Querystring: { tenant_id?: string } }>;

async function oneSnapshot(deps: SnapshotReadDeps, req: Req) {
  const rows = await callReads.snapshotsById(deps.pool, readTenant(req, req.query.tenant_id), req.params.id);
  if (rows.length === 0) throw new VoiceloopError('NOT_FOUND', `snapshot ${req.params.id} does not exist`);
  if (rows.length > 1)
    throw validationError(`snapshot ${req.params.id} exists in several tenants; name one with tenant_id`, [
      { field: 'tenant_id', reason: 'required: the snapshot id is not unique across tenants' },
    ]);
  return snapshotFromRow(rows[0]!);
}

export const snapshotReadRoutes: FastifyPluginAsync<SnapshotReadDeps> = async (app, deps) => {
  app.get<{ Params: { id: string }; Querystring: { tenant_id?: string } }>(
    '/v1/snapshots/:id',
    {
      preHandler: requireRole(deps.tokenSecret, ...READ_ROLES),
      schema: {
        summary:
          'A persisted snapshot with its score; audio_url links its PCM (as WAV) for operator and admin tokens, null for others',
        params,
        querystring: query,
      },
    },
    async (req) => {
      const s = await oneSnapshot(deps, req);
      const tenantArg = req.principal?.tenant === '*' ? `?tenant_id=${encodeURIComponent(s.tenant_id)}` : '';
      return {
        snapshot: s,
        captured_at_iso: new Date(s.captured_at).toISOString(),
        score: scoreOf(s),
        audio_url:
          s.audio && maySeeAudio(req)
            ? `/v1/snapshots/${encodeURIComponent(s.snapshot_id)}/audio${tenantArg}`
            : null,
      };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { tenant_id?: string } }>(
    '/v1/snapshots/:id/audio',
    {
      preHandler: requireRole(deps.tokenSecret, ...AUDIO_ROLES),
      schema: {
        summary: "A snapshot's PCM as a 16-bit mono WAV file (operator and admin tokens)",
        params,
        querystring: query,
      },
    },
    async (req, reply) => {
      const s = await oneSnapshot(deps, req);
      if (!s.audio) throw new VoiceloopError('NOT_FOUND', `snapshot ${s.snapshot_id} has no audio`);
      const pcm = await deps.audio.get(s.audio.storage_key);
      return reply
        .header('content-type', 'audio/wav')
        .header('cache-control', 'private, max-age=3600')
        .send(encodeWav(fromPcm16(pcm), s.audio.sample_rate));
    },
  );
};
