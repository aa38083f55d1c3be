// Topics of DESIGN §4, created at start with explicit partitions and configs.
import type { Kafka } from 'kafkajs';
import { wrapIo } from '../lib/errors.ts';
import { retry } from '../lib/retry.ts';
import type { Settings } from '../lib/settings.ts';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  configEntries: { name: string; value: string }[];
}

const DAY = 86_400_000;

export function topicSpecs(cfg: Readonly<Settings>): TopicSpec[] {
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

/**
 * Creates missing topics; existing ones are left as they are. Returns the names it created. A busy
 * broker may answer the leader wait with a retriable error (the topic is not yet hosted): the whole
 * step is retried through lib/retry.ts, and a topic created by an earlier attempt is then found existing.
 */
export async function ensureTopics(kafka: Kafka, cfg: Readonly<Settings>): Promise<string[]> {
  const created = new Set<string>();
  await retry('creating topics', () => createMissing(kafka, cfg, created), { retries: 4 });
  return [...created];
}

async function createMissing(kafka: Kafka, cfg: Readonly<Settings>, created: Set<string>): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const missing = topicSpecs(cfg).filter((s) => !existing.has(s.topic));
    if (missing.length > 0) {
      for (const s of missing) created.add(s.topic);
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({ ...s, replicationFactor: cfg.topics.replicationFactor })),
      });
    }
  } catch (err) {
    throw wrapIo('KAFKA', 'creating topics', err, (err as { retriable?: boolean }).retriable !== false);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
