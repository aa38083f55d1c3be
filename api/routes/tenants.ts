// A tenant's data (issue 13): its own retention, shorter than the deployment's (operators of the
// tenant; audited), the erasure of one call (admin only: it deletes rows, PCM and call-scoped config
// for good; audited), and the audit of both.
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from '../../lib/log.ts';
import { eraseCall, getRetention, type RetentionDefaults, setRetention } from '../../maintenance/erase.ts';
import type { AudioStore } from '../../storage/audioStore.ts';
import type { Pool } from '../../storage/db.ts';
import { auditOf } from '../../storage/retention.ts';
import { assertTenant, requireRole } from '../auth.ts';
import { idString } from '../schemas.ts';

export interface TenantRouteDeps {
  pool: Pool;
  audio: Pick<AudioStore, 'delete' | 'modifiedMs'>;
  log: Logger;
  tokenSecret: string;
  defaults: RetentionDefaults;
}

const tenantParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: idString },
} as const;

const days = { anyOf: [{ type: 'integer', minimum: 1, maximum: 3650 }, { type: 'null' }] } as const;

const actorOf = (sub: string | undefined) => `user:${sub ?? 'unknown'}`;

export const tenantRoutes: FastifyPluginAsync<TenantRouteDeps> = async (app, deps) => {
  app.get<{ Params: { id: string } }>(
    '/v1/tenants/:id/retention',
    {
      preHandler: requireRole(deps.tokenSecret, 'operator', 'viewer'),
      schema: {
        summary: "A tenant's retention: its own values, the deployment's, and what applies",
        params: tenantParams,
      },
    },
    async (req) => {
      assertTenant(req, req.params.id);
      return getRetention(deps.pool, req.params.id, deps.defaults);
    },
  );

  app.put<{ Params: { id: string }; Body: { snapshot_days: number | null; audio_days: number | null } }>(
    '/v1/tenants/:id/retention',
    {
      preHandler: requireRole(deps.tokenSecret, 'operator'),
      schema: {
        summary: "Set a tenant's retention, shorter than the deployment's (null: the deployment's); audited",
        params: tenantParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['snapshot_days', 'audio_days'],
          properties: { snapshot_days: days, audio_days: days },
        },
      },
    },
    async (req) => {
      assertTenant(req, req.params.id);
      return setRetention(deps.pool, req.params.id, req.body, actorOf(req.principal?.sub), deps.defaults);
    },
  );

  app.delete<{ Params: { id: string; call_id: string } }>(
    '/v1/tenants/:id/calls/:call_id',
    {
      preHandler: requireRole(deps.tokenSecret, 'admin'),
      schema: {
        summary:
          'Erase a call: its snapshot rows, call and segments, call-scoped config (tombstoned on the config topic), changes, runs and PCM; audited',
        description:
          "Records of the call on the snapshot, change and result topics are not rewritten: they age out with those topics' retention.",
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['id', 'call_id'],
          properties: { id: idString, call_id: idString },
        },
      },
    },
    async (req) => {
      assertTenant(req, req.params.id);
      return eraseCall(deps, req.params.id, req.params.call_id, actorOf(req.principal?.sub));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/tenants/:id/audit',
    {
      preHandler: requireRole(deps.tokenSecret, 'operator', 'viewer'),
      schema: {
        summary: "What was changed or erased of a tenant's data, by whom, newest first",
        params: tenantParams,
      },
    },
    async (req) => {
      assertTenant(req, req.params.id);
      const rows = await auditOf(deps.pool, req.params.id);
      return { rows: rows.map((r) => ({ ...r, at: r.at.toISOString() })) };
    },
  );
};
