// Prometheus metrics, created on a registry that is passed in (STYLE §10): production uses one
// registry per process, tests make a fresh one and assert exact values.
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export function createMetrics(registry: Registry = new Registry(), withDefaults = false) {
  if (withDefaults) collectDefaultMetrics({ register: registry });
  return {
    registry,
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
    httpRequests: new Counter({
      name: 'voiceloop_http_requests_total',
      help: 'HTTP requests by route and status code',
      labelNames: ['route', 'status'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
