// A station agent's view of the compacted config topic (DESIGN §3, §7). It reads the topic from the
// beginning on every start (so a restarted agent rebuilds the same state), validates each record
// against the catalog, keeps the last known-good record per key when one is invalid, and answers every
// record with a ConfigAck (applied, rejected with the reason, or expired on the agent's own clock).
import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage, Producer } from 'kafkajs';
import { configKey } from '../../config/keys.ts';
import { ConfigView } from '../../config/view.ts';
import type { ConfigAck, ConfigRecord } from '../../contracts/generated.ts';
import type { Logger } from '../../lib/log.ts';
import type { AgentMetrics } from '../../lib/metrics.ts';
import type { Settings } from '../../lib/settings.ts';
import { extractTrace, SpanKind, type SpanOptions, withSpan } from '../../lib/tracing.ts';
import { agentGroupPrefix, agentPrincipal } from '../../stack/kafkaAuth.ts';
import { createConsumer, createProducer, type OwnedConsumer } from '../../streams/kafka.ts';
import type { Registry } from '../../streams/registry.ts';

export interface ConfigFeedDeps {
  kafka: Kafka;
  registry: Registry;
  log: Logger;
  topics: Pick<Settings['topics'], 'config' | 'acks' | 'prefix'>;
  /** Stable id of this agent process (the ack key); one process may serve several stations. */
  agentId: string;
  /** Stations served here: records for other stations are kept out of the view and not acked. */
  stations: readonly number[];
  clock?: () => number;
  /** How often TTLs are checked on the agent's clock. */
  expiryCheckMs?: number;
  /** The agent's own metrics (applied version, apply latency, TTL expiries). */
  metrics?: AgentMetrics;
}

export interface ConfigEvent {
  key: string;
  station: number;
  status: ConfigAck['status'] | 'removed';
  version: number;
  at: number;
  reason: string | null;
}

export interface ConfigFeed {
  readonly view: ConfigView;
  /** Bumps whenever the effective parameters of some call may have changed. */
  readonly generation: number;
  /** Resolves once every record on the topic at start has been read. */
  ready(timeoutMs?: number): Promise<void>;
  onEvent(fn: (e: ConfigEvent) => void): () => void;
  stop(): Promise<void>;
}

type AckCodec = { encode(a: ConfigAck): Buffer };

// Acks go out in the background, in order, as few sends as there are round trips: applying a record
// never waits for the broker, and a burst of records costs one ack send, not one per record.
function createAckQueue(
  producer: Producer,
  deps: Pick<ConfigFeedDeps, 'agentId' | 'topics' | 'log'>,
  ackCodec: AckCodec,
  clock: () => number,
) {
  let ackQueue: { key: string; value: Buffer; version: number }[] = [];
  let flushing: Promise<void> | null = null;
  async function flushAcks() {
    while (ackQueue.length > 0) {
      const batch = ackQueue;
      ackQueue = [];
      try {
        await producer.send({
          topic: deps.topics.acks,
          acks: -1,
          messages: batch.map((m) => ({ key: deps.agentId, value: m.value })),
        });
      } catch (err) {
        deps.log.warn(
          { err: (err as Error).message, acks: batch.map((m) => `${m.key}@${m.version}`) },
          'config acks not published',
        );
      }
    }
    flushing = null;
  }
  function ack(
    station: number,
    key: string,
    version: number,
    changeId: string | null,
    status: ConfigAck['status'],
    reason: string | null,
  ): void {
    const a: ConfigAck = {
      schema_version: 1,
      agent_id: deps.agentId,
      station_id: station,
      config_key: key,
      version,
      change_id: changeId,
      status,
      reason,
      acked_at: clock(),
    };
    ackQueue.push({ key, value: ackCodec.encode(a), version });
    flushing ??= flushAcks();
  }
  return { ack, flushed: async () => flushing ?? undefined };
}

// A fresh group each start: the agent always replays the compacted topic from the beginning and
// never commits, so the group only exists to let kafkajs fetch. Its name starts with the prefix the
// agent's principal may use (stack/kafkaAuth.ts): `<prefix>.agent.station-<id>.` for one station.
function feedConsumer(
  deps: Pick<ConfigFeedDeps, 'kafka' | 'topics' | 'agentId' | 'stations'>,
): OwnedConsumer {
  const groups = agentGroupPrefix(deps.topics.prefix, agentPrincipal(deps.stations));
  return createConsumer(deps.kafka, {
    groupId: `${groups}${deps.agentId}.${randomUUID()}`,
    maxWaitTimeInMs: 50,
  });
}

/** The agent's apply span: child of the relay's publish, the last span of a change's trace. */
function applySpan(key: string, agentId: string, headers: KafkaMessage['headers']): SpanOptions {
  return {
    kind: SpanKind.CONSUMER,
    parent: extractTrace(headers),
    attributes: { 'voiceloop.config_key': key, 'voiceloop.agent_id': agentId },
  };
}

/** Resolves with `p`, or rejects once `timeoutMs` passes first. */
async function within(p: Promise<void>, timeoutMs: number): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  const late = new Promise((_, reject) => {
    t = setTimeout(() => reject(new Error(`config topic not caught up within ${timeoutMs} ms`)), timeoutMs);
  });
  await Promise.race([p, late]).finally(() => clearTimeout(t));
}

