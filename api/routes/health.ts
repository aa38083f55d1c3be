// Liveness says the process serves requests; readiness checks every downstream it needs, each with
// a deadline, and names the one that fails (runtime/readiness.ts).
import type { FastifyPluginAsync } from 'fastify';
import { createReadiness, type ReadinessDeps } from '../../runtime/readiness.ts';

export type HealthDeps = ReadinessDeps;

export const healthRoutes: FastifyPluginAsync<HealthDeps> = async (app, deps) => {
  const readiness = createReadiness(deps);
  app.addHook('onClose', () => readiness.close());

  app.get('/health/live', { schema: { summary: 'Liveness' } }, async () => ({ status: 'live' }));

  app.get(
    '/health/ready',
    { schema: { summary: 'Readiness with downstream checks' } },
    async (_req, reply) => {
      const checks = await readiness.check();
      const ok = checks.every((c) => c.ok);
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not_ready', checks });
    },
  );
};
