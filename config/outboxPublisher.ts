// The outbox relay's publisher (config/outbox.ts runs it): one batch of pending rows at a time, locked,
// encoded, sent partition by partition and marked in one transaction; what can never be published is
// set aside with the reason.
import { type Span, trace } from '@opentelemetry/api';
import { type Admin, type Message, Partitioners, type PartitionMetadata, type Producer } from 'kafkajs';
import { canRetry, wrapIo } from '../lib/errors.ts';
import { contextOf, endSpan, injectTrace, SpanKind, startSpan } from '../lib/tracing.ts';
import type { Pool, PoolClient } from '../storage/db.ts';
import * as outbox from '../storage/outbox.ts';
import { createProducer } from '../streams/kafka.ts';
import type { OutboxRelayDeps, OutboxRelayOptions } from './outbox.ts';

const DEFAULT_MAX_ATTEMPTS = 5;

// Answers about the idempotent producer's own state, not about the rows: a fresh producer (a new
// producer id, sequences from 0) cures them, so they are never a reason to set a row aside.
const PRODUCER_STATE_ERRORS = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
]);

/** A Kafka error is transient unless kafkajs says it is not (a record too large, a bad config...). */
function kafkaError(context: string, err: unknown) {
  const { retriable, type } = err as { retriable?: boolean; type?: string };
  return wrapIo('KAFKA', context, err, retriable !== false || PRODUCER_STATE_ERRORS.has(type ?? ''));
}

/** One produce request: the rows of one batch that go to one partition of one topic, in id order. */
interface PartitionSend {
  topic: string;
  partition: number;
  rows: outbox.OutboxRow[];
  messages: Message[];
  spans: Span[];
}

/**
 * Which partition a key goes to: kafkajs's default (Java-compatible murmur2) partitioner, given the
 * topic's partition count, read once per topic from the cluster (again after a failed send).
 */
function createPartitionMap(admin: Admin) {
  const partitioner = Partitioners.DefaultPartitioner();
  const counts = new Map<string, Promise<number>>();
  const metadata = new Map<number, PartitionMetadata[]>();
  let connected: Promise<void> | undefined;
  const countOf = (topic: string) => {
    let n = counts.get(topic);
    if (!n) {
      n = (async () => {
        connected ??= admin.connect();
        await connected;
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
        return topics[0]!.partitions.length;
      })();
      n.catch(() => counts.delete(topic));
      counts.set(topic, n);
    }
    return n;
  };
  return {
    async partitionOf(topic: string, key: string): Promise<number> {
      const n = await countOf(topic);
      // The partitioner reads only the partition ids: one metadata list per partition count, not per row.
      let partitionMetadata = metadata.get(n);
      if (!partitionMetadata) {
        partitionMetadata = Array.from({ length: n }, (_, i) => ({
          partitionId: i,
          leader: 0,
          partitionErrorCode: 0,
          replicas: [0],
          isr: [0],
        }));
        metadata.set(n, partitionMetadata);
      }
      return partitioner({ topic, partitionMetadata, message: { key, value: null } });
    },
    forget(topic: string) {
      counts.delete(topic);
    },
    async close() {
      if (connected) await admin.disconnect().catch(() => {});
    },
  };
}

export interface Publisher {
  /** Publishes the next pending rows; how many rows it handled (0: none pending) and the last id. */
  publishBatch(): Promise<{ rows: number; published: number; lastId: number }>;
  close(): Promise<void>;
}

/**
 * One batch: lock the pending rows, encode them, send them, mark them — or set aside what never can.
 *
 * Each partition's rows go in a request of their own, one after another. A produce request for several
 * partitions is answered per partition: the broker may append the rows of some while it refuses those
 * of another (a record over the size limit), and kafkajs then fails the whole send and winds back the
 * sequence numbers of every partition in it, although some were appended. Resent in another grouping,
 * those rows would be refused as out of order (or, by a fresh producer, appended twice). One partition
 * per request makes a failure mean that nothing of that request was appended, so the rows of the
 * partitions before it are marked published and only the failed partition's rows are tried again. After
 * any failed send the producer is replaced: a send that timed out may still have been appended, and the
 * old producer's sequence numbers no longer agree with the broker's (the new one may then append such
 * a row a second time, which the consumers tolerate, as they do a crash between send and mark).
 */
/** The relay's producer: connected on first use, replaced after every failed send. */
function createSender(kafka: OutboxRelayDeps['kafka'], partitions: ReturnType<typeof createPartitionMap>) {
  let producer: Promise<Producer> | undefined;
  const connected = () => {
    producer ??= (async () => {
      const p = createProducer(kafka, { retries: 3 });
      await p.connect();
      return p;
    })();
    producer.catch(() => (producer = undefined));
    return producer;
  };
  const replace = async () => {
    const old = producer;
    producer = undefined;
    await (await old?.catch(() => undefined))?.disconnect().catch(() => {});
  };
  return {
    close: replace,
    /** Sends partition by partition until one fails: the rows sent, and the failed send with its error. */
    async sendAll(sends: PartitionSend[]) {
      const sent: outbox.OutboxRow[] = [];
      for (const [i, send] of sends.entries()) {
        try {
          await (await connected()).send({ topic: send.topic, acks: -1, messages: send.messages });
          for (const span of send.spans) endSpan(span);
          sent.push(...send.rows);
        } catch (err) {
          for (const later of sends.slice(i)) for (const span of later.spans) endSpan(span, err);
          await replace();
          partitions.forget(send.topic);
          const unsent = sends.slice(i + 1).reduce((n, s) => n + s.rows.length, 0);
          const error = kafkaError(`publishing ${send.rows.length} outbox row(s) to ${send.topic}`, err);
          return { sent, failed: { send, unsent, error } };
        }
      }
      return { sent, failed: undefined };
    },
  };
}

