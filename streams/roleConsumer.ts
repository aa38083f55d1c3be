// The one way a role consumes a Kafka topic: subscribe, decode every record through the schema
// registry, dead-letter what cannot be decoded (or skip it, for roles that only learn from records
// another role persists), hand the decoded batch to the role, and commit the batch's offsets only
// after that work has finished. Stopping disconnects after the batch in flight. A crash kafkajs will
// not restart itself (a group-coordination answer it gives up on, a programming error in the handler)
// restarts the consumer here, with backoff; only crashes in a row with no batch committed between them
// (the same poison batch, a broker that refuses the group) end the role as failed. A batch that fails
// because a dependency is down (the schema registry, for a record whose schema id is not cached yet) is
// held and tried again in place, the outage logged once when it starts and once when it ends, rather
// than thrown to kafkajs, which would log errors for every attempt and crash and restart the consumer.
// While a batch is in work the consumer heartbeats (kafkajs itself only does between batches), so a
// batch slower than the session timeout (a database statement waiting on a lock) does not cost the group
// its member; and a membership that is lost all the same (the process stalled) is a rejoin, not a crash.
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  Batch,
  Consumer,
  ConsumerConfig,
  ConsumerRunConfig,
  Kafka,
  KafkaMessage,
  Producer,
} from 'kafkajs';
import { canRetry, isProgrammingError, VoiceloopError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { Metrics } from '../lib/metrics.ts';
import { OutageLog, unavailableDependency } from '../lib/outages.ts';
import { backoffDelay, retry } from '../lib/retry.ts';
import { sendToDeadLetter } from './deadLetter.ts';
import { createConsumer, createProducer } from './kafka.ts';
import type { Codec } from './registry.ts';

export interface DecodedRecord<T> {
  value: T;
  message: KafkaMessage;
}

export interface ConsumedBatch<T> {
  topic: string;
  partition: number;
  records: DecodedRecord<T>[];
  /** False once the role is stopping or the partition was reassigned: stop early, nothing is committed. */
  isActive(): boolean;
  heartbeat(): Promise<void>;
  /** Sends one record to the dead-letter topic with the reason (only with `deadLetterTopic`). */
  deadLetter(message: KafkaMessage, err: unknown): Promise<void>;
}

export interface RoleConsumerOptions<T> {
  kafka: Kafka;
  log: Logger;
  metrics?: Metrics;
  groupId: string;
  topic: string;
  fromBeginning: boolean;
  codec: Codec<T>;
  /** Records that cannot be decoded (or fail `check`) go here; without it they are skipped. */
  deadLetterTopic?: string;
  /** Throws a VALIDATION error for a decoded record that makes no sense. */
  check?: (value: T) => void;
  partitionsConsumedConcurrently?: number;
  consumer?: Partial<ConsumerConfig>;
  /** Resolve start only once the group has assigned partitions (so nothing published after is missed). */
  awaitJoin?: boolean;
  /** The role's work on one partition's decoded records; offsets are committed after it resolves. */
  handle(batch: ConsumedBatch<T>): Promise<void>;
  /** Called when the consumer crashed and could not be restarted: the role cannot go on. */
  onFatal?(err: Error): void;
  /** Crashes in a row (no batch committed between them) the consumer is restarted after (default 5). */
  maxRestarts?: number;
}

export interface RoleConsumer {
  consumer: Consumer;
  stop(): Promise<void>;
}

const JOIN_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_RESTARTS = 5;
// The pause before a restart grows with the crashes in a row: up to 1 s after the first, 30 s at most.
const RESTART_DELAY_MS = { initial: 1_000, max: 30_000 };

interface CrashOptions {
  group: string;
  log: Logger;
  metrics?: Metrics;
  maxRestarts: number;
  onFatal?(err: Error): void;
  /** Connects, subscribes and runs the consumer again. */
  start(): Promise<void>;
}

/**
 * Restarts a consumer that kafkajs reports crashed for good (it has already disconnected it), with a
 * pause that grows with the crashes in a row and retried reconnects (lib/retry.ts). `progressed()`
 * (a batch committed) resets the count; past `maxRestarts` crashes in a row the role is told to fail.
 */
function restartOnCrash(consumer: Consumer, o: CrashOptions): { progressed(): void; stop(): Promise<void> } {
  const { group, log } = o;
  let stopping = false;
  let crashesInRow = 0;
  let restarts: Promise<void> = Promise.resolve();
  const abort = new AbortController();
  const fatal = (err: Error, why: string) => {
    log.error({ group, err: err.message }, `the consumer of group ${group} ${why}; the role stops`);
    o.onFatal?.(err);
  };

  async function restart(err: Error): Promise<void> {
    if (stopping) return;
    crashesInRow++;
    if (crashesInRow > o.maxRestarts) {
      fatal(err, `crashed ${crashesInRow} times in a row without finishing a batch (${err.message})`);
      return;
    }
    const pause = backoffDelay(crashesInRow - 1, RESTART_DELAY_MS.initial, RESTART_DELAY_MS.max);
    log.warn(
      { group, err: err.message, restartInMs: pause, crashesInRow },
      `the consumer of group ${group} crashed (${err.message}) and kafkajs will not restart it; restarting it in ${pause} ms`,
    );
    try {
      await sleep(pause, undefined, { signal: abort.signal });
      await retry(
        `restarting the consumer of group ${group}`,
        () => (stopping ? Promise.resolve() : o.start()),
        {
          retries: 8,
          initialDelayMs: RESTART_DELAY_MS.initial,
          maxDelayMs: RESTART_DELAY_MS.max,
          // Reconnecting fails while the broker is away: that passes; a bug in our code does not.
          canRetry: (e) => !stopping && !isProgrammingError(e),
          signal: abort.signal,
          onRetry: (e, attempt, delayMs) =>
            log.warn(
              { group, err: (e as Error).message, attempt, delayMs },
              `restarting the consumer of group ${group} failed; trying again in ${delayMs} ms`,
            ),
        },
      );
    } catch (e) {
      if (!stopping) fatal(e instanceof Error ? e : new Error(String(e)), 'could not be restarted');
      return;
    }
    if (stopping) return;
    o.metrics?.consumerRestarts.inc({ group });
    log.info({ group }, `the consumer of group ${group} restarted`);
  }

  consumer.on(consumer.events.CRASH, (e) => {
    const err = e.payload.error instanceof Error ? e.payload.error : new Error(String(e.payload.error));
    if (stopping) return;
    if (e.payload.restart) {
      log.warn({ group, err: err.message }, `the consumer of group ${group} crashed; kafkajs restarts it`);
      return;
    }
    // One restart at a time: a crash while restarting (the rejoin failed) waits for that one to end.
    restarts = restarts.then(() => restart(err));
  });

  return {
    progressed() {
      crashesInRow = 0;
    },
    async stop() {
      stopping = true;
      abort.abort();
      await restarts;
    },
  };
}

/**
 * Sets records aside on the dead-letter topic (or skips them without one). A batch whose handler fails
 * comes back whole: a record already set aside is not set aside again (per partition, until the
 * batch's offsets are committed: `committed`).
 */
function deadLetterer<T>(opts: RoleConsumerOptions<T>, dlq: Producer | undefined) {
  const { log, metrics } = opts;
  const lettered = new Map<number, Set<string>>();
  const send = async (topic: string, partition: number, message: KafkaMessage, err: unknown) => {
    const done = lettered.get(partition) ?? new Set<string>();
    lettered.set(partition, done);
    if (done.has(message.offset)) return;
    if (!dlq || !opts.deadLetterTopic) {
      log.debug({ topic, partition, offset: message.offset }, 'unusable record skipped');
      return;
    }
    log.warn(
      { topic, partition, offset: message.offset, err: (err as Error).message },
      'record dead-lettered',
    );
    await sendToDeadLetter(
      dlq,
      opts.deadLetterTopic,
      { topic, partition, message, group: opts.groupId },
      err,
    );
    done.add(message.offset);
    metrics?.deadLettered.inc({
      source_topic: topic,
      code: err instanceof VoiceloopError ? err.code : 'UNKNOWN',
    });
  };
  return Object.assign(send, { committed: (partition: number) => lettered.delete(partition) });
}

const OUTAGE_RETRY_MS = { initial: 500, max: 2_000 };
const SESSION_TIMEOUT_MS = 30_000;
const HEARTBEAT_INTERVAL_MS = 3_000;

/** Group coordinator answers that mean this member is out of the group's current generation. */
const MEMBERSHIP_LOST = new Set(['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'REBALANCE_IN_PROGRESS']);

/**
 * The coordinator's own error, when `err` says this member has left the group's current generation.
 * `consumer.commitOffsets` retries through kafkajs's retrier, which wraps these non-retriable answers in
 * a KafkaJSNonRetriableError without their `type`; thrown as is, kafkajs's runner no longer sees a
 * rebalance but a failure, and crashes the consumer for good (`restart: false`). With the original
 * error it rejoins the group instead (kafkajs/src/consumer/runner.js, scheduleFetchManager).
 */
export function membershipLost(err: unknown): Error | undefined {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 5; depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string' && MEMBERSHIP_LOST.has(type)) return e;
    e = e.cause;
  }
  return undefined;
}

/**
 * Heartbeats every `intervalMs` while `work` runs: kafkajs heartbeats only between batches, so without
 * this a batch that takes longer than the session timeout gets the member evicted mid-batch (the group
 * goes Empty with one member) and its commit refused. A failed heartbeat (a rebalance began) is left to
 * kafkajs, which meets it again on its own heartbeat after the batch and rejoins. A batch still in work
 * after `slow.afterMs` (the session timeout) is said once, and again when it ends: a batch that never
 * ends (a statement stuck on a lock) keeps its member, so this line is what shows it.
 */
async function withHeartbeats<R>(
  heartbeat: () => Promise<void>,
  intervalMs: number,
  slow: { afterMs: number; log: Logger; group: string; batch: Batch },
  work: () => Promise<R>,
): Promise<R> {
  const timer = setInterval(() => void heartbeat().catch(() => {}), intervalMs);
  const started = Date.now();
  const { log, group, batch } = slow;
  const where = { group, partition: batch.partition, firstOffset: batch.firstOffset() };
  let said = false;
  const watch = setTimeout(() => {
    said = true;
    log.warn(
      { ...where, inWorkMs: Date.now() - started },
      `a batch of group ${group} (partition ${batch.partition}, from offset ${batch.firstOffset()}) has been in work for over ${slow.afterMs} ms, the session timeout; the consumer keeps heartbeating`,
    );
  }, slow.afterMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    clearTimeout(watch);
    if (said) {
      log.warn(
        { ...where, inWorkMs: Date.now() - started },
        `the slow batch of group ${group} (partition ${batch.partition}) ended after ${Date.now() - started} ms`,
      );
    }
  }
}

/**
 * Runs `work` (one batch) and runs it again, after a pause that grows up to 2 s with a heartbeat
 * between, for as long as it fails because a dependency is down; each failure goes to `outages` (logged
 * once per outage) and the first success ends the outage. Any other error, and a consumer that is
 * stopping or lost the partition, goes to kafkajs as before.
 */
async function holdThroughOutages(
  work: () => Promise<void>,
  o: { outages: OutageLog; isActive(): boolean; heartbeat(): Promise<void>; signal: AbortSignal },
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await work();
      o.outages.recovered();
      return;
    } catch (err) {
      const dependency = unavailableDependency(err);
      if (!dependency || !o.isActive() || o.signal.aborted) throw err;
      o.outages.refused(dependency, err);
    }
    const pause = backoffDelay(attempt, OUTAGE_RETRY_MS.initial, OUTAGE_RETRY_MS.max);
    // Stopping: leave the batch uncommitted (the next owner reads it again), as a stop mid-batch does.
    if (!(await sleep(pause, true, { signal: o.signal }).catch(() => false))) return;
    if (!o.isActive()) return;
    await o.heartbeat();
  }
}

