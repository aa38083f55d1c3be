// Runs the API and every consumer role in one process (`npm start`); each role can also run alone
// (ROLES=persister,api) and scale out through its consumer group.
import type { FastifyInstance } from 'fastify';
import { configRoutes } from '../api/routes/config.ts';
import { experimentRoutes } from '../api/routes/experiments.ts';
import { optimizerRoutes } from '../api/routes/optimizer.ts';
import { buildApi } from '../api/server.ts';
import { ChangeService } from '../config/changes.ts';
import { type OutboxRelay, startOutboxRelay } from '../config/outbox.ts';
import {
  type OnlineOptimizer,
  type OnlineOptimizerOptions,
  startOnlineOptimizer,
} from '../consumers/online/index.ts';
import { type Persister, startPersister } from '../consumers/persister/index.ts';
import type { Config } from '../lib/config.ts';
import { VoiceloopError } from '../lib/errors.ts';
import {
  type ExperimentRunner,
  ExperimentService,
  experimentGroupId,
  startExperimentRunner,
} from '../optimizer/ab/index.ts';
import { batchDepsFor, createBatchService } from '../optimizer/batch/index.ts';
import { createStationProducer, type StationProducer } from '../producers/stationProducer.ts';
import { bootstrap, type Runtime } from './bootstrap.ts';

export const ALL_ROLES = ['api', 'persister', 'relay', 'online', 'experiments'] as const;
export type RoleName = (typeof ALL_ROLES)[number];

export function parseRoles(raw: string | undefined): RoleName[] {
  if (!raw || raw === 'all') return [...ALL_ROLES];
  const roles = raw.split(',').map((r) => r.trim());
  for (const r of roles) {
    if (!(ALL_ROLES as readonly string[]).includes(r)) {
      throw new VoiceloopError(
        'CONFIG_INVALID',
        `ROLES entry "${r}" is unknown; known roles: ${ALL_ROLES.join(', ')}`,
      );
    }
  }
  return roles as RoleName[];
}

export interface App {
  rt: Runtime;
  api?: FastifyInstance;
  persister?: Persister;
  relay?: OutboxRelay;
  online?: OnlineOptimizer;
  experiments?: ExperimentRunner;
  changes: ChangeService;
  producer: StationProducer;
  url?: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  listen?: boolean;
  /** Options for the online optimizer role (the demo observes decisions; tests enable exploration). */
  online?: Partial<Pick<OnlineOptimizerOptions, 'explore' | 'callTtlMs' | 'onDecision' | 'fromBeginning'>>;
}

export async function startApp(
  cfg: Readonly<Config>,
  roles: RoleName[] = [...ALL_ROLES],
  opts: StartOptions = {},
): Promise<App> {
  const rt = await bootstrap(cfg);
  const producer = await createStationProducer({
    kafka: rt.kafka,
    codec: rt.registry.codec('StationSnapshot'),
    audio: rt.audio,
    topic: cfg.topics.snapshots,
    metrics: rt.metrics,
    maxPcmBytes: cfg.api.maxPcmBytes,
    source: 'api',
  });
  let relay: OutboxRelay | undefined;
  const changes = new ChangeService(rt.pool, rt.registry, cfg.topics.prefix, undefined, () => relay?.kick());
  let expiryTimer: NodeJS.Timeout | undefined;
  // Batch runs are started through the API (or `npm run batch`); each has its own consumer group.
  const batch = roles.includes('api') ? createBatchService(batchDepsFor(rt, changes)) : undefined;
  const app: App = {
    rt,
    producer,
    changes,
    async stop() {
      // One shutdown path, reverse order of start: stop taking requests, then drain consumers.
      clearInterval(expiryTimer);
      await app.api?.close();
      await app.online?.stop();
      await app.experiments?.stop();
      await app.relay?.stop();
      await app.persister?.stop();
      await batch?.stop();
      await producer.stop();
      await rt.close();
    },
  };
  try {
    if (roles.includes('persister')) {
      app.persister = await startPersister(
        {
          kafka: rt.kafka,
          pool: rt.pool,
          codec: rt.registry.codec('StationSnapshot'),
          log: rt.log.child({ role: 'persister' }),
          metrics: rt.metrics,
        },
        { topics: cfg.topics, groupId: cfg.groups.persister },
      );
    }
    if (roles.includes('relay')) {
      relay = app.relay = await startOutboxRelay({
        kafka: rt.kafka,
        pool: rt.pool,
        registry: rt.registry,
        log: rt.log.child({ role: 'relay' }),
        topics: cfg.topics,
      });
      // Expired call-scoped (and other TTL'd) records are tombstoned so the compacted topic forgets them.
      expiryTimer = setInterval(() => {
        changes
          .expire()
          .catch((err) => rt.log.warn({ err: (err as Error).message }, 'config expiry sweep failed'));
      }, 1_000);
      expiryTimer.unref();
    }
    if (roles.includes('online')) {
      app.online = await startOnlineOptimizer(
        {
          kafka: rt.kafka,
          pool: rt.pool,
          codec: rt.registry.codec('StationSnapshot'),
          changes,
          log: rt.log.child({ role: 'online' }),
        },
        {
          topics: cfg.topics,
          groupId: cfg.groups.online,
          partitions: cfg.topics.snapshotPartitions,
          ...opts.online,
        },
      );
    }
    const experiments = new ExperimentService({
      pool: rt.pool,
      changes,
      registry: rt.registry,
      log: rt.log.child({ role: 'experiments' }),
    });
    if (roles.includes('experiments')) {
      app.experiments = await startExperimentRunner(
        {
          kafka: rt.kafka,
          service: experiments,
          codec: rt.registry.codec('StationSnapshot'),
          log: rt.log.child({ role: 'experiments' }),
        },
        { topics: cfg.topics, groupId: experimentGroupId(cfg) },
      );
    }
    if (roles.includes('api')) {
      app.api = await buildApi({
        rt,
        producer,
        plugins: [
          async (a) => {
            await a.register(configRoutes, { changes, pool: rt.pool, tokenSecret: cfg.api.tokenSecret });
            await a.register(experimentRoutes, {
              service: experiments,
              tokenSecret: cfg.api.tokenSecret,
              ...(app.experiments ? { onCreated: app.experiments.refresh } : {}),
            });
            await a.register(optimizerRoutes, {
              pool: rt.pool,
              changes,
              tokenSecret: cfg.api.tokenSecret,
              ...(app.online ? { memory: app.online.memory } : {}),
              ...(batch ? { batch } : {}),
            });
          },
        ],
      });
      if (opts.listen !== false) {
        app.url = await app.api.listen({ host: cfg.api.host, port: cfg.api.port });
        rt.log.info({ url: app.url }, 'API listening');
      }
    }
  } catch (err) {
    await app.stop().catch(() => {});
    throw err;
  }
  return app;
}
