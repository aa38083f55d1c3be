// The API role: the fastify server with every resource's plugin, listening (or only injectable, for
// tests and the demo). Same shape as the other roles; stopping closes the server.
import type { FastifyInstance } from 'fastify';
import { configRoutes } from '../api/routes/config.ts';
import { experimentRoutes } from '../api/routes/experiments.ts';
import { optimizerRoutes } from '../api/routes/optimizer.ts';
import { outboxRoutes } from '../api/routes/outbox.ts';
import { readRoutes } from '../api/routes/reads.ts';
import { tenantRoutes } from '../api/routes/tenants.ts';
import { webhookRoutes } from '../api/routes/webhooks.ts';
import { buildApi } from '../api/server.ts';
import type { ChangeService } from '../config/changes.ts';
import type { OnlineOptimizer } from '../consumers/online/index.ts';
import { createLifecycle, type Role } from '../lib/lifecycle.ts';
import type { ExperimentRunner, ExperimentService } from '../optimizer/ab/index.ts';
import type { BatchRunner } from '../optimizer/batch/index.ts';
import type { StationProducer } from '../producers/stationProducer.ts';
import type { Runtime } from './bootstrap.ts';

export interface ApiRoleDeps {
  rt: Runtime;
  producer: StationProducer;
  changes: ChangeService;
  experiments: ExperimentService;
  experimentRunner?: ExperimentRunner;
  online?: OnlineOptimizer;
  batch?: BatchRunner;
}

export interface ApiRoleOptions {
  /** false: build the server for `inject` only (tests, the demo). */
  listen: boolean;
  host: string;
  port: number;
  tokenSecret: string;
}

export interface ApiRole extends Role {
  readonly server: FastifyInstance;
  /** Where it listens (undefined when not listening). */
  readonly url: string | undefined;
}

export async function startApi(deps: ApiRoleDeps, opts: ApiRoleOptions): Promise<ApiRole> {
  const { rt, changes } = deps;
  const server = await buildApi({
    rt,
    producer: deps.producer,
    plugins: [
      async (a) => {
        await a.register(configRoutes, { changes, pool: rt.pool, tokenSecret: opts.tokenSecret });
        await a.register(experimentRoutes, {
          service: deps.experiments,
          tokenSecret: opts.tokenSecret,
          ...(deps.experimentRunner ? { onCreated: deps.experimentRunner.refresh } : {}),
        });
        await a.register(webhookRoutes, {
          pool: rt.pool,
          stream: changes.stream,
          tokenSecret: opts.tokenSecret,
          allowPrivateNetworks: rt.cfg.webhooks.allowPrivateNetworks,
        });
        await a.register(outboxRoutes, {
          pool: rt.pool,
          stream: changes.stream,
          tokenSecret: opts.tokenSecret,
        });
        await a.register(readRoutes, {
          pool: rt.pool,
          audio: rt.audio,
          stream: changes.stream,
          experiments: deps.experiments,
          tokenSecret: opts.tokenSecret,
        });
        await a.register(tenantRoutes, {
          pool: rt.pool,
          audio: rt.audio,
          log: rt.log.child({ role: 'api' }),
          tokenSecret: opts.tokenSecret,
          defaults: {
            snapshotDays: Math.round(rt.cfg.topics.snapshotRetentionMs / 86_400_000),
            audioDays: rt.cfg.s3.retentionDays,
          },
        });
        await a.register(optimizerRoutes, {
          pool: rt.pool,
          changes,
          tokenSecret: opts.tokenSecret,
          ...(deps.online ? { memory: deps.online.memory } : {}),
          ...(deps.batch ? { batch: deps.batch } : {}),
        });
      },
    ],
  });
  const lc = createLifecycle(() => server.close());
  let url: string | undefined;
  if (opts.listen) {
    try {
      url = await server.listen({ host: opts.host, port: opts.port });
    } catch (err) {
      await server.close();
      throw err;
    }
    rt.log.info({ url }, 'API listening');
  }
  lc.running();
  return lc.role<Omit<ApiRole, keyof Role>>({
    server,
    get url() {
      return url;
    },
  });
}
