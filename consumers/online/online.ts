// The online optimizer role (DESIGN §8): a consumer group on the snapshot topic that decides per call
// and station within milliseconds. Snapshots of one call share a partition (keyed by call_id), so
// decisions for a call are made in order; the controller state of each (call, station) lives here
// and is forgotten when the call goes quiet.
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { ChangeService } from '../../config/changes.ts';
import type { StationSnapshot } from '../../contracts/generated.ts';
import { canRetry } from '../../lib/errors.ts';
import { createLifecycle, type Role } from '../../lib/lifecycle.ts';
import type { Logger } from '../../lib/log.ts';
import type { Metrics } from '../../lib/metrics.ts';
import type { Settings } from '../../lib/settings.ts';
import { extractTrace, SpanKind, withSpan } from '../../lib/tracing.ts';
import type { LearnedRegion } from '../../optimizer/core/prior.ts';
import type { Pool } from '../../storage/db.ts';
import { latestLearnedRegion } from '../../storage/learnedRegions.ts';
import type { Codec } from '../../streams/registry.ts';
import { type ConsumedBatch, type DecodedRecord, runRoleConsumer } from '../../streams/roleConsumer.ts';
import { type CallMemory, type DecisionOutcome, decideAndApply } from './decisions.ts';

export interface OnlineOptimizerDeps {
  kafka: Kafka;
  pool: Pool;
  codec: Codec<StationSnapshot>;
  changes: ChangeService;
  log: Logger;
  metrics?: Metrics;
}

export interface OnlineOptimizerOptions {
  topics: Pick<Settings['topics'], 'snapshots'>;
  groupId: string;
  callTtlMs?: number;
  explore?: boolean;
  /** A call whose last snapshot is older than this is forgotten (default DEFAULT_IDLE_CALL_MS). */
  idleCallMs?: number;
  /** At most this many (call, station) controllers are kept; the longest quiet go first. */
  maxCalls?: number;
  fromBeginning?: boolean;
  /** Partitions consumed at once (default DEFAULT_PARTITIONS). */
  partitions?: number;
  /** Calls of one partition's batch decided in parallel (default DEFAULT_CONCURRENCY). */
  concurrency?: number;
  /** The decisions' clock (default: the wall clock). */
  clock?: () => number;
  /** Observer for the demo and benchmarks. */
  onDecision?: (snap: StationSnapshot, out: DecisionOutcome) => void;
}

/**
 * A live call sends a snapshot per segment (about a second): two quiet minutes mean it has ended. The
 * controller state of a call is ~20 KB, so this bounds the role's memory by the calls of the last
 * two minutes, not by the volume seen (bench: memory).
 */
const DEFAULT_IDLE_CALL_MS = 120_000;
const DEFAULT_MAX_CALLS = 50_000;
/** As many as the snapshot topic has by default (SNAPSHOT_PARTITIONS). */
const DEFAULT_PARTITIONS = 6;
/** Per partition; with 6 partitions this keeps within a pool of a few dozen connections' worth of work. */
const DEFAULT_CONCURRENCY = 4;

/** A learned region is read once per tenant and station this often at most (calls start every second). */
const REGION_CACHE_MS = 30_000;

/** The batch optimizer's newest learned region per tenant and station, cached briefly. */
function learnedRegionCache(pool: Pool, stream: string) {
  const cache = new Map<string, { at: number; region: Promise<LearnedRegion | null> }>();
  return (tenantId: string, stationId: number): Promise<LearnedRegion | null> => {
    const k = `${tenantId}/${stationId}`;
    const hit = cache.get(k);
    if (hit && Date.now() - hit.at < REGION_CACHE_MS) return hit.region;
    const region = latestLearnedRegion(pool, stream, tenantId, stationId).catch((err: unknown) => {
      cache.delete(k);
      throw err;
    });
    cache.set(k, { at: Date.now(), region });
    return region;
  };
}

export interface OnlineOptimizer extends Role {
  memory(tenantId: string, callId: string, stationId: number): CallMemory | undefined;
}

