// What /metrics reads at scrape time in a process with the database and Kafka: the outbox backlog
// and the lag of the consumer groups this process runs (end offset - committed offset per partition,
// through the Kafka admin API, so a stuck consumer shows as growing lag, not as silence).
import type { Admin, Kafka } from 'kafkajs';
import type { LagRow, Metrics } from '../lib/metrics.ts';
import type { Pool } from '../storage/db.ts';
import { backlog } from '../storage/outbox.ts';

export interface WatchedGroup {
  groupId: string;
  topic: string;
}

/**
 * Lag of each group on its topic. A partition the group has never committed on is left out: a group
 * that starts at the end of the topic (the online optimizer) would otherwise show the whole history.
 */
export async function consumerLag(admin: Admin, groups: readonly WatchedGroup[]): Promise<LagRow[]> {
  const rows: LagRow[] = [];
  const ends = new Map<string, Promise<{ partition: number; high: string; low: string }[]>>();
  for (const g of groups) {
    if (!ends.has(g.topic)) ends.set(g.topic, admin.fetchTopicOffsets(g.topic));
    const [end, committed] = await Promise.all([
      ends.get(g.topic)!,
      admin.fetchOffsets({ groupId: g.groupId, topics: [g.topic] }),
    ]);
    const done = new Map(
      (committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)] as const),
    );
    for (const p of end) {
      const c = done.get(p.partition);
      if (c === undefined || c < 0) continue;
      rows.push({
        group: g.groupId,
        topic: g.topic,
        partition: p.partition,
        lag: Math.max(0, Number(p.high) - c),
      });
    }
  }
  return rows;
}

/** Wires the scrape-time gauges; the returned function closes the admin client. */
export function watchForMetrics(
  metrics: Metrics,
  deps: { kafka: Kafka; pool: Pool; stream: string; groups: () => readonly WatchedGroup[] },
): () => Promise<void> {
  const admin = deps.kafka.admin();
  let connected: Promise<void> | null = null;
  metrics.setSources({
    outbox: () => backlog(deps.pool, deps.stream),
    consumerLag: async () => {
      connected ??= admin.connect().catch((err) => {
        connected = null;
        throw err;
      });
      await connected;
      return consumerLag(admin, deps.groups());
    },
  });
  return async () => {
    if (connected) await admin.disconnect().catch(() => {});
  };
}
