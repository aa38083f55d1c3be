// Topics of DESIGN §4, created at start with explicit partitions and configs.
import type { ITopicConfig, Kafka } from 'kafkajs';
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
 * Creates missing topics; existing ones are left as they are. Returns the names it created.
 */
export async function ensureTopics(kafka: Kafka, cfg: Readonly<Settings>): Promise<string[]> {
  const rf = cfg.topics.replicationFactor;
  return createTopicsSettled(
    kafka,
    topicSpecs(cfg).map((s) => ({ ...s, replicationFactor: rf })),
  );
}

/**
 * Creates those of `topics` that are missing and waits until every partition of each has a leader;
 * returns the names it created. A busy broker may answer the leader wait with a retriable error such as
 * UNKNOWN_TOPIC_OR_PARTITION (the new topic is not yet hosted; kafkajs's own wait retries only
 * LEADER_NOT_AVAILABLE: the clean-clone CI run of 2026-12-07 04:25 UTC lost an integration test to it):
 * the whole step is retried through lib/retry.ts, a topic an earlier attempt created is then found
 * existing, and its leaders are checked again.
 */
export async function createTopicsSettled(kafka: Kafka, topics: readonly ITopicConfig[]): Promise<string[]> {
  const created = new Set<string>();
  await retry('creating topics', () => createMissing(kafka, topics, created), { retries: 4 });
  return [...created];
}

async function createMissing(
  kafka: Kafka,
  topics: readonly ITopicConfig[],
  created: Set<string>,
): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((s) => !existing.has(s.topic));
    if (missing.length > 0) {
      for (const s of missing) created.add(s.topic);
      await admin.createTopics({ waitForLeaders: true, topics: [...missing] });
    }
    const { topics: meta } = await admin.fetchTopicMetadata({ topics: topics.map((s) => s.topic) });
    const leaderless = meta.flatMap((t) =>
      t.partitions.filter((p) => !(p.leader >= 0)).map((p) => `${t.name}[${p.partitionId}]`),
    );
    if (leaderless.length > 0) throw new Error(`no leader yet for ${leaderless.join(', ')}`);
  } catch (err) {
    throw wrapIo('KAFKA', 'creating topics', err, (err as { retriable?: boolean }).retriable !== false);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
