// Outbox rows set aside by the relay (they can never be published): what they were and why, for an
// operator of the whole deployment to inspect and re-enqueue by hand once the cause is fixed. Rows are
// not filtered by tenant, so only a token for every tenant ('*', the admin role) may read them.
import type { FastifyPluginAsync } from 'fastify';
import type { Pool } from '../../storage/db.ts';
import { listSetAside } from '../../storage/outbox.ts';
import { assertTenant, requireRole } from '../auth.ts';

export interface OutboxRouteDeps {
  pool: Pool;
  /** The deployment's stream (topic prefix) whose outbox this is. */
  stream: string;
  tokenSecret: string;
}

export const outboxRoutes: FastifyPluginAsync<OutboxRouteDeps> = async (app, deps) => {
  app.get<{ Querystring: { limit?: string } }>(
    '/v1/config/outbox/set-aside',
    {
      preHandler: requireRole(deps.tokenSecret, 'operator', 'viewer'),
      schema: {
        summary: 'Outbox rows set aside because they can never be published, newest first, with the reason',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'string', pattern: '^[1-9][0-9]{0,2}$' } },
        },
      },
    },
    async (req) => {
      assertTenant(req, null);
      const rows = await listSetAside(deps.pool, deps.stream, Number(req.query.limit ?? 100));
      return {
        rows: rows.map((r) => ({
          id: r.id,
          topic_role: r.topic_role,
          contract: r.contract,
          key: r.message_key,
          attempts: r.attempts,
          set_aside_at: r.set_aside_at.toISOString(),
          reason: r.reason,
        })),
      };
    },
  );
};
