// The persister role (DESIGN §3, §6): snapshot topic -> PostgreSQL, one transaction per batch,
// offsets committed only after the database commit. A record that cannot be decoded or makes no
// sense goes to the dead-letter topic with the reason, and consumption goes on. Idempotent writes
// (snapshot_keys) make redelivery after a crash harmless: no loss (offsets trail the data) and no
// duplicate (the database refuses a second row).
import type { ConsumerConfig, Kafka, KafkaMessage } from 'kafkajs';
import type { StationSnapshot } from '../../contracts/generated.ts';
import { type CapturedWindow, checkSnapshot } from '../../domain/snapshot.ts';
import { isProgrammingError, VoiceloopError } from '../../lib/errors.ts';
import { createLifecycle, type Role } from '../../lib/lifecycle.ts';
import type { Logger } from '../../lib/log.ts';
import type { Metrics } from '../../lib/metrics.ts';
import type { Settings } from '../../lib/settings.ts';
import { endSpan, extractTrace, SpanKind, startSpan } from '../../lib/tracing.ts';
import {
  checkStatementTimeout,
  inTransaction,
  type Pool,
  ROLE_STATEMENT_TIMEOUT_MS,
} from '../../storage/db.ts';
import { startPartitionMaintenance } from '../../storage/partitions.ts';
import type { Codec } from '../../streams/registry.ts';
import { type ConsumedBatch, runRoleConsumer } from '../../streams/roleConsumer.ts';
import { type SnapshotRow, writeSnapshots } from './rows.ts';

export interface PersisterDeps {
  kafka: Kafka;
  pool: Pool;
  codec: Codec<StationSnapshot>;
  log: Logger;
  metrics?: Metrics;
}

export interface PersisterOptions {
  topics: Pick<Settings['topics'], 'snapshots' | 'deadLetters'>;
  groupId: string;
  /** Partitions processed in parallel by this instance (each its own transaction). */
  partitionsConsumedConcurrently?: number;
  fromBeginning?: boolean;
  /** captured_at outside this window of now is dead-lettered (it would need a partition nobody made). */
  capturedWindow?: CapturedWindow;
  /** Partitions are kept made ahead for this retention (storage/partitions.ts); unset: not by this role. */
  partitionRetentionMs?: number;
  /** Attempts of a batch failing for a reason that is neither bad data nor a database outage. */
  maxAttempts?: number;
  /** kafkajs consumer settings over the role consumer's defaults (session timeout, heartbeat interval). */
  consumer?: Partial<ConsumerConfig>;
  /**
   * PostgreSQL's statement_timeout inside a batch's transaction (default ROLE_STATEMENT_TIMEOUT_MS, 60 s;
   * a 1,000-row batch takes ~0.1-0.2 s): a statement stuck on a lock is cancelled, logged as the database
   * refusing, and the batch tried again in place after a pause (storage/db.ts).
   */
  statementTimeoutMs?: number;
}

export type Persister = Role;

// The database refused the data (classified once, in storage/db.ts): this row is bad, not the
// database unwell, so isolate it instead of retrying the batch forever.
function isBadRowError(err: unknown): boolean {
  return err instanceof VoiceloopError && err.code === 'DATA_REFUSED';
}

// The database away or busy (connection, rollback, resources, restart, system error; or no SQLSTATE at
// all, a network failure): waited out however long, since dead-lettering during an outage would move
// good snapshots aside. A statement PostgreSQL refuses for another reason of its own (say a trigger's
// exception, or a program limit) gets a few attempts, then the rows are isolated and the ones still
// refused are dead-lettered: never retried for ever.
function isOutage(err: unknown): boolean {
  const code = (err as { cause?: { code?: unknown } }).cause?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return /^(08|40|53|57|58)/.test(code);
}

function checkSound(snapshot: StationSnapshot, window?: CapturedWindow): void {
  const problems = window
    ? checkSnapshot(snapshot, Date.now(), window)
    : checkSnapshot(snapshot, Number.MAX_SAFE_INTEGER);
  if (problems.length > 0) {
    throw new VoiceloopError(
      'VALIDATION',
      `snapshot ${snapshot.snapshot_id} is not sound: ${problems.map((p) => `${p.field} ${p.reason}`).join('; ')}`,
    );
  }
}

