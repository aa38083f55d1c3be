// Replays a time range of the snapshot topic (DESIGN §8): the broker maps the range's ends to offsets
// (ListOffsets by timestamp, through kafkajs admin.fetchTopicOffsetsByTimestamp), a consumer group of
// this run's own seeks every partition to the first offset before its first fetch, reads each one up
// to the last offset before the range's end, then leaves and the group is deleted. The live groups (persister, online optimizer) never see it: different group id, no commits
// of theirs touched, nothing produced.
//
// Record timestamps are the producer's send time (CreateTime). The offsets by timestamp bound the read;
// a record inside the offsets whose own timestamp is outside [from, to) (a late producer clock) is
// counted and skipped, so the range means the same thing for every record.
import type { EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { StationSnapshot } from '../../contracts/generated.ts';
import { canRetry, wrapIo } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { createConsumer, type OwnedConsumer } from '../../streams/kafka.ts';
import type { Codec } from '../../streams/registry.ts';
import { ReplayDecoder, type ReplayRecord } from './replayDecode.ts';

export interface ReplayDeps {
  kafka: Kafka;
  codec: Codec<StationSnapshot>;
  log: Logger;
}

export interface ReplayOptions {
  topic: string;
  from: number;
  /** Exclusive end, epoch ms. */
  to: number;
  groupId: string;
  /**
   * Each snapshot in the range, in order per partition. Its `labels` may hold only the keys in
   * LABELS_READ (history.ts); `meta.whole()` gives it with all of them (replayDecode.ts).
   */
  onSnapshot(snap: StationSnapshot, meta: ReplayMeta): void;
  onProgress?(p: ReplayProgress): void;
  signal?: AbortSignal;
  /** Give up on partitions that deliver nothing for this long after the group joined (default 15 s). */
  idleMs?: number;
}

export interface ReplayMeta {
  partition: number;
  offset: string;
  timestamp: number;
  whole(): StationSnapshot;
}

export interface ReplayProgress {
  /** Records between the start and end offsets (the work to do). */
  total: number;
  /** Records read so far (decoded or not, in range or not). */
  read: number;
  partitions: number;
  partitionsDone: number;
}

export interface ReplayStats extends ReplayProgress {
  groupId: string;
  decoded: number;
  undecodable: number;
  /** Inside the offset range, but the record's own timestamp is outside [from, to). */
  outOfRange: number;
  offsets: { partition: number; start: string; end: string }[];
  elapsedMs: number;
  /** From the first record to the last: the read rate without the group join and offset lookups. */
  streamingMs: number;
  /** Partitions given up on after `idleMs` without records (offset gaps); normally 0. */
  idleStopped: number;
}

const DEFAULT_IDLE_MS = 15_000;

interface PartitionRange {
  partition: number;
  start: bigint;
  end: bigint;
  position: bigint;
  done: boolean;
}

function emptyStats(groupId: string): ReplayStats {
  return {
    groupId,
    total: 0,
    read: 0,
    partitions: 0,
    partitionsDone: 0,
    decoded: 0,
    undecodable: 0,
    outOfRange: 0,
    offsets: [],
    elapsedMs: 0,
    streamingMs: 0,
    idleStopped: 0,
  };
}

/** Each partition's offsets for the time range (found by timestamp), recorded in the stats. */
async function partitionRanges(
  admin: ReturnType<Kafka['admin']>,
  o: ReplayOptions,
  stats: ReplayStats,
): Promise<PartitionRange[]> {
  let ranges: PartitionRange[];
  try {
    const starts = await admin.fetchTopicOffsetsByTimestamp(o.topic, o.from);
    const ends = await admin.fetchTopicOffsetsByTimestamp(o.topic, o.to);
    ranges = starts
      .map((s) => {
        const end = BigInt(ends.find((e) => e.partition === s.partition)?.offset ?? s.offset);
        const start = BigInt(s.offset);
        return { partition: s.partition, start, end, position: start, done: end <= start };
      })
      .sort((a, b) => a.partition - b.partition);
  } catch (err) {
    throw wrapIo('KAFKA', `looking up offsets of ${o.topic} by timestamp`, err);
  }
  stats.partitions = ranges.length;
  stats.offsets = ranges.map((r) => ({ partition: r.partition, start: String(r.start), end: String(r.end) }));
  stats.total = ranges.reduce((a, r) => a + Number(r.end > r.start ? r.end - r.start : 0n), 0);
  stats.partitionsDone = ranges.filter((r) => r.done).length;
  return ranges;
}

/** The batch's records from the partition's position up to the range's end (the position moves past
 * them); those whose own timestamp is outside [from, to) are counted, not returned. */
function recordsToRead(
  r: PartitionRange,
  messages: KafkaMessage[],
  o: ReplayOptions,
  stats: ReplayStats,
): { todo: KafkaMessage[]; read: number } {
  const todo: KafkaMessage[] = [];
  let read = 0;
  for (const m of messages) {
    const off = BigInt(m.offset);
    if (off < r.position) continue;
    if (off >= r.end) break;
    r.position = off + 1n;
    read++;
    const ts = Number(m.timestamp);
    if (ts < o.from || ts >= o.to) stats.outOfRange++;
    else todo.push(m);
  }
  return { todo, read };
}

/** Hands each decoded record to onSnapshot, in order; the undecodable are counted. */
function deliver(
  todo: KafkaMessage[],
  values: (ReplayRecord | Error)[],
  partition: number,
  o: ReplayOptions,
  stats: ReplayStats,
): void {
  for (let i = 0; i < todo.length; i++) {
    const rec = values[i]!;
    if (rec instanceof Error) {
      stats.undecodable++;
      continue;
    }
    const m = todo[i]!;
    stats.decoded++;
    o.onSnapshot(rec.snapshot, {
      partition,
      offset: m.offset,
      timestamp: Number(m.timestamp),
      whole: () => rec.whole(),
    });
  }
  stats.read = stats.decoded + stats.undecodable + stats.outOfRange;
}

export async function replayRange(deps: ReplayDeps, o: ReplayOptions): Promise<ReplayStats> {
  const started = Date.now();
  const admin = deps.kafka.admin();
  const stats = emptyStats(o.groupId);
  const decoder = new ReplayDecoder(deps.codec);
  let firstRecordAt = 0;
  let owned: OwnedConsumer | undefined;
  let groupCreated = false;
  try {
    await admin.connect();
    const ranges = await partitionRanges(admin, o, stats);
    o.onProgress?.(stats);
    if (ranges.every((r) => r.done)) return stats;

    const byPartition = new Map(ranges.map((r) => [r.partition, r]));
    let finish: () => void = () => {};
    let fail: (err: unknown) => void = () => {};
    const finished = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    let lastRecordAt = Date.now();
    const markDone = (r: PartitionRange) => {
      if (r.done) return;
      r.done = true;
      stats.partitionsDone++;
      owned?.consumer.pause([{ topic: o.topic, partitions: [r.partition] }]);
      if (stats.partitionsDone === stats.partitions) finish();
    };

    owned = createConsumer(deps.kafka, { groupId: o.groupId, maxWaitTimeInMs: 100, sessionTimeout: 30_000 });
    const { consumer } = owned;
    await consumer.connect();
    groupCreated = true;
    // Without committed offsets a new group would start at the end; the seeks below move every
    // partition to the range's start before its first fetch (kafkajs applies pending seeks first).
    await consumer.subscribe({ topic: o.topic, fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat }: EachBatchPayload) => {
        const r = byPartition.get(batch.partition);
        if (!r || r.done) return;
        const { todo, read } = recordsToRead(r, batch.messages, o, stats);
        if (read > 0) {
          lastRecordAt = Date.now();
          if (firstRecordAt === 0) firstRecordAt = lastRecordAt;
          stats.streamingMs = lastRecordAt - firstRecordAt;
        }
        // One decode call per batch (no promise per record, the labels the history does not read
        // skipped); a registry that cannot be reached fails the run.
        let values: (ReplayRecord | Error)[];
        try {
          values = await decoder.decodeAll(todo.map((m) => m.value));
        } catch (err) {
          if (canRetry(err)) {
            fail(err);
            return;
          }
          values = todo.map(() => err as Error);
        }
        deliver(todo, values, batch.partition, o, stats);
        // The range may end in an offset gap (e.g. a transaction marker): the batch's end tells.
        const next = BigInt(batch.lastOffset()) + 1n;
        if (next > r.position) r.position = next;
        if (r.position >= r.end) markDone(r);
        o.onProgress?.(stats);
        await heartbeat();
      },
    });
    // kafkajs accepts seek and pause only once run() has started the group. Partitions with nothing
    // in the range are paused at once (pausing before run() throws "consumer group not initialized").
    for (const r of ranges)
      consumer.seek({ topic: o.topic, partition: r.partition, offset: String(r.done ? r.end : r.start) });
    const empty = ranges.filter((r) => r.done).map((r) => r.partition);
    if (empty.length > 0) consumer.pause([{ topic: o.topic, partitions: empty }]);

    const idleMs = o.idleMs ?? DEFAULT_IDLE_MS;
    const watchdog = setInterval(() => {
      if (o.signal?.aborted) fail(o.signal.reason ?? new Error('replay aborted'));
      else if (Date.now() - lastRecordAt > idleMs) {
        for (const r of ranges) {
          if (!r.done) {
            stats.idleStopped++;
            markDone(r);
          }
        }
      }
    }, 200);
    try {
      await finished;
    } finally {
      clearInterval(watchdog);
    }
    return stats;
  } finally {
    stats.elapsedMs = Date.now() - started;
    await owned?.stop().catch(() => {});
    if (groupCreated) {
      await admin.deleteGroups([o.groupId]).catch((err) => {
        deps.log.warn({ err: (err as Error).message, group: o.groupId }, 'replay group not deleted');
      });
    }
    await admin.disconnect().catch(() => {});
  }
}
