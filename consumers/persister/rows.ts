// Snapshot batch -> PostgreSQL in one transaction: the batch is streamed with COPY into a per-session
// temporary staging table, then one round trip of INSERT ... SELECT statements fills calls, channels,
// segments, and the snapshot rows guarded by snapshot_keys (per tenant) so a redelivered snapshot never
// becomes a second row. COPY text instead of one array parameter per column: the arrays' escaping in
// the client and their parsing in the server cost about as much as the inserts themselves (measured:
// bench/README.md, "Persister").
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type { StationSnapshot } from '../../contracts/generated.ts';
import { afterCommit, type PoolClient } from '../../storage/db.ts';
import { copyField, SNAPSHOT_COLUMNS, snapshotFields } from './copyText.ts';

export interface SnapshotRow {
  snapshot: StationSnapshot;
  partition: number;
  offset: string;
}

const STAGE = 'persist_stage';
const COLS = SNAPSHOT_COLUMNS.join(', ');
// `ord` is the row's place in the batch: where the rows below keep "the first one seen", it decides.
// ON COMMIT DELETE ROWS: every transaction starts with it empty, committed or rolled back.
const CREATE_STAGE = `CREATE TEMP TABLE IF NOT EXISTS ${STAGE} (
  ord int NOT NULL, snapshot_id text, captured_at timestamptz, tenant_id text, call_id text, channel text,
  segment_index int, station_id int, schema_version int, applied_config_version bigint, rms_dbfs float8,
  loudness_lufs float8, snr_db float8, clipping_ratio float8, mos float8, metrics jsonb, audio jsonb,
  audio_key text, constraints jsonb, targets jsonb, codec text, labels jsonb, kafka_partition int,
  kafka_offset bigint, start_ms bigint, end_ms bigint, utterance_id text
) ON COMMIT DELETE ROWS`;

// Calls: first_seen_at the earliest sighting, and the latest sighting (the first of equals) gives
// last_seen_at, codec and labels. Channels and segments: the first sighting in the batch. Rows are
// written in key order, so two batches touching the same calls lock them in the same order.
/** The statements that fill the tables from the staged batch, in order (the bench times each). */
export const WRITE_STEPS: readonly { fills: string; sql: string }[] = [
  {
    fills: 'calls',
    sql: `INSERT INTO calls (tenant_id, call_id, first_seen_at, last_seen_at, codec, labels)
SELECT DISTINCT ON (tenant_id, call_id) tenant_id, call_id, min(captured_at) OVER w, captured_at, codec, labels
  FROM ${STAGE} WINDOW w AS (PARTITION BY tenant_id, call_id)
  ORDER BY tenant_id, call_id, captured_at DESC, ord
ON CONFLICT (tenant_id, call_id) DO UPDATE SET
  first_seen_at = LEAST(calls.first_seen_at, EXCLUDED.first_seen_at),
  last_seen_at = GREATEST(calls.last_seen_at, EXCLUDED.last_seen_at),
  codec = COALESCE(EXCLUDED.codec, calls.codec)`,
  },
  {
    fills: 'channels',
    sql: `INSERT INTO channels (tenant_id, call_id, channel, first_seen_at)
SELECT DISTINCT ON (tenant_id, call_id, channel) tenant_id, call_id, channel, captured_at
  FROM ${STAGE} ORDER BY tenant_id, call_id, channel, ord
ON CONFLICT DO NOTHING`,
  },
  {
    fills: 'segments',
    sql: `INSERT INTO segments (tenant_id, call_id, channel, segment_index, start_ms, end_ms, utterance_id)
SELECT DISTINCT ON (tenant_id, call_id, channel, segment_index)
    tenant_id, call_id, channel, segment_index, start_ms, end_ms, utterance_id
  FROM ${STAGE} ORDER BY tenant_id, call_id, channel, segment_index, ord
ON CONFLICT DO NOTHING`,
  },
  {
    fills: 'snapshot_keys + station_snapshots',
    sql: `WITH fresh AS (
  INSERT INTO snapshot_keys (tenant_id, snapshot_id, captured_at)
  SELECT tenant_id, snapshot_id, captured_at FROM ${STAGE} ORDER BY ord
  ON CONFLICT DO NOTHING RETURNING tenant_id, snapshot_id
)
INSERT INTO station_snapshots (${COLS})
SELECT ${SNAPSHOT_COLUMNS.map((c) => `s.${c}`).join(', ')} FROM ${STAGE} s JOIN fresh f USING (tenant_id, snapshot_id)`,
  },
];
/** One round trip: the statements as one simple query (the last one's row count is the new rows). */
const WRITE = WRITE_STEPS.map((w) => w.sql).join(';\n');

/** Sessions whose staging table exists (made in a transaction that committed). */
const staged = new WeakSet<PoolClient>();

function stageLine(ord: number, r: SnapshotRow): string {
  const seg = r.snapshot.segment;
  const f = snapshotFields(r.snapshot, r.partition, r.offset);
  return `${ord}\t${f.join('\t')}\t${copyField(seg.start_ms)}\t${copyField(seg.end_ms)}\t${copyField(seg.utterance_id)}\n`;
}

/**
 * Streams the batch (each snapshot once) into the session's staging table; returns how many rows it
 * staged. Inside the caller's transaction (inTransaction): the staging table empties at its end.
 */
export async function stageSnapshots(client: PoolClient, rows: SnapshotRow[]): Promise<number> {
  // Same snapshot twice in one batch (a producer retry before the broker deduplicated): keep the first.
  // Every key starts with the tenant: ids come from outside and two tenants may pick the same one.
  const seen = new Set<string>();
  const uniq = rows.filter((r) => {
    const k = `${r.snapshot.tenant_id}\u0000${r.snapshot.snapshot_id}`;
    return !seen.has(k) && seen.add(k);
  });
  if (uniq.length === 0) return 0;
  if (!staged.has(client)) {
    await client.query(CREATE_STAGE);
    afterCommit(client, () => staged.add(client));
  }
  const text = uniq.map((r, i) => stageLine(i, r)).join('');
  await pipeline(
    Readable.from([text]),
    client.query(copyFrom(`COPY ${STAGE} (ord, ${COLS}, start_ms, end_ms, utterance_id) FROM STDIN`)),
  );
  return uniq.length;
}

/** Returns how many snapshot rows were new (the rest were already persisted). Runs inside the caller's
 * transaction (inTransaction): the staging table empties at its end. Partitions are made ahead by
 * storage/partitions.ts, never here: a record does not decide which tables exist. */
export async function writeSnapshots(client: PoolClient, rows: SnapshotRow[]): Promise<{ inserted: number }> {
  if ((await stageSnapshots(client, rows)) === 0) return { inserted: 0 };
  const results = (await client.query(WRITE)) as unknown as { rowCount: number | null }[];
  return { inserted: results[results.length - 1]?.rowCount ?? 0 };
}
