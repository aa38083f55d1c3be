// The persister role (DESIGN §3, §6): snapshot topic -> PostgreSQL, one transaction per batch,
// offsets committed only after the database commit. A record that cannot be decoded or makes no
// sense goes to the dead-letter topic with the reason, and consumption goes on. Idempotent writes
// (snapshot_keys) make redelivery after a crash harmless: no loss (offsets trail the data) and no
// duplicate (the database refuses a second row).
import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import type { StationSnapshot } from '../../contracts/generated.ts';
import type { Config } from '../../lib/config.ts';
import { canRetry, isProgrammingError, VoiceloopError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { checkSnapshot } from '../../producers/snapshot.ts';
import { inTransaction, type Pool } from '../../storage/db.ts';
import { sendToDeadLetter } from '../../streams/deadLetter.ts';
import { createProducer } from '../../streams/kafka.ts';
import type { Codec } from '../../streams/registry.ts';
import { type SnapshotRow, writeSnapshots } from './rows.ts';

export interface PersisterDeps {
  kafka: Kafka;
  pool: Pool;
  codec: Codec<StationSnapshot>;
  log: Logger;
  metrics?: Metrics;
}

export interface PersisterOptions {
  topics: Pick<Config['topics'], 'snapshots' | 'deadLetters'>;
  groupId: string;
  /** Partitions processed in parallel by this instance (each its own transaction). */
  partitionsConsumedConcurrently?: number;
  fromBeginning?: boolean;
}

export type PersisterState = 'starting' | 'running' | 'stopping' | 'stopped';

export interface Persister {
  readonly state: PersisterState;
  stop(): Promise<void>;
}

// PostgreSQL SQLSTATE classes 22 (data exception) and 23 (integrity violation) mean this row is bad,
// not that the database is unwell: isolate it instead of retrying the batch forever.
function isBadRowError(err: unknown): boolean {
  const code = ((err as { cause?: { code?: string } }).cause?.code ??
    (err as { code?: string }).code ??
    '') as string;
  return code.startsWith('22') || code.startsWith('23');
}

export async function startPersister(deps: PersisterDeps, opts: PersisterOptions): Promise<Persister> {
  const { kafka, pool, codec, log, metrics } = deps;
  let state: PersisterState = 'starting';
  const knownDays = new Set<number>();
  const consumer: Consumer = kafka.consumer({
    groupId: opts.groupId,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxWaitTimeInMs: 200,
    allowAutoTopicCreation: false,
  });
  const dlq: Producer = createProducer(kafka);

  async function deadLetter(
    topic: string,
    partition: number,
    message: EachBatchPayload['batch']['messages'][number],
    err: unknown,
  ) {
    log.warn(
      { topic, partition, offset: message.offset, err: (err as Error).message },
      'snapshot dead-lettered',
    );
    await sendToDeadLetter(
      dlq,
      opts.topics.deadLetters,
      { topic, partition, message, group: opts.groupId },
      err,
    );
    metrics?.deadLettered.inc({
      source_topic: topic,
      code: err instanceof VoiceloopError ? err.code : 'UNKNOWN',
    });
  }

  async function persist(rows: SnapshotRow[]): Promise<number> {
    const end = metrics?.persistBatchSeconds.startTimer();
    const { inserted, days } = await inTransaction(pool, (c) => writeSnapshots(c, rows, knownDays));
    for (const d of days) knownDays.add(d);
    end?.();
    return inserted;
  }

  async function eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) {
    const rows: SnapshotRow[] = [];
    const byOffset = new Map<string, EachBatchPayload['batch']['messages'][number]>();
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) return;
      try {
        const snapshot = await codec.decode(message.value);
        const problems = checkSnapshot(snapshot, Number.MAX_SAFE_INTEGER);
        if (problems.length > 0) {
          throw new VoiceloopError(
            'VALIDATION',
            `snapshot ${snapshot.snapshot_id} is not sound: ${problems.map((p) => `${p.field} ${p.reason}`).join('; ')}`,
          );
        }
        rows.push({ snapshot, partition: batch.partition, offset: message.offset });
        byOffset.set(message.offset, message);
      } catch (err) {
        // Transient trouble (registry unreachable) or a bug: fail the batch, it is redelivered.
        if (canRetry(err) || isProgrammingError(err)) throw err;
        await deadLetter(batch.topic, batch.partition, message, err);
      }
    }

    let inserted = 0;
    try {
      inserted = await persist(rows);
    } catch (err) {
      if (!isBadRowError(err)) throw err;
      // One bad row must not block its neighbours: write one at a time, dead-letter the ones refused.
      log.warn(
        { err: (err as Error).message, partition: batch.partition },
        'batch refused by PostgreSQL; isolating rows',
      );
      for (const row of rows) {
        try {
          inserted += await persist([row]);
        } catch (rowErr) {
          if (!isBadRowError(rowErr)) throw rowErr;
          await deadLetter(batch.topic, batch.partition, byOffset.get(row.offset)!, rowErr);
        }
      }
    }
    metrics?.snapshotsPersisted.inc({ result: 'inserted' }, inserted);
    metrics?.snapshotsPersisted.inc({ result: 'duplicate' }, rows.length - inserted);

    // The database has committed: only now may the group move past these records.
    const next = (BigInt(batch.lastOffset()) + 1n).toString();
    await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
    resolveOffset(batch.lastOffset());
    await heartbeat();
  }

  await dlq.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: opts.topics.snapshots, fromBeginning: opts.fromBeginning ?? true });
  consumer.on(consumer.events.CRASH, (e) =>
    log.error({ err: e.payload.error?.message, restart: e.payload.restart }, 'persister consumer crashed'),
  );
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? 3,
    eachBatch,
  });
  state = 'running';
  log.info({ group: opts.groupId, topic: opts.topics.snapshots }, 'persister running');

  return {
    get state() {
      return state;
    },
    async stop() {
      if (state === 'stopping' || state === 'stopped') return;
      state = 'stopping';
      await consumer.disconnect().catch((err) => log.warn({ err }, 'persister consumer disconnect failed'));
      await dlq.disconnect().catch(() => {});
      state = 'stopped';
    },
  };
}
