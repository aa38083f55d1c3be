import { Kafka, logLevel as KafkaLogLevel, type LogEntry } from 'kafkajs';
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/log.ts';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

/** One kafkajs client per process role; its logs go to our logger instead of the console. */
export function createKafka(cfg: Readonly<Config>, log: Logger, clientSuffix = ''): Kafka {
  return new Kafka({
    clientId: clientSuffix ? `${cfg.kafka.clientId}-${clientSuffix}` : cfg.kafka.clientId,
    brokers: [...cfg.kafka.brokers],
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 5_000 },
    logLevel: KafkaLogLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        log[LEVELS[level] ?? 'info']({ kafka: rest }, message);
      },
  });
}
