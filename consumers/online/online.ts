// The online optimizer role (DESIGN §8): a consumer group on the snapshot topic that decides per call
// and station within milliseconds. Snapshots of one call share a partition (keyed by call_id), so
// decisions for a call are made in order. A partition's batch is decided at once (batch.ts) against
// the effective configuration held in memory (configView.ts); the controller state of each (call,
// station) lives here, follows the partition assignment (a rebalance drops the calls of partitions
// this instance lost; a new owner starts them afresh from the view), and is forgotten when the call
// goes quiet.
import type { Kafka } from 'kafkajs';
import type { ChangeService } from '../../config/changes.ts';
import type { ConfigRecord, StationSnapshot } from '../../contracts/generated.ts';
import { canRetry, VoiceloopError } from '../../lib/errors.ts';
import { createLifecycle, type Role } from '../../lib/lifecycle.ts';
import type { Logger } from '../../lib/log.ts';
import type { Metrics } from '../../lib/metrics.ts';
import type { Settings } from '../../lib/settings.ts';
import { endSpan } from '../../lib/tracing.ts';
import type { LearnedRegion } from '../../optimizer/core/prior.ts';
import type { Pool } from '../../storage/db.ts';
import { latestLearnedRegion } from '../../storage/learnedRegions.ts';
import { decidedOffset } from '../../storage/onlineOffsets.ts';
import type { Codec } from '../../streams/registry.ts';
import { type ConsumedBatch, type DecodedRecord, runRoleConsumer } from '../../streams/roleConsumer.ts';
import { type BatchDeps, type BatchResult, decideBatch, memoryKey } from './batch.ts';
import { OnlineConfigView } from './configView.ts';
import type { CallMemory, DecisionOutcome } from './plan.ts';

export interface OnlineOptimizerDeps {
  kafka: Kafka;
  pool: Pool;
  codec: Codec<StationSnapshot>;
  /** Decodes the config topic's records (the in-memory view). */
  configCodec: Codec<ConfigRecord>;
  changes: ChangeService;
  log: Logger;
  metrics?: Metrics;
}

export interface OnlineOptimizerOptions {
  topics: Pick<Settings['topics'], 'snapshots' | 'config'>;
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
  /** The decisions' clock (default: the wall clock). */
  clock?: () => number;
  /** Observer for the demo and benchmarks. */
  onDecision?: (snap: StationSnapshot, out: DecisionOutcome) => void;
}

/**
 * A live call sends a snapshot per segment (about a second): two quiet minutes mean it has ended. The
 * memory of a (call, station) early in its call is ~2.3 KB of heap (heap snapshots of the memory
 * bench, 2026-12-03), so this bounds the role's memory by the calls of the last two minutes, not by the
 * volume seen (bench: memory).
 */
const DEFAULT_IDLE_CALL_MS = 120_000;
const DEFAULT_MAX_CALLS = 50_000;
/** As many as the snapshot topic has by default (SNAPSHOT_PARTITIONS). */
const DEFAULT_PARTITIONS = 6;
/** A batch fenced by another owner this often in a row fails (and comes back from Kafka). */
const MAX_FENCED = 3;

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

/** A call's memory with when it was last seen and the partition it came from (the memory is not copied). */
interface Kept {
  mem: CallMemory;
  seenAt: number;
  partition: number;
}

/** The controller memories, least recently seen first, with the partition each call came from. */
function memoryStore(maxCalls: number) {
  const memories = new Map<string, Kept>();
  return {
    get: (k: string): CallMemory | undefined => memories.get(k)?.mem,
    /** Keeps a call's memory after its batch (re-inserted: the map stays in least-recently-seen order). */
    keep(k: string, mem: CallMemory, partition: number) {
      memories.delete(k);
      memories.set(k, { mem, seenAt: Date.now(), partition });
      while (memories.size > maxCalls) memories.delete(memories.keys().next().value!);
    },
    /** Forgets the calls of partitions this instance no longer owns. */
    keepOnly(partitions: ReadonlySet<number>) {
      for (const [k, m] of memories) if (!partitions.has(m.partition)) memories.delete(k);
    },
    sweep(cutoff: number) {
      for (const [k, m] of memories) {
        if (m.seenAt >= cutoff) break; // in least-recently-seen order: the rest are newer
        memories.delete(k);
      }
    },
  };
}