/**
 * Commits the offset after `batch`. A refusal because this member has left the group's generation (it
 * was evicted, or a rebalance moved on without it) goes to kafkajs as the coordinator's own answer, so
 * it rejoins (see membershipLost); the batch is not committed and comes again to whoever owns it.
 */
async function commitBatch(
  consumer: Consumer,
  batch: Batch,
  o: { group: string; log: Logger; startedAt: number },
): Promise<void> {
  const next = (BigInt(batch.lastOffset()) + 1n).toString();
  try {
    await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
  } catch (err) {
    const lost = membershipLost(err);
    if (!lost) throw err;
    o.log.warn(
      { group: o.group, partition: batch.partition, err: lost.message, batchMs: Date.now() - o.startedAt },
      `the consumer of group ${o.group} is no longer in the group's generation (${lost.message}); it rejoins and the batch's records come again`,
    );
    throw lost;
  }
}

export async function runRoleConsumer<T>(opts: RoleConsumerOptions<T>): Promise<RoleConsumer> {
  const { log, metrics } = opts;
  const owned = createConsumer(opts.kafka, {
    groupId: opts.groupId,
    sessionTimeout: SESSION_TIMEOUT_MS,
    heartbeatInterval: HEARTBEAT_INTERVAL_MS,
    maxWaitTimeInMs: 200,
    allowAutoTopicCreation: false,
    ...opts.consumer,
  });
  const consumer = owned.consumer;
  const heartbeatMs = opts.consumer?.heartbeatInterval ?? HEARTBEAT_INTERVAL_MS;
  const sessionMs = opts.consumer?.sessionTimeout ?? SESSION_TIMEOUT_MS;
  const dlq: Producer | undefined = opts.deadLetterTopic ? createProducer(opts.kafka) : undefined;
  const deadLetter = deadLetterer(opts, dlq);
  const outages = new OutageLog({
    log: log.child({ group: opts.groupId }),
    meanwhile: `the consumer of group ${opts.groupId} holds its batch and tries it again until it answers`,
    counted: 'attempt(s) failed',
  });
  const stopping = new AbortController();

  const joined = new Promise<void>((resolve) => {
    const off = consumer.on(consumer.events.GROUP_JOIN, () => {
      off();
      resolve();
    });
  });
  await dlq?.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: opts.topic, fromBeginning: opts.fromBeginning });
  const runConfig: ConsumerRunConfig = {
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? 1,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      const isActive = () => isRunning() && !isStale();
      const signal = stopping.signal;
      const slow = { afterMs: sessionMs, log, group: opts.groupId, batch };
      await withHeartbeats(heartbeat, heartbeatMs, slow, () =>
        holdThroughOutages(() => runBatch(batch, resolveOffset, heartbeat, isActive), {
          outages,
          isActive,
          heartbeat,
          signal,
        }),
      );
    },
  };
  async function runBatch(
    batch: Batch,
    resolveOffset: (offset: string) => void,
    heartbeat: () => Promise<void>,
    isActive: () => boolean,
  ): Promise<void> {
    const startedAt = Date.now();
    const records: DecodedRecord<T>[] = [];
    for (const message of batch.messages) {
      if (!isActive()) return;
      try {
        const value = await opts.codec.decode(message.value);
        opts.check?.(value);
        records.push({ value, message });
      } catch (err) {
        // The registry unreachable: the batch is held and tried again (holdThroughOutages); other
        // transient trouble or a bug: the batch fails to kafkajs and is redelivered.
        if (canRetry(err) || isProgrammingError(err)) throw err;
        await deadLetter(batch.topic, batch.partition, message, err);
      }
    }
    await opts.handle({
      topic: batch.topic,
      partition: batch.partition,
      records,
      isActive,
      heartbeat,
      deadLetter: (message, err) => deadLetter(batch.topic, batch.partition, message, err),
    });
    if (!isActive()) return;
    // The work is done: only now may the group move past these records.
    await commitBatch(consumer, batch, { group: opts.groupId, log, startedAt });
    deadLetter.committed(batch.partition);
    resolveOffset(batch.lastOffset());
    crashes.progressed();
    await heartbeat();
  }
  const crashes = restartOnCrash(consumer, {
    group: opts.groupId,
    log,
    ...(metrics ? { metrics } : {}),
    maxRestarts: opts.maxRestarts ?? DEFAULT_MAX_RESTARTS,
    ...(opts.onFatal ? { onFatal: opts.onFatal } : {}),
    async start() {
      await consumer.connect();
      await consumer.subscribe({ topic: opts.topic, fromBeginning: opts.fromBeginning });
      await consumer.run(runConfig);
    },
  });
  await consumer.run(runConfig);
  if (opts.awaitJoin) {
    let t: NodeJS.Timeout | undefined;
    await Promise.race([joined, new Promise((r) => (t = setTimeout(r, JOIN_TIMEOUT_MS)))]);
    clearTimeout(t);
  }
  return {
    consumer,
    async stop() {
      stopping.abort();
      await crashes.stop();
      await owned
        .stop()
        .catch((err) => log.warn({ err: (err as Error).message }, 'consumer disconnect failed'));
      await dlq?.disconnect().catch(() => {});
    },
  };
}
