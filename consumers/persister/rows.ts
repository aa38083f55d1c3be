// Snapshot batch -> PostgreSQL in one transaction: calls, channels, segments, then the snapshot rows
// guarded by snapshot_keys so a redelivered snapshot never becomes a second row. Arrays go through
// UNNEST, one statement per table, well below the 65,535-parameter limit whatever the batch size.
import type { StationSnapshot } from '../../contracts/generated.ts';
import { VoiceloopError } from '../../lib/errors.ts';
import type { PoolClient } from '../../storage/db.ts';

export interface SnapshotRow {
  snapshot: StationSnapshot;
  partition: number;
  offset: string;
}

const DAY = 86_400_000;

/** A snapshot for a call id another tenant owns: a bad row, dead-lettered alone. */
export class CallOwnerError extends VoiceloopError {
  constructor(callId: string, owner: string, claimed: string) {
    super(
      'DATA_REFUSED',
      `call_id ${callId} belongs to tenant ${owner}; a snapshot of tenant ${claimed} may not use it`,
    );
    this.name = 'CallOwnerError';
  }
}

/** Returns how many snapshot rows were new (the rest were already persisted) and the days whose
 * partitions it ensured, which the caller remembers only once the transaction has committed. */
export async function writeSnapshots(
  client: PoolClient,
  rows: SnapshotRow[],
  knownDays: ReadonlySet<number>,
): Promise<{ inserted: number; days: number[] }> {
  // Same snapshot twice in one batch (a producer retry before the broker deduplicated): keep the first.
  const seen = new Set<string>();
  const uniq = rows.filter((r) => !seen.has(r.snapshot.snapshot_id) && seen.add(r.snapshot.snapshot_id));
  if (uniq.length === 0) return { inserted: 0, days: [] };
  const s = uniq.map((r) => r.snapshot);

  const days = [...new Set(s.map((x) => Math.floor(x.captured_at / DAY)))].filter((d) => !knownDays.has(d));
  if (days.length > 0) {
    await client.query(
      'SELECT ensure_snapshot_partitions(to_timestamp($1::float8 / 1000), to_timestamp($2::float8 / 1000))',
      [Math.min(...days) * DAY, Math.max(...days) * DAY],
    );
  }

  const ts = (ms: number) => new Date(ms).toISOString();
  // Calls: latest sighting wins for last_seen_at; tenant never changes for a call.
  const calls = new Map<string, StationSnapshot>();
  for (const x of s) {
    const prev = calls.get(x.call_id);
    if (!prev || x.captured_at > prev.captured_at) calls.set(x.call_id, x);
  }
  const firstSeen = new Map<string, number>();
  for (const x of s) firstSeen.set(x.call_id, Math.min(firstSeen.get(x.call_id) ?? Infinity, x.captured_at));
  const cs = [...calls.values()];
  // A call id is global (a SIP Call-ID is unique by construction), and a call belongs to the tenant
  // that first reported it: the same id from another tenant (in this batch or already stored) is
  // refused, never merged into someone else's call.
  for (const x of s) {
    const owner = calls.get(x.call_id)!.tenant_id;
    if (x.tenant_id !== owner) throw new CallOwnerError(x.call_id, owner, x.tenant_id);
  }
  const owned = await client.query<{ call_id: string }>(
    `INSERT INTO calls (call_id, tenant_id, first_seen_at, last_seen_at, codec, labels)
     SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::text[], $6::jsonb[])
     ON CONFLICT (call_id) DO UPDATE SET
       first_seen_at = LEAST(calls.first_seen_at, EXCLUDED.first_seen_at),
       last_seen_at = GREATEST(calls.last_seen_at, EXCLUDED.last_seen_at),
       codec = COALESCE(EXCLUDED.codec, calls.codec)
     WHERE calls.tenant_id = EXCLUDED.tenant_id
     RETURNING call_id`,
    [
      cs.map((x) => x.call_id),
      cs.map((x) => x.tenant_id),
      cs.map((x) => ts(firstSeen.get(x.call_id)!)),
      cs.map((x) => ts(x.captured_at)),
      cs.map((x) => x.codec),
      cs.map((x) => JSON.stringify(x.labels)),
    ],
  );
  if (owned.rows.length < cs.length) {
    const ok = new Set(owned.rows.map((r) => r.call_id));
    const foreign = cs.find((x) => !ok.has(x.call_id))!;
    const { rows: o } = await client.query<{ tenant_id: string }>(
      'SELECT tenant_id FROM calls WHERE call_id = $1',
      [foreign.call_id],
    );
    throw new CallOwnerError(foreign.call_id, o[0]?.tenant_id ?? '?', foreign.tenant_id);
  }

  const chanKeys = new Map<string, StationSnapshot>();
  for (const x of s)
    if (!chanKeys.has(`${x.call_id}\u0000${x.channel}`)) chanKeys.set(`${x.call_id}\u0000${x.channel}`, x);
  const ch = [...chanKeys.values()];
  await client.query(
    `INSERT INTO channels (call_id, channel, first_seen_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]) ON CONFLICT DO NOTHING`,
    [ch.map((x) => x.call_id), ch.map((x) => x.channel), ch.map((x) => ts(x.captured_at))],
  );

  const segKeys = new Map<string, StationSnapshot>();
  for (const x of s) {
    const k = `${x.call_id}\u0000${x.channel}\u0000${x.segment.index}`;
    if (!segKeys.has(k)) segKeys.set(k, x);
  }
  const sg = [...segKeys.values()];
  await client.query(
    `INSERT INTO segments (call_id, channel, segment_index, start_ms, end_ms, utterance_id)
     SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::bigint[], $6::text[]) ON CONFLICT DO NOTHING`,
    [
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
       INSERT INTO snapshot_keys (snapshot_id, captured_at)
       SELECT snapshot_id, captured_at FROM input ON CONFLICT DO NOTHING RETURNING snapshot_id
     )
     INSERT INTO station_snapshots (snapshot_id, captured_at, tenant_id, call_id, channel, segment_index, station_id,
       schema_version, applied_config_version, rms_dbfs, loudness_lufs, snr_db, clipping_ratio, mos, metrics, audio,
       audio_key, constraints, targets, codec, labels, kafka_partition, kafka_offset)
     SELECT i.* FROM input i JOIN fresh f USING (snapshot_id)`,
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
  return { inserted: res.rowCount ?? 0, days };
}