/** The role's work on one partition's batch: decide it (batch.ts), keep what it decided, report it. */
function batchHandler(
  deps: OnlineOptimizerDeps,
  opts: OnlineOptimizerOptions,
  st: {
    batchDeps: BatchDeps;
    memories: ReturnType<typeof memoryStore>;
    decided: Map<number, bigint | null>;
    view: OnlineConfigView;
  },
) {
  const { batchDeps, memories, decided, view } = st;
  const report = (res: Extract<BatchResult, { status: 'done' }>) => {
    for (const d of res.decided) {
      d.span.setAttribute('voiceloop.change', d.out.change?.status ?? 'none');
      endSpan(d.span);
      const station = String(d.snap.station_id);
      deps.metrics?.decisionSeconds.observe({ station }, (performance.now() - d.startedAt) / 1000);
      deps.metrics?.stationScore.observe({ station }, d.out.decision.score.score);
      opts.onDecision?.(d.snap, d.out);
    }
  };
  /** Decides `records` (of one partition, in order) and keeps what they decided. */
  const decideRecords = async (
    batch: ConsumedBatch<StationSnapshot>,
    all: DecodedRecord<StationSnapshot>[],
  ) => {
    const key = {
      stream: deps.changes.stream,
      groupId: opts.groupId,
      topic: batch.topic,
      partition: batch.partition,
    };
    for (let fenced = 0; batch.isActive(); fenced++) {
      if (!decided.has(batch.partition)) decided.set(batch.partition, await decidedOffset(deps.pool, key));
      const from = decided.get(batch.partition) ?? null;
      // Records below the decided offset were decided in a batch that committed (before a crash, or by
      // the partition's previous owner): deciding them again would change twice.
      const records = all.filter((r) => from === null || BigInt(r.message.offset) >= from);
      if (records.length === 0) return;
      const next = BigInt(records.at(-1)!.message.offset) + 1n;
      const res = await decideBatch(batchDeps, {
        records,
        memory: (k) => memories.get(k),
        fence: { key, expected: from, next },
        isActive: batch.isActive,
      });
      if (res.status === 'given up') {
        for (const span of res.spans) endSpan(span);
        return;
      }
      if (res.status === 'fenced') {
        for (const span of res.spans) endSpan(span);
        decided.delete(batch.partition);
        if (fenced + 1 >= MAX_FENCED)
          throw new VoiceloopError('CONFLICT', `partition ${batch.partition}: decided by another owner`, {
            canRetry: true,
          });
        continue;
      }
      if (res.committed) {
        decided.set(batch.partition, next);
        view.applyRecords(res.records);
      }
      for (const [k, mem] of res.memories) memories.keep(k, mem, batch.partition);
      report(res);
      return;
    }
  };
  const handle = async (batch: ConsumedBatch<StationSnapshot>) => {
    try {
      await decideRecords(batch, batch.records);
    } catch (err) {
      if (canRetry(err)) throw err;
      // A record the decision path refuses for good must not hold the partition: each record alone,
      // and those that still fail are logged and left undecided.
      for (const r of batch.records) {
        await decideRecords(batch, [r]).catch((e: unknown) => {
          if (canRetry(e)) throw e;
          deps.log.warn(
            { err: (e as Error).message, call: r.value.call_id, station: r.value.station_id },
            'online decision failed',
          );
        });
      }
    }
  };
  return handle;
}

export async function startOnlineOptimizer(
  deps: OnlineOptimizerDeps,
  opts: OnlineOptimizerOptions,
): Promise<OnlineOptimizer> {
  const clock = opts.clock ?? Date.now;
  const stream = deps.changes.stream;
  const view = new OnlineConfigView({
    kafka: deps.kafka,
    pool: deps.pool,
    codec: deps.configCodec,
    log: deps.log,
    stream,
    topic: opts.topics.config,
    clock,
  });
  await view.start();
  const memories = memoryStore(opts.maxCalls ?? DEFAULT_MAX_CALLS);
  const batchDeps: BatchDeps = {
    pool: deps.pool,
    changes: deps.changes,
    view,
    callTtlMs: opts.callTtlMs ?? 15 * 60_000,
    explore: opts.explore ?? false,
    clock,
    priors: learnedRegionCache(deps.pool, stream),
  };
  // Per partition, the decided offset as this instance last knew it (read again after a rebalance).
  const decided = new Map<number, bigint | null>();
  const handle = batchHandler(deps, opts, { batchDeps, memories, decided, view });
  const idle = opts.idleCallMs ?? DEFAULT_IDLE_CALL_MS;
  let sweeper: NodeJS.Timeout | undefined;
  let stopConsumer: () => Promise<void> = async () => {};
  const lc = createLifecycle(async () => {
    clearInterval(sweeper);
    await stopConsumer();
    await view.stop();
  });
  let consumer: Awaited<ReturnType<typeof runRoleConsumer>>;
  try {
    consumer = await runRoleConsumer<StationSnapshot>({
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
  } catch (err) {
    await view.stop();
    throw err;
  }
  stopConsumer = consumer.stop;
  // A rebalance: the calls of partitions now owned elsewhere are dropped, and every decided offset is
  // read again before the next batch (another owner may have moved it).
  consumer.consumer.on(consumer.consumer.events.GROUP_JOIN, (e) => {
    const mine = new Set(e.payload.memberAssignment[opts.topics.snapshots] ?? []);
    memories.keepOnly(mine);
    decided.clear();
  });
  sweeper = setInterval(() => memories.sweep(Date.now() - idle), Math.min(idle, 10_000));
  sweeper.unref();
  lc.running();
  return lc.role({
    memory: (t: string, c: string, s: number) =>
      memories.get(memoryKey({ tenant_id: t, call_id: c, station_id: s })),
  });
}