type Encoded = { row: outbox.OutboxRow; topic: string; value: Buffer | null };

/** The encoded rows grouped by topic and partition, in the order of each group's first row. */
async function planSends(
  encoded: Encoded[],
  partitions: ReturnType<typeof createPartitionMap>,
): Promise<PartitionSend[]> {
  const sends = new Map<string, PartitionSend>();
  for (const { row, topic, value } of encoded) {
    const partition = await partitions.partitionOf(topic, row.message_key);
    const key = `${topic}/${partition}`;
    const send = sends.get(key) ?? { topic, partition, rows: [], messages: [], spans: [] };
    sends.set(key, send);
    // The trace of the change that wrote the row goes on with this publish, and on to the consumers.
    const parent = contextOf(row.traceparent);
    const span = startSpan('outbox publish', {
      kind: SpanKind.PRODUCER,
      parent,
      attributes: { 'messaging.destination.name': topic, 'voiceloop.contract': row.contract },
    });
    send.spans.push(span);
    send.messages.push({
      key: row.message_key,
      value,
      partition,
      headers: injectTrace({}, trace.setSpan(parent, span)),
    });
    send.rows.push(row);
  }
  return [...sends.values()];
}

export function createPublisher(
  deps: OutboxRelayDeps,
  opts: OutboxRelayOptions,
  onSetAside: (row: outbox.OutboxRow, reason: string) => void,
): Publisher {
  const { pool } = deps;
  const stream = opts.topics.prefix;
  const maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const topicOf: Record<outbox.TopicRole, string> = {
    config: opts.topics.config,
    changes: opts.topics.changes,
    results: opts.topics.results,
  };
  const partitions = createPartitionMap(deps.kafka.admin({ retry: { retries: 2 } }));
  const sender = createSender(deps.kafka, partitions);
  // After Kafka refused a partition's rows for good, that many rows go one at a time (the culprit among them).
  let isolate = 0;

  async function putAside(c: Pick<Pool, 'query'>, row: outbox.OutboxRow, reason: string) {
    await outbox.setAside(c, row.id, reason);
    onSetAside(row, reason);
  }

  /** Encodes every row; a row that does not encode is set aside (encoding is deterministic). */
  async function encodeAll(c: Pick<Pool, 'query'>, rows: outbox.OutboxRow[]): Promise<Encoded[]> {
    const encoded: Encoded[] = [];
    for (const row of rows) {
      try {
        const value =
          row.payload === null ? null : deps.registry.codec(row.contract).encode(row.payload as never);
        encoded.push({ row, topic: topicOf[row.topic_role], value });
      } catch (err) {
        if (canRetry(err)) throw err;
        await putAside(c, row, `does not encode as ${row.contract}: ${(err as Error).message}`);
      }
    }
    return encoded;
  }

  /** The rows of the batch: sent and marked, or counted a failed attempt (set aside after the last). */
  async function publishRows(client: PoolClient, rows: outbox.OutboxRow[]) {
    const encoded = await encodeAll(client, rows);
    let sends: PartitionSend[];
    try {
      sends = await planSends(encoded, partitions);
    } catch (err) {
      // The topics' partitions are unknown (a topic missing, Kafka away): nothing was sent.
      const error = kafkaError('reading the partitions of the outbox topics', err);
      const ids = encoded.map((e) => e.row.id);
      return { sent: [], failed: { rows: ids, lone: null, unsent: 0, error } };
    }
    const { sent, failed } = await sender.sendAll(sends);
    if (sent.length > 0) {
      await outbox.markPublished(
        client,
        sent.map((r) => r.id),
      );
    }
    if (!failed) return { sent, failed: undefined };
    const { send, unsent, error } = failed;
    const lone = send.rows.length === 1 ? send.rows[0]! : null;
    return { sent, failed: { rows: send.rows.map((r) => r.id), lone, unsent, error } };
  }

  async function publishBatch() {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const rows = await outbox.lockPending(client, stream, isolate > 0 ? 1 : (opts.batchSize ?? 500));
      if (rows.length === 0) {
        await client.query('COMMIT');
        isolate = 0;
        return { rows: 0, published: 0, lastId: 0 };
      }
      const { sent, failed } = await publishRows(client, rows);
      const done = { rows: rows.length, published: sent.length, lastId: Number(rows[rows.length - 1]!.id) };
      if (failed) {
        // What was sent stays marked; the failed partition's rows are counted a failed attempt.
        const { lone, error } = failed;
        await outbox.recordFailure(client, failed.rows, error.message);
        if (error.canRetry || !lone || lone.attempts + 1 < maxAttempts) {
          await client.query('COMMIT');
          if (!error.canRetry && failed.rows.length > 1) isolate = failed.rows.length + failed.unsent;
          throw error;
        }
        await putAside(
          client,
          lone,
          `refused by Kafka after ${lone.attempts + 1} attempts: ${error.message}`,
        );
      }
      await client.query('COMMIT');
      isolate = Math.max(0, isolate - 1);
      return done;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }
  return {
    publishBatch,
    async close() {
      await sender.close();
      await partitions.close();
    },
  };
}
