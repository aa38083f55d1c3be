// Runs the API and every consumer role in one process (`npm start`); each role can also run alone
// (ROLES=persister,api) and scale out through its consumer group. Every role is started the same way,
// `startX(deps, options) -> { state, stop(), done }`, and stopped in reverse order of start.
import type { FastifyInstance } from 'fastify';
import { ChangeService } from '../config/changes.ts';
import { type ExpirySweep, startExpirySweep } from '../config/expiry.ts';
import { type OutboxRelay, startOutboxRelay } from '../config/outbox.ts';
import {
  type OnlineOptimizer,
  type OnlineOptimizerOptions,
  startOnlineOptimizer,
} from '../consumers/online/index.ts';
import { type Persister, startPersister } from '../consumers/persister/index.ts';
import { MAX_CLOCK_SKEW_MS } from '../domain/snapshot.ts';
import { VoiceloopError } from '../lib/errors.ts';
import { createLifecycle, type Role } from '../lib/lifecycle.ts';
import type { Logger } from '../lib/log.ts';
import type { Settings } from '../lib/settings.ts';
import { type Maintenance, startMaintenance } from '../maintenance/index.ts';
import {
  type ExperimentRunner,
  ExperimentService,
  experimentGroupId,
  startExperimentRunner,
} from '../optimizer/ab/index.ts';
import { type BatchRunner, startBatchRunner } from '../optimizer/batch/index.ts';
import { createStationProducer, type StationProducer } from '../producers/stationProducer.ts';
import type { Principal } from '../stack/kafkaAuth.ts';
import type { WebhookWorker } from '../webhooks/worker.ts';
import { type ApiRole, startApi } from './api.ts';
import { bootstrap, type Runtime } from './bootstrap.ts';
import { batchDepsFor, maintenanceOptionsFor } from './deps.ts';
import { type WatchedGroup, watchForMetrics } from './observe.ts';
import { startWebhookRole } from './webhooks.ts';

export const ALL_ROLES = [
  'api',
  'persister',
  'relay',
  'online',
  'experiments',
  'maintenance',
  'webhooks',
] as const;
export type RoleName = (typeof ALL_ROLES)[number];

/**
 * The broker principal each role acts as (stack/kafkaAuth.ts has their ACLs): the API side (API,
 * experiments, batch runs, webhooks), the persister, the online optimizer, the relay, maintenance.
 */
export const ROLE_PRINCIPAL: Readonly<Record<RoleName, Principal>> = {
  api: 'api',
  persister: 'persister',
  relay: 'relay',
  online: 'online',
  experiments: 'api',
  maintenance: 'maintenance',
  webhooks: 'api',
};

/** The principal of the process's own client (topics, metrics): its first role's, in ALL_ROLES order. */
export function processPrincipal(roles: readonly RoleName[]): Principal {
  const first = ALL_ROLES.find((r) => roles.includes(r));
  return first ? ROLE_PRINCIPAL[first] : 'api';
}

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

export interface App extends Role {
  rt: Runtime;
  /** The API server (for `inject`), when the api role runs. */
  api?: FastifyInstance;
  apiRole?: ApiRole;
  persister?: Persister;
  relay?: OutboxRelay;
  expiry?: ExpirySweep;
  online?: OnlineOptimizer;
  experiments?: ExperimentRunner;
  batch?: BatchRunner;
  maintenance?: Maintenance;
  webhooks?: WebhookWorker;
  changes: ChangeService;
  producer: StationProducer;
  url?: string;
}

export interface StartOptions {
  listen?: boolean;
  /** The process's logger (default: JSON lines at the configured level). */
  log?: Logger;
  /** The clock of the change path's cool-downs and TTLs and of the online decisions (tests inject one). */
  clock?: () => number;
  /** Options for the online optimizer role (the demo observes decisions; tests enable exploration). */
  online?: Partial<Pick<OnlineOptimizerOptions, 'explore' | 'callTtlMs' | 'onDecision' | 'fromBeginning'>>;
}

