// Snapshot batch -> PostgreSQL in one transaction: calls, channels, segments, then the snapshot rows
// guarded by snapshot_keys (per tenant) so a redelivered snapshot never becomes a second row. Arrays go through
// UNNEST, one statement per table, well below the 65,535-parameter limit whatever the batch size.
import type { StationSnapshot } from '../../contracts/generated.ts';
import type { PoolClient } from '../../storage/db.ts';

export interface SnapshotRow {
  snapshot: StationSnapshot;
  partition: number;
  offset: string;
}

/** Returns how many snapshot rows were new (the rest were already persisted). Partitions are made
 * ahead by storage/partitions.ts, never here: a record does not decide which tables exist. */
export async function writeSnapshots(client: PoolClient, rows: SnapshotRow[]): Promise<{ inserted: number }> {
  // Same snapshot twice in one batch (a producer retry before the broker deduplicated): keep the first.
  // Every key starts with the tenant: ids come from outside and two tenants may pick the same one.
  const seen = new Set<string>();
  const uniq = rows.filter((r) => {
    const k = `${r.snapshot.tenant_id}\u0000${r.snapshot.snapshot_id}`;
    return !seen.has(k) && seen.add(k);
  });
  if (uniq.length === 0) return { inserted: 0 };
  const s = uniq.map((r) => r.snapshot);

  const ts = (ms: number) => new Date(ms).toISOString();
  const callOf = (x: StationSnapshot) => `${x.tenant_id}\u0000${x.call_id}`;
  // Calls: latest sighting wins for last_seen_at.
  const calls = new Map<string, StationSnapshot>();
  const firstSeen = new Map<string, number>();
  for (const x of s) {
    const k = callOf(x);
    const prev = calls.get(k);
    if (!prev || x.captured_at > prev.captured_at) calls.set(k, x);
    firstSeen.set(k, Math.min(firstSeen.get(k) ?? Infinity, x.captured_at));
  }
  const cs = [...calls.values()];
  await client.query(
    `INSERT INTO calls (tenant_id, call_id, first_seen_at, last_seen_at, codec, labels)
     SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::text[], $6::jsonb[])
     ON CONFLICT (tenant_id, call_id) DO UPDATE SET
       first_seen_at = LEAST(calls.first_seen_at, EXCLUDED.first_seen_at),
       last_seen_at = GREATEST(calls.last_seen_at, EXCLUDED.last_seen_at),
       codec = COALESCE(EXCLUDED.codec, calls.codec)`,
    [
      cs.map((x) => x.tenant_id),
      cs.map((x) => x.call_id),
      cs.map((x) => ts(firstSeen.get(callOf(x))!)),
      cs.map((x) => ts(x.captured_at)),
      cs.map((x) => x.codec),
      cs.map((x) => JSON.stringify(x.labels)),
    ],
  );

  const chanKeys = new Map<string, StationSnapshot>();
  for (const x of s) {
    const k = `${callOf(x)}\u0000${x.channel}`;
    if (!chanKeys.has(k)) chanKeys.set(k, x);
  }
  const ch = [...chanKeys.values()];
  await client.query(
    `INSERT INTO channels (tenant_id, call_id, channel, first_seen_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) ON CONFLICT DO NOTHING`,
    [
      ch.map((x) => x.tenant_id),
      ch.map((x) => x.call_id),
      ch.map((x) => x.channel),
      ch.map((x) => ts(x.captured_at)),
    ],
  );

  const segKeys = new Map<string, StationSnapshot>();
  for (const x of s) {
    const k = `${callOf(x)}\u0000${x.channel}\u0000${x.segment.index}`;
    if (!segKeys.has(k)) segKeys.set(k, x);
  }
  const sg = [...segKeys.values()];
  await client.query(
    `INSERT INTO segments (tenant_id, call_id, channel, segment_index, start_ms, end_ms, utterance_id)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::bigint[], $6::bigint[], $7::text[])
     ON CONFLICT DO NOTHING`,
    [
      sg.map((x) => x.tenant_id),
      sg.map((x) => x.call_id),
      sg.map((x) => x.channel),
      sg.map((x) => x.segment.index),
      sg.map((x) => x.segment.start_ms),
      sg.map((x) => x.segment.end_ms),
      sg.map((x) => x.segment.utterance_id),
    ],
  );

  const res = await client.query(
    `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[], $8::int[],
         $9::bigint[], $10::float8[], $11::float8[], $12::float8[], $13::float8[], $14::float8[], $15::jsonb[], $16::jsonb[],
         $17::text[], $18::jsonb[], $19::jsonb[], $20::text[], $21::jsonb[], $22::int[], $23::bigint[])
       AS t(snapshot_id, captured_at, tenant_id, call_id, channel, segment_index, station_id, schema_version,
            applied_config_version, rms_dbfs, loudness_lufs, snr_db, clipping_ratio, mos, metrics, audio,
            audio_key, constraints, targets, codec, labels, kafka_partition, kafka_offset)
     ), fresh AS (
       INSERT INTO snapshot_keys (tenant_id, snapshot_id, captured_at)
       SELECT tenant_id, snapshot_id, captured_at FROM input ON CONFLICT DO NOTHING RETURNING tenant_id, snapshot_id
     )
     INSERT INTO station_snapshots (snapshot_id, captured_at, tenant_id, call_id, channel, segment_index, station_id,
       schema_version, applied_config_version, rms_dbfs, loudness_lufs, snr_db, clipping_ratio, mos, metrics, audio,
       audio_key, constraints, targets, codec, labels, kafka_partition, kafka_offset)
     SELECT i.* FROM input i JOIN fresh f USING (tenant_id, snapshot_id)`,
    [
      s.map((x) => x.snapshot_id),
      s.map((x) => ts(x.captured_at)),
      s.map((x) => x.tenant_id),
      s.map((x) => x.call_id),
      s.map((x) => x.channel),
      s.map((x) => x.segment.index),
      s.map((x) => x.station_id),
      s.map((x) => x.schema_version),
      s.map((x) => x.applied_config_version),
      s.map((x) => x.metrics.audio.rms_dbfs),
      s.map((x) => x.metrics.audio.loudness_lufs),
      s.map((x) => x.metrics.audio.snr_db),
      s.map((x) => x.metrics.audio.clipping_ratio),
      s.map((x) => x.metrics.network?.mos ?? null),
      s.map((x) => JSON.stringify(x.metrics)),
      s.map((x) => (x.audio ? JSON.stringify(x.audio) : null)),
      s.map((x) => x.audio?.storage_key ?? null),
      s.map((x) => JSON.stringify(x.constraints)),
      s.map((x) => JSON.stringify(x.targets)),
      s.map((x) => x.codec),
      s.map((x) => JSON.stringify(x.labels)),
      uniq.map((r) => r.partition),
      uniq.map((r) => r.offset),
    ],
  );
  return { inserted: res.rowCount ?? 0 };
}
