// Kafka plumbing for the benchmarks: scratch topics under the run's prefix (deleted with it), a plain
// kafkajs client for the raw baselines (library defaults, no project wrapper), and bulk loading.
import { Kafka, logLevel, type Message, Partitioners, type Producer, type SASLOptions } from 'kafkajs';
import { kafkaSaslFor, type Settings } from '../../lib/settings.ts';
import { createTopicsSettled } from '../../streams/topics.ts';

export async function createTopic(kafka: Kafka, topic: string, partitions: number): Promise<void> {
  await createTopicsSettled(kafka, [{ topic, numPartitions: partitions, replicationFactor: 1 }]);
}

/** A bare kafkajs client: what an application without this project's wrappers would use (authenticated alike). */
export function rawKafka(cfg: Readonly<Settings>, clientId: string): Kafka {
  const sasl = kafkaSaslFor(cfg, 'test');
  return new Kafka({
    clientId,
    brokers: [...cfg.kafka.brokers],
    logLevel: logLevel.NOTHING,
    ...(sasl ? { sasl: sasl as SASLOptions } : {}),
  });
}

/** The bare producer (not idempotent, default in-flight requests), Java-compatible partitioner. */
export function rawProducer(kafka: Kafka): Producer {
  return kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
}

/** Loads `messages` into `topic` in chunks (acks=all), as fast as the broker takes them. */
export async function load(
  producer: Producer,
  topic: string,
  messages: Message[],
  chunk = 1000,
): Promise<void> {
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < messages.length; i += chunk) {
    sends.push(producer.send({ topic, acks: -1, messages: messages.slice(i, i + chunk) }));
    if (sends.length >= 4) await sends.shift();
  }
  await Promise.all(sends);
}

/** Committed lag of a group on a topic: high watermarks minus committed offsets, summed. */
export async function groupLag(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [high, committed] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      admin.fetchOffsets({ groupId, topics: [topic] }),
    ]);
    const done = new Map(
      (committed[0]?.partitions ?? []).map((p) => [p.partition, Math.max(0, Number(p.offset))]),
    );
    return high.reduce((sum, p) => sum + Number(p.high) - (done.get(p.partition) ?? 0), 0);
  } finally {
    await admin.disconnect();
  }
}