export async function startApp(
  cfg: Readonly<Settings>,
  roles: RoleName[] = [...ALL_ROLES],
  opts: StartOptions = {},
): Promise<App> {
  const rt = await bootstrap(cfg, {
    ...(opts.log ? { log: opts.log } : {}),
    principal: processPrincipal(roles),
  });
  const started: Role[] = [];
  let producer: StationProducer | undefined;
  // The consumer groups this process runs, whose lag /metrics reports.
  const groups: WatchedGroup[] = [];
  const unwatch = watchForMetrics(rt.metrics, {
    kafka: rt.kafka,
    pool: rt.pool,
    stream: cfg.topics.prefix,
    groups: () => groups,
  });
  const lc = createLifecycle(async () => {
    // One shutdown path, reverse order of start: stop taking requests, then drain consumers.
    for (const role of started.reverse()) await role.stop();
    await producer?.stop();
    await unwatch();
    await rt.close();
  });
  const start = async <R extends Role>(role: Promise<R>): Promise<R> => {
    const r = await role;
    started.push(r);
    return r;
  };
  try {
    producer = await createStationProducer({
      kafka: rt.kafkaAs(ROLE_PRINCIPAL.api),
      codec: rt.registry.codec('StationSnapshot'),
      audio: rt.audio,
      topic: cfg.topics.snapshots,
      metrics: rt.metrics,
      maxPcmBytes: cfg.api.maxPcmBytes,
      source: 'api',
    });
    let relay: OutboxRelay | undefined;
    const changes = new ChangeService(
      rt.pool,
      rt.registry,
      cfg.topics.prefix,
      undefined,
      () => relay?.kick(),
      opts.clock,
      rt.metrics,
    );
    const app = lc.role<Omit<App, keyof Role>>({ rt, producer, changes });
    const s: Starting = { rt, cfg, opts, groups, start };
    // Batch runs are started through the API (or `npm run batch`); each has its own consumer group.
    if (roles.includes('api')) app.batch = await start(startBatchRunner(batchDepsFor(rt, changes)));
    if (roles.includes('persister')) app.persister = await persisterRole(s);
    if (roles.includes('relay')) {
      relay = app.relay = await relayRole(s);
      app.expiry = await start(startExpirySweep({ changes, log: rt.log.child({ role: 'expiry' }) }));
    }
    if (roles.includes('webhooks')) app.webhooks = await start(startWebhookRole(rt));
    if (roles.includes('online')) app.online = await onlineRole(s, changes);
    const experiments = new ExperimentService({
      pool: rt.pool,
      changes,
      registry: rt.registry,
      log: rt.log.child({ role: 'experiments' }),
    });
    if (roles.includes('experiments')) app.experiments = await experimentsRole(s, experiments);
    if (roles.includes('maintenance')) app.maintenance = await maintenanceRole(s);
    if (roles.includes('api')) await apiRole(s, app, experiments);
    // A role that fails on its own takes the process's roles down with it, through the one path.
    for (const role of started) {
      void role.done.then(async () => {
        if (role.state === 'failed') await lc.fail(role.failure);
      });
    }
    lc.running();
    return app;
  } catch (err) {
    await lc.fail(err);
    throw err;
  }
}

/** What starting a role needs: the runtime, the settings and options, where the started roles go. */
interface Starting {
  rt: Runtime;
  cfg: Readonly<Settings>;
  opts: StartOptions;
  /** The consumer groups this process runs, whose lag /metrics reports. */
  groups: WatchedGroup[];
  /** Awaits a role's start and records it for the shutdown (reverse order of start). */
  start<R extends Role>(role: Promise<R>): Promise<R>;
}