export async function startOnlineOptimizer(
  deps: OnlineOptimizerDeps,
  opts: OnlineOptimizerOptions,
): Promise<OnlineOptimizer> {
  const memories = new Map<string, CallMemory & { seenAt: number }>();
  const key = (t: string, c: string, s: number) => `${t}/${c}/${s}`;
  const decisionDeps = {
    pool: deps.pool,
    changes: deps.changes,
    callTtlMs: opts.callTtlMs ?? 15 * 60_000,
    explore: opts.explore ?? false,
    clock: opts.clock ?? Date.now,
    priors: learnedRegionCache(deps.pool, deps.changes.stream),
  };
  const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  const maxCalls = opts.maxCalls ?? DEFAULT_MAX_CALLS;
  const decideOne = async (snap: StationSnapshot, headers: KafkaMessage['headers']) => {
    const k = key(snap.tenant_id, snap.call_id, snap.station_id);
    const mem = memories.get(k) ?? { state: null, lastChangeId: null, seenAt: 0 };
    mem.seenAt = Date.now();
    // Least recently seen first: re-inserting keeps the map in that order, so the cap evicts the
    // calls that went quiet longest.
    memories.delete(k);
    memories.set(k, mem);
    while (memories.size > maxCalls) memories.delete(memories.keys().next().value!);
    try {
      const started = performance.now();
      // Child of the snapshot's publish: the change it makes (config/changes.ts) is this span's child.
      const out = await withSpan(
        'decide',
        {
          kind: SpanKind.CONSUMER,
          parent: extractTrace(headers),
          attributes: { 'voiceloop.station': snap.station_id, 'voiceloop.snapshot_id': snap.snapshot_id },
        },
        async (span) => {
          const o = await decideAndApply(decisionDeps, snap, mem);
          span.setAttribute('voiceloop.change', o.change?.status ?? 'none');
          return o;
        },
      );
      const station = String(snap.station_id);
      deps.metrics?.decisionSeconds.observe({ station }, (performance.now() - started) / 1000);
      deps.metrics?.stationScore.observe({ station }, out.decision.score.score);
      opts.onDecision?.(snap, out);
    } catch (err) {
      if (canRetry(err)) throw err;
      deps.log.warn(
        { err: (err as Error).message, call: snap.call_id, station: snap.station_id },
        'online decision failed',
      );
    }
  };
  // Every partition at once; inside a batch, the calls of a partition in parallel (each call's
  // snapshots stay in order: they share the record key, call_id). A decision spends its time
  // waiting on PostgreSQL round trips, so running calls side by side is what gives throughput.
  // Offsets are committed only when every call of the batch is done: a crash redelivers the batch,
  // and a redelivered snapshot only repeats a decision the change path already made idempotent
  // per config key (cool-down, same values).
  const handle = async (batch: ConsumedBatch<StationSnapshot>) => {
    const byCall = new Map<string, DecodedRecord<StationSnapshot>[]>();
    for (const r of batch.records) {
      const list = byCall.get(r.value.call_id);
      if (list) list.push(r);
      else byCall.set(r.value.call_id, [r]);
    }
    const queues = [...byCall.values()];
    let next = 0;
    const worker = async () => {
      while (next < queues.length && batch.isActive()) {
        const q = queues[next++]!;
        for (const r of q) await decideOne(r.value, r.message.headers);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, queues.length) }, worker));
  };
  const idle = opts.idleCallMs ?? DEFAULT_IDLE_CALL_MS;
  let sweeper: NodeJS.Timeout | undefined;
  let stopConsumer: () => Promise<void> = async () => {};
  const lc = createLifecycle(async () => {
    clearInterval(sweeper);
    await stopConsumer();
  });
  const consumer = await runRoleConsumer<StationSnapshot>({
    kafka: deps.kafka,
    log: deps.log,
    groupId: opts.groupId,
    topic: opts.topics.snapshots,
    fromBeginning: opts.fromBeginning ?? false,
    codec: deps.codec,
    // No dead-letter topic: the persister dead-letters undecodable records; this role just cannot
    // learn from them.
    consumer: { maxWaitTimeInMs: 20 },
    partitionsConsumedConcurrently: opts.partitions ?? DEFAULT_PARTITIONS,
    awaitJoin: true,
    handle,
    onFatal: (err) => void lc.fail(err),
  });
  stopConsumer = consumer.stop;
  sweeper = setInterval(
    () => {
      const cutoff = Date.now() - idle;
      for (const [k, m] of memories) {
        if (m.seenAt >= cutoff) break; // in least-recently-seen order: the rest are newer
        memories.delete(k);
      }
    },
    Math.min(idle, 10_000),
  );
  sweeper.unref();
  lc.running();
  return lc.role({ memory: (t: string, c: string, s: number) => memories.get(key(t, c, s)) });
}
