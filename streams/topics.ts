// Topics of DESIGN §4, created at start with explicit partitions and configs.
import type { Kafka } from 'kafkajs';
import type { Config } from '../lib/config.ts';
import { wrapIo } from '../lib/errors.ts';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  configEntries: { name: string; value: string }[];
}

const DAY = 86_400_000;

export function topicSpecs(cfg: Readonly<Config>): TopicSpec[] {
  const t = cfg.topics;
  const del = (retentionMs: number) => [
    { name: 'cleanup.policy', value: 'delete' },
    { name: 'retention.ms', value: String(retentionMs) },
  ];
  // Compacted topics hold the latest value per key forever; a low dirty ratio and short segment let
  // tombstoned and superseded config records disappear soon instead of after a 1 GiB segment rolls.
  const compact = [
    { name: 'cleanup.policy', value: 'compact' },
    { name: 'min.cleanable.dirty.ratio', value: '0.1' },
    { name: 'segment.ms', value: String(DAY) },
    { name: 'delete.retention.ms', value: String(DAY) },
  ];
  return [
    { topic: t.snapshots, numPartitions: t.snapshotPartitions, configEntries: del(t.snapshotRetentionMs) },
    { topic: t.results, numPartitions: 3, configEntries: del(7 * DAY) },
    { topic: t.changes, numPartitions: 3, configEntries: del(90 * DAY) },
    { topic: t.config, numPartitions: 3, configEntries: compact },
    { topic: t.acks, numPartitions: 3, configEntries: compact },
    { topic: t.deadLetters, numPartitions: 3, configEntries: del(30 * DAY) },
  ];
}

/** Creates missing topics; existing ones are left as they are. Returns the names it created. */
export async function ensureTopics(kafka: Kafka, cfg: Readonly<Config>): Promise<string[]> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const missing = topicSpecs(cfg).filter((s) => !existing.has(s.topic));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({ ...s, replicationFactor: cfg.topics.replicationFactor })),
      });
    }
    return missing.map((s) => s.topic);
  } catch (err) {
    throw wrapIo('KAFKA', 'creating topics', err);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
