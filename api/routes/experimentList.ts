// GET /v1/experiments (issue 12): the newest A/B experiments with their arms and verdicts, for the
// console's experiment list; one experiment in full is GET /v1/experiments/{id}.
import type { FastifyPluginAsync } from 'fastify';
import type { ExperimentService } from '../../optimizer/ab/index.ts';
import type { Pool } from '../../storage/db.ts';
import { recentExperimentIds } from '../../storage/experimentReads.ts';
import { requireRole } from '../auth.ts';
import { q, READ_ROLES, readTenant } from '../readAccess.ts';
import { intParam } from '../readModel.ts';

export interface ExperimentListDeps {
  pool: Pool;
  stream: string;
  service: ExperimentService;
  tokenSecret: string;
}

export const experimentListRoutes: FastifyPluginAsync<ExperimentListDeps> = async (app, deps) => {
  app.get<{ Querystring: { tenant_id?: string; limit?: string } }>(
    '/v1/experiments',
    {
      preHandler: requireRole(deps.tokenSecret, ...READ_ROLES),
      schema: {
        summary: "The newest A/B experiments of the token's tenant with their status, arms and verdict",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { tenant_id: q.id, limit: q.int },
        },
      },
    },
    async (req) => {
      const tenant = readTenant(req, req.query.tenant_id);
      const limit = intParam(req.query.limit, 'limit', 1, 50, 20);
      const ids = await recentExperimentIds(deps.pool, deps.stream, tenant, limit);
      const views = await Promise.all(ids.map((id) => deps.service.get(id)));
      return { items: views.filter((v) => v !== null) };
    },
  );
};