/** The agent's metrics for each record it handles. */
function feedMeters(m: AgentMetrics | undefined, clock: () => number, caughtUp: Promise<void>) {
  // Apply latency is only meaningful for records that arrive live: the replay of the compacted topic
  // at start applies records issued long ago.
  let live = false;
  void caughtUp.then(() => {
    live = true;
  });
  const highest = new Map<number, number>();
  return (rec: ConfigRecord, status: 'applied' | 'rejected' | 'expired') => {
    if (!m) return;
    const station = String(rec.station_id);
    m.configRecords.inc({ station, status });
    if (status === 'expired') m.ttlExpiries.inc({ station });
    if (status !== 'applied') return;
    if (rec.version > (highest.get(rec.station_id) ?? 0)) {
      highest.set(rec.station_id, rec.version);
      m.appliedVersion.set({ station }, rec.version);
    }
    if (live) m.applySeconds.observe({ station }, Math.max(0, clock() - rec.issued_at) / 1000);
  };
}

/** Resolves `ready` once every partition of the topic has been read up to its end offset at start. */
async function trackCatchUp(kafka: Kafka, topic: string) {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const pending = new Map(ends.filter((p) => Number(p.high) > 0).map((p) => [p.partition, Number(p.high)]));
  let caughtUp: () => void = () => {};
  const ready = new Promise<void>((r) => {
    caughtUp = r;
  });
  if (pending.size === 0) caughtUp();
  return {
    ready,
    seen(partition: number, offset: string) {
      const want = pending.get(partition);
      if (want !== undefined && Number(offset) + 1 >= want) {
        pending.delete(partition);
        if (pending.size === 0) caughtUp();
      }
    },
  };
}

export async function startConfigFeed(deps: ConfigFeedDeps): Promise<ConfigFeed> {
  const clock = deps.clock ?? Date.now;
  const view = new ConfigView();
  const codec = deps.registry.codec('ConfigRecord');
  const ackCodec = deps.registry.codec('ConfigAck');
  const served = new Set(deps.stations);
  const listeners = new Set<(e: ConfigEvent) => void>();
  const expiredAcked = new Set<string>();
  let generation = 0;

  const producer: Producer = createProducer(deps.kafka);
  await producer.connect();
  const owned = feedConsumer(deps);
  const { consumer } = owned;

  const catchUp = await trackCatchUp(deps.kafka, deps.topics.config);

  const acks = createAckQueue(producer, deps, ackCodec, clock);
  const { ack } = acks;

  function emit(e: ConfigEvent) {
    generation++;
    for (const fn of listeners) fn(e);
  }

  const measure = feedMeters(deps.metrics, clock, catchUp.ready);
  function expire(key: string, r: ConfigRecord) {
    measure(r, 'expired');
    const reason = `TTL ended at ${new Date(r.expires_at!).toISOString()}`;
    emit({ key, station: r.station_id, status: 'expired', version: r.version, at: clock(), reason });
    ack(r.station_id, key, r.version, r.change_id, 'expired', reason);
  }

  async function handle(key: string, value: Buffer | null) {
    const station = Number(key.split('/')[0]);
    if (!served.has(station)) return;
    if (value === null) {
      // The relay's tombstone for an expired record can beat this agent's own TTL check (a busy
      // event loop): the expiry is still acknowledged, once.
      const gone = view.get(key);
      if (gone?.expires_at != null && gone.expires_at <= clock() && !expiredAcked.has(key)) expire(key, gone);
      view.apply(key, null);
      expiredAcked.delete(key);
      emit({ key, station, status: 'removed', version: 0, at: clock(), reason: null });
      return;
    }
    let rec: ConfigRecord;
    try {
      rec = await codec.decode(value);
    } catch (err) {
      const reason = `undecodable config record: ${(err as Error).message}`;
      deps.log.warn({ key, reason }, 'config record rejected');
      ack(station, key, 0, null, 'rejected', reason);
      return;
    }
    const outcome = view.apply(key, rec);
    if (outcome.status === 'applied') {
      measure(rec, 'applied');
      expiredAcked.delete(key);
      emit({ key, station, status: 'applied', version: rec.version, at: clock(), reason: null });
      ack(station, key, rec.version, rec.change_id, 'applied', null);
    } else if (outcome.status === 'rejected') {
      measure(rec, 'rejected');
      deps.log.warn(
        { key, version: rec.version, reason: outcome.reason },
        'config record rejected; last known-good kept',
      );
      emit({ key, station, status: 'rejected', version: rec.version, at: clock(), reason: outcome.reason });
      ack(station, key, rec.version, rec.change_id, 'rejected', outcome.reason);
    }
    // 'stale': a re-delivery of what is already in effect; nothing to say.
  }

  await consumer.connect();
  await consumer.subscribe({ topic: deps.topics.config, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      const key = message.key?.toString() ?? '';
      await withSpan('config apply', applySpan(key, deps.agentId, message.headers), () =>
        handle(key, message.value),
      );
      catchUp.seen(partition, message.offset);
    },
  });

  // TTL on the agent's own clock: an expired record stops applying without waiting for its tombstone.
  const timer = setInterval(() => {
    for (const r of view.expired(clock())) {
      const key = configKey(r.station_id, r.scope);
      if (expiredAcked.has(key) || !served.has(r.station_id)) continue;
      expiredAcked.add(key);
      expire(key, r);
    }
  }, deps.expiryCheckMs ?? 100);
  timer.unref();

  return {
    view,
    get generation() {
      return generation;
    },
    ready: (timeoutMs = 30_000) => within(catchUp.ready, timeoutMs),
    onEvent(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    async stop() {
      clearInterval(timer);
      await owned.stop().catch(() => {});
      await acks.flushed();
      await producer.disconnect().catch(() => {});
    },
  };
}