function persisterRole({ rt, cfg, groups, start }: Starting): Promise<Persister> {
  groups.push({ groupId: cfg.groups.persister, topic: cfg.topics.snapshots });
  return start(
    startPersister(
      {
        kafka: rt.kafkaAs(ROLE_PRINCIPAL.persister),
        pool: rt.pool,
        codec: rt.registry.codec('StationSnapshot'),
        log: rt.log.child({ role: 'persister' }),
        metrics: rt.metrics,
      },
      {
        topics: cfg.topics,
        groupId: cfg.groups.persister,
        capturedWindow: { maxAgeMs: cfg.topics.snapshotRetentionMs, maxAheadMs: MAX_CLOCK_SKEW_MS },
        partitionRetentionMs: cfg.topics.snapshotRetentionMs,
      },
    ),
  );
}

function relayRole({ rt, cfg, start }: Starting): Promise<OutboxRelay> {
  return start(
    startOutboxRelay(
      {
        kafka: rt.kafkaAs(ROLE_PRINCIPAL.relay),
        pool: rt.pool,
        registry: rt.registry,
        log: rt.log.child({ role: 'relay' }),
        metrics: rt.metrics,
      },
      { topics: cfg.topics },
    ),
  );
}

function onlineRole(
  { rt, cfg, opts, groups, start }: Starting,
  changes: ChangeService,
): Promise<OnlineOptimizer> {
  groups.push({ groupId: cfg.groups.online, topic: cfg.topics.snapshots });
  return start(
    startOnlineOptimizer(
      {
        kafka: rt.kafkaAs(ROLE_PRINCIPAL.online),
        pool: rt.pool,
        codec: rt.registry.codec('StationSnapshot'),
        configCodec: rt.registry.codec('ConfigRecord'),
        changes,
        log: rt.log.child({ role: 'online' }),
        metrics: rt.metrics,
      },
      {
        topics: cfg.topics,
        groupId: cfg.groups.online,
        partitions: cfg.topics.snapshotPartitions,
        ...(opts.clock ? { clock: opts.clock } : {}),
        ...opts.online,
      },
    ),
  );
}

function experimentsRole(
  { rt, cfg, groups, start }: Starting,
  experiments: ExperimentService,
): Promise<ExperimentRunner> {
  groups.push({ groupId: experimentGroupId(cfg), topic: cfg.topics.snapshots });
  return start(
    startExperimentRunner(
      {
        kafka: rt.kafkaAs(ROLE_PRINCIPAL.experiments),
        service: experiments,
        codec: rt.registry.codec('StationSnapshot'),
        log: rt.log.child({ role: 'experiments' }),
      },
      { topics: cfg.topics, groupId: experimentGroupId(cfg) },
    ),
  );
}

function maintenanceRole({ rt, cfg, opts, start }: Starting): Promise<Maintenance> {
  return start(
    startMaintenance(
      {
        pool: rt.pool,
        audio: rt.audio,
        log: rt.log.child({ role: 'maintenance' }),
        metrics: rt.metrics,
        ...(opts.clock ? { clock: opts.clock } : {}),
      },
      maintenanceOptionsFor(cfg),
    ),
  );
}

/** The API, over the roles started before it (it reports on them); sets `app.api`, `apiRole`, `url`. */
async function apiRole(
  { rt, cfg, opts, start }: Starting,
  app: Omit<App, keyof Role>,
  experiments: ExperimentService,
): Promise<void> {
  app.apiRole = await start(
    startApi(
      {
        rt,
        producer: app.producer,
        changes: app.changes,
        experiments,
        ...(app.experiments ? { experimentRunner: app.experiments } : {}),
        ...(app.online ? { online: app.online } : {}),
        ...(app.batch ? { batch: app.batch } : {}),
      },
      {
        listen: opts.listen !== false,
        host: cfg.api.host,
        port: cfg.api.port,
        tokenSecret: cfg.api.tokenSecret,
      },
    ),
  );
  app.api = app.apiRole.server;
  if (app.apiRole.url) app.url = app.apiRole.url;
}