export async function startPersister(deps: PersisterDeps, opts: PersisterOptions): Promise<Persister> {
  const { pool, log, metrics } = deps;
  const attempts = new Map<string, number>();
  const maxAttempts = opts.maxAttempts ?? 3;
  // Refused at start, not at the first batch.
  const statementTimeoutMs = checkStatementTimeout(
    opts.statementTimeoutMs ?? ROLE_STATEMENT_TIMEOUT_MS,
    'persister',
  );
  const maintenance =
    opts.partitionRetentionMs === undefined
      ? undefined
      : startPartitionMaintenance(pool, log, opts.partitionRetentionMs);
  await maintenance?.ready;

  async function persist(rows: SnapshotRow[]): Promise<number> {
    const end = metrics?.persistBatchSeconds.startTimer();
    const { inserted } = await inTransaction(pool, (c) => writeSnapshots(c, rows), { statementTimeoutMs });
    end?.();
    return inserted;
  }

  async function handle(batch: ConsumedBatch<StationSnapshot>) {
    // One span per record, child of its publish; they all cover the batch's one transaction.
    const spans = batch.records.map((r) =>
      startSpan('snapshot persist', {
        kind: SpanKind.CONSUMER,
        parent: extractTrace(r.message.headers),
        attributes: { 'voiceloop.snapshot_id': r.value.snapshot_id, 'voiceloop.station': r.value.station_id },
      }),
    );
    try {
      await persistBatch(batch);
      for (const span of spans) endSpan(span);
    } catch (err) {
      for (const span of spans) endSpan(span, err);
      throw err;
    }
  }

  async function persistBatch(batch: ConsumedBatch<StationSnapshot>) {
    const rows: SnapshotRow[] = batch.records.map((r) => ({
      snapshot: r.value,
      partition: batch.partition,
      offset: r.message.offset,
    }));
    const byOffset = new Map<string, KafkaMessage>(batch.records.map((r) => [r.message.offset, r.message]));
    let inserted = 0;
    try {
      inserted = await persist(rows);
    } catch (err) {
      const key = `${batch.partition}:${rows[0]?.offset}`;
      if (!isBadRowError(err)) {
        if (isOutage(err) || isProgrammingError(err)) throw err;
        const n = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, n);
        if (n < maxAttempts) throw err;
        log.error({ err: (err as Error).message, attempts: n }, 'batch still refused after its attempts');
      }
      attempts.delete(key);
      // One bad row must not block its neighbours: write one at a time, dead-letter the ones refused.
      log.warn(
        { err: (err as Error).message, partition: batch.partition },
        'batch refused by PostgreSQL; isolating rows',
      );
      for (const row of rows) {
        try {
          inserted += await persist([row]);
        } catch (rowErr) {
          if (!isBadRowError(rowErr) && (isOutage(rowErr) || isProgrammingError(rowErr))) throw rowErr;
          await batch.deadLetter(byOffset.get(row.offset)!, rowErr);
        }
      }
    }
    metrics?.snapshotsPersisted.inc({ result: 'inserted' }, inserted);
    metrics?.snapshotsPersisted.inc({ result: 'duplicate' }, rows.length - inserted);
  }

  let stopConsumer: () => Promise<void> = async () => {};
  const lc = createLifecycle(async () => {
    maintenance?.stop();
    await stopConsumer();
  });
  const consumer = await runRoleConsumer<StationSnapshot>({
    kafka: deps.kafka,
    log,
    ...(metrics ? { metrics } : {}),
    groupId: opts.groupId,
    topic: opts.topics.snapshots,
    fromBeginning: opts.fromBeginning ?? true,
    codec: deps.codec,
    deadLetterTopic: opts.topics.deadLetters,
    check: (s) => checkSound(s, opts.capturedWindow),
    partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? 3,
    ...(opts.consumer ? { consumer: opts.consumer } : {}),
    handle,
    onFatal: (err) => void lc.fail(err),
  });
  stopConsumer = consumer.stop;
  lc.running();
  log.info({ group: opts.groupId, topic: opts.topics.snapshots }, 'persister running');
  return lc.role({});
}
