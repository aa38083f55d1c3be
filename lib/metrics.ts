// Prometheus metrics, created on a registry that is passed in (STYLE §10): production uses one
// registry per process, tests make a fresh one and assert exact values.
// Labels stay bounded: station ids, actor kinds, result codes, consumer groups and partitions — never
// a call, snapshot or change id.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Who made a change, as a bounded label: the actor string itself carries user and experiment ids. */
export type ActorKind = 'operator' | 'online' | 'auto_rollback' | 'experiment' | 'batch' | 'other';

export function actorKind(actor: string): ActorKind {
  if (actor.endsWith(':auto-rollback')) return 'auto_rollback';
  if (actor.startsWith('user:')) return 'operator';
  if (actor.startsWith('ab:')) return 'experiment';
  if (actor.startsWith('optimizer:online')) return 'online';
  if (actor.startsWith('optimizer:batch') || actor.startsWith('batch:')) return 'batch';
  return 'other';
}

/** Station scores are 0..100 (optimizer/core/scorecard.ts). */
const SCORE_BUCKETS = [10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95, 100];
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** One partition's lag of one consumer group. */
export interface LagRow {
  group: string;
  topic: string;
  partition: number;
  lag: number;
}

/**
 * What some gauges read when Prometheus scrapes (PostgreSQL, the Kafka admin API), set by the process
 * that has those connections (runtime/observe.ts). A source that fails leaves its gauge empty for that
 * scrape: /metrics still answers with everything else.
 */
export interface ScrapeSources {
  consumerLag?: () => Promise<LagRow[]>;
  outbox?: () => Promise<{ pending: number; oldestAgeSeconds: number }>;
  webhooks?: () => Promise<{ pending: number }>;
}

/** Both outbox gauges come from one query per scrape. */
function shared<T>(read: () => Promise<T>, ms = 1_000): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (!last || Date.now() - last.at > ms) last = { at: Date.now(), value: read() };
    return last.value;
  };
}

