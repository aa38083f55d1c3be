import { createRequire } from 'node:module';
import {
  type Consumer,
  type ConsumerConfig,
  Kafka,
  logLevel as KafkaLogLevel,
  type LogEntry,
  Partitioners,
  type Producer,
  type SASLOptions,
} from 'kafkajs';
import type { Logger } from '../lib/log.ts';
import { kafkaSaslFor, type Settings } from '../lib/settings.ts';
import type { Principal } from '../stack/kafkaAuth.ts';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

// kafkajs logs a broker's error response with the protocol error's message only; its own table maps
// the message back to the protocol code, so the classification below is by code, not by text.
const protocolErrors = (
  createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as {
    errorCodes: { type: string; message: string }[];
  }
).errorCodes;
const typeOfMessage = new Map(protocolErrors.map((e) => [e.message, e.type]));

/**
 * Group membership answers every consumer meets when it leaves the group on shutdown or while the group
 * rebalances: expected, handled by kafkajs (it rejoins), nothing for a person to act on.
 */
const EXPECTED_GROUP_EVENTS = new Set([
  'UNKNOWN_MEMBER_ID',
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'NOT_COORDINATOR',
  'COORDINATOR_LOAD_IN_PROGRESS',
]);

/**
 * kafkajs warns of this at every idempotent producer with bounded retries. The outbox relay and the
 * restore bound them on purpose (see createProducer): a row whose send gave up stays pending and is
 * sent again from the database, so the warning names a decision, not a fault.
 */
const BOUNDED_RETRIES_WARNING = 'Limiting retries for the idempotent producer may invalidate EoS guarantees';

/**
 * The level a kafkajs log entry is logged at: expected group events, and the bounded-retries notice
 * of the producers that bound them on purpose, go below warning.
 */
export function kafkaLogLevel(
  level: number,
  entry: Record<string, unknown>,
  message = '',
): 'error' | 'warn' | 'info' | 'debug' {
  const type = typeof entry.error === 'string' ? typeOfMessage.get(entry.error) : undefined;
  if (type && EXPECTED_GROUP_EVENTS.has(type)) return 'debug';
  if (message === BOUNDED_RETRIES_WARNING) return 'debug';
  return LEVELS[level] ?? 'info';
}

/**
 * A kafkajs client acting as `principal` (its SASL settings from lib/settings.ts: the role's own
 * credentials, or none against a broker without authentication); its logs go to our logger.
 */
export function createKafka(
  cfg: Readonly<Settings>,
  log: Logger,
  principal: Principal = 'api',
  clientSuffix = '',
): Kafka {
  const sasl = kafkaSaslFor(cfg, principal);
  return new Kafka({
    clientId: clientSuffix ? `${cfg.kafka.clientId}-${clientSuffix}` : cfg.kafka.clientId,
    brokers: [...cfg.kafka.brokers],
    ...(sasl ? { sasl: { ...sasl } as SASLOptions } : {}),
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 5_000 },
    logLevel: KafkaLogLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        log[kafkaLogLevel(level, rest, message)]({ kafka: rest }, message);
      },
  });
}

/**
 * The producer every role uses: idempotent (kafkajs deduplicates retried sends only with one request
 * in flight), Java-compatible murmur2 partitioning (so other languages' producers agree on which
 * partition a call_id lands on), retries unbounded at this layer as the idempotent producer requires.
 * The outbox relay bounds them instead (`retries`): its rows stay pending and are retried from the
 * database, so a stuck send must give up rather than hold the relay forever.
 */
export function createProducer(kafka: Kafka, opts: { retries?: number } = {}): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: opts.retries ?? Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 2_000 },
  });
}

/** A consumer and the one way to stop it for good (see `createConsumer`). */
export interface OwnedConsumer {
  readonly consumer: Consumer;
  /** Disconnects it; no restart that kafkajs had pending or in flight brings it back afterwards. */
  stop(): Promise<void>;
}

/**
 * A kafkajs consumer that stays stopped. kafkajs restarts a consumer that crashed with a retriable
 * error (the broker away) on a timer of its own, and `disconnect()` does not reach every restart:
 * one whose decision was pending while the consumer was stopped is scheduled afterwards, and one
 * already joining (a runner that is not yet running) ignores the stop and runs on. A role stopped
 * during a broker outage then had its consumer come back after the stop and retry the broker for
 * ever, holding the process open. Here the restart decision answers no once `stop()` is called, and a
 * crash or group join that still comes after the stop disconnects the consumer again. Retriable
 * crashes while the owner runs are restarted by kafkajs as before.
 */
export function createConsumer(kafka: Kafka, config: ConsumerConfig): OwnedConsumer {
  let stopped = false;
  const own = config.retry?.restartOnFailure;
  const consumer = kafka.consumer({
    ...config,
    // kafkajs's own default for a consumer's retries, kept when the caller sets none.
    retry: {
      retries: 5,
      ...config.retry,
      restartOnFailure: async (err) => !stopped && (own ? await own(err) : true),
    },
  });
  let late: Promise<void> = Promise.resolve();
  const disconnectAgain = () => {
    late = late.then(() => consumer.disconnect()).catch(() => {});
  };
  // kafkajs sets its restart timer right after it emits the crash: the disconnect (which clears that
  // timer) runs after it, in a microtask.
  consumer.on(consumer.events.CRASH, (e) => {
    if (stopped && e.payload.restart) queueMicrotask(disconnectAgain);
  });
  consumer.on(consumer.events.GROUP_JOIN, () => {
    if (stopped) disconnectAgain();
  });
  return {
    consumer,
    async stop() {
      stopped = true;
      await consumer.disconnect().finally(() => late);
    },
  };
}