/** The loop's metrics: scores, decisions, changes, lag, outbox, webhooks. */
function loopMetrics(
  registry: Registry,
  sources: ScrapeSources,
  readOutbox: () => Promise<{ pending: number; oldestAgeSeconds: number } | null>,
) {
  return {
    stationScore: new Histogram({
      name: 'voiceloop_station_score',
      help: 'Scorecard score (0..100) of each snapshot the online optimizer judged, by station',
      labelNames: ['station'] as const,
      buckets: SCORE_BUCKETS,
      registers: [registry],
    }),
    decisionSeconds: new Histogram({
      name: 'voiceloop_decision_seconds',
      help: 'Time the online optimizer took to decide on one snapshot (and carry the decision out), by station',
      labelNames: ['station'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    changes: new Counter({
      name: 'voiceloop_changes_total',
      help: 'Parameter changes committed through the change path, by outcome (applied, rejected, rolled_back: a change undone by a later one), actor kind and station',
      labelNames: ['outcome', 'actor_kind', 'station'] as const,
      registers: [registry],
    }),
    consumerLag: new Gauge({
      name: 'voiceloop_consumer_lag',
      help: 'Records on a partition not yet committed by a consumer group (end offset - committed offset), read at scrape time',
      labelNames: ['group', 'topic', 'partition'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        const rows = await sources.consumerLag?.().catch(() => null);
        for (const r of rows ?? [])
          this.set({ group: r.group, topic: r.topic, partition: String(r.partition) }, r.lag);
      },
    }),
    outboxPending: new Gauge({
      name: 'voiceloop_outbox_pending',
      help: 'Outbox rows written by the change path and not yet published to Kafka, read at scrape time',
      registers: [registry],
      async collect() {
        const o = await readOutbox();
        if (o) this.set(o.pending); // else the last value stays (the database did not answer)
      },
    }),
    outboxOldestPendingSeconds: new Gauge({
      name: 'voiceloop_outbox_oldest_pending_age_seconds',
      help: 'Age of the oldest outbox row not yet published (0 when none is pending), read at scrape time',
      registers: [registry],
      async collect() {
        const o = await readOutbox();
        if (o) this.set(o.oldestAgeSeconds);
      },
    }),
    webhookDeliveries: new Counter({
      name: 'voiceloop_webhook_deliveries_total',
      help: 'Webhook delivery attempts, by result (delivered, failed, paused: the subscription was paused after it)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    webhookPending: new Gauge({
      name: 'voiceloop_webhook_pending',
      help: 'Webhook deliveries recorded and not yet delivered (nor given up), read at scrape time',
      registers: [registry],
      async collect() {
        const w = await sources.webhooks?.().catch(() => null);
        if (w) this.set(w.pending);
      },
    }),
  };
}

/** The maintenance role's sweeps (maintenance/sweep.ts). */
function maintenanceMetrics(registry: Registry) {
  return {
    maintenanceSweeps: new Counter({
      name: 'voiceloop_maintenance_sweeps_total',
      help: 'Maintenance sweeps by outcome (completed, failed, interrupted) and whether they were dry runs',
      labelNames: ['status', 'dry_run'] as const,
      registers: [registry],
    }),
    maintenanceItems: new Counter({
      name: 'voiceloop_maintenance_items_total',
      help: 'What maintenance sweeps deleted (or created, for partitions_ahead), by task; dry runs not counted',
      labelNames: ['task'] as const,
      registers: [registry],
    }),
    maintenanceTaskSeconds: new Histogram({
      name: 'voiceloop_maintenance_task_seconds',
      help: 'Time of one maintenance task in one sweep',
      labelNames: ['task'] as const,
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers: [registry],
    }),
  };
}

export function createMetrics(registry: Registry = new Registry(), withDefaults = false) {
  if (withDefaults) collectDefaultMetrics({ register: registry });
  const sources: ScrapeSources = {};
  let outbox: (() => Promise<{ pending: number; oldestAgeSeconds: number }>) | undefined;
  const readOutbox = () => {
    if (!sources.outbox) return Promise.resolve(null);
    outbox ??= shared(sources.outbox);
    return outbox().catch(() => null);
  };
  return {
    registry,
    /** Set once by the process: what the scrape-time gauges read. */
    setSources(s: ScrapeSources) {
      Object.assign(sources, s);
      outbox = undefined;
    },
    snapshotsPublished: new Counter({
      name: 'voiceloop_snapshots_published_total',
      help: 'Station snapshots published to Kafka, by source',
      labelNames: ['source'] as const,
      registers: [registry],
    }),
    audioUploaded: new Counter({
      name: 'voiceloop_audio_uploaded_bytes_total',
      help: 'PCM bytes uploaded to the object store (content already present is not counted)',
      registers: [registry],
    }),
    snapshotsPersisted: new Counter({
      name: 'voiceloop_snapshots_persisted_total',
      help: 'Snapshot rows written to PostgreSQL (redeliveries that changed nothing are counted as duplicates)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    deadLettered: new Counter({
      name: 'voiceloop_dead_letters_total',
      help: 'Records sent to the dead-letter topic, by error code',
      labelNames: ['source_topic', 'code'] as const,
      registers: [registry],
    }),
    consumerRestarts: new Counter({
      name: 'voiceloop_consumer_restarts_total',
      help: 'Times a role restarted its Kafka consumer after a crash kafkajs would not restart itself',
      labelNames: ['group'] as const,
      registers: [registry],
    }),
    persistBatchSeconds: new Histogram({
      name: 'voiceloop_persist_batch_seconds',
      help: 'Time to write one batch in one transaction',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    outboxSetAside: new Counter({
      name: 'voiceloop_outbox_set_aside_total',
      help: 'Outbox rows set aside because they can never be published (they do not encode, or Kafka refuses them for good)',
      labelNames: ['contract'] as const,
      registers: [registry],
    }),
    ...loopMetrics(registry, sources, readOutbox),
    ...maintenanceMetrics(registry),
    dependencyRefusals: new Counter({
      name: 'voiceloop_dependency_refusals_total',
      help: 'Requests answered 503 because a dependency (postgres, kafka, schema_registry, object_store) was down',
      labelNames: ['dependency'] as const,
      registers: [registry],
    }),
    httpRequests: new Counter({
      name: 'voiceloop_http_requests_total',
      help: 'HTTP requests by route and status code',
      labelNames: ['route', 'status'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** A station agent's own metrics, on its own registry and its own /metrics (bin/agent.ts --metrics-port). */
export function createAgentMetrics(registry: Registry = new Registry(), withDefaults = false) {
  if (withDefaults) collectDefaultMetrics({ register: registry });
  return {
    registry,
    appliedVersion: new Gauge({
      name: 'voiceloop_agent_applied_config_version',
      help: 'Highest config version this agent has applied, by station',
      labelNames: ['station'] as const,
      registers: [registry],
    }),
    applySeconds: new Histogram({
      name: 'voiceloop_agent_apply_seconds',
      help: 'From a config record being issued (issued_at) to this agent having it in effect, by station',
      labelNames: ['station'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    configRecords: new Counter({
      name: 'voiceloop_agent_config_records_total',
      help: 'Config records this agent handled, by station and status (applied, rejected, expired)',
      labelNames: ['station', 'status'] as const,
      registers: [registry],
    }),
    ttlExpiries: new Counter({
      name: 'voiceloop_agent_ttl_expiries_total',
      help: 'Config records whose TTL ended on this agent, by station',
      labelNames: ['station'] as const,
      registers: [registry],
    }),
  };
}

export type AgentMetrics = ReturnType<typeof createAgentMetrics>;
