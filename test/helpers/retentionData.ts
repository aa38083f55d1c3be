// Rows and objects for the retention tests, written straight into a (private) database and bucket at
// chosen times: the maintenance sweep judges by timestamps, so the tests place data in the past and
// the future of a clock they move.
import { randomBytes } from 'node:crypto';
import { DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { audioKey, sha256Hex } from '../../domain/audioKeys.ts';
import type { Settings } from '../../lib/settings.ts';
import { ensureBucket } from '../../runtime/bootstrap.ts';
import { AudioStore, createS3 } from '../../storage/audioStore.ts';
import type { Pool } from '../../storage/db.ts';

export const DAY = 86_400_000;
const ts = (ms: number) => new Date(ms).toISOString();

/** One snapshot row (with its call, channel and idempotency key); its day's partition is made if missing. */
export async function insertSnapshot(
  pool: Pool,
  o: { tenant: string; call: string; id: string; at: number; audioKey?: string | null },
): Promise<void> {
  await pool.query('SELECT ensure_snapshot_partitions($1::timestamptz, $1::timestamptz)', [ts(o.at)]);
  await pool.query(
    `INSERT INTO calls (tenant_id, call_id, first_seen_at, last_seen_at) VALUES ($1, $2, $3, $3)
     ON CONFLICT (tenant_id, call_id) DO UPDATE SET last_seen_at = GREATEST(calls.last_seen_at, $3)`,
    [o.tenant, o.call, ts(o.at)],
  );
  await pool.query(
    `INSERT INTO channels (tenant_id, call_id, channel, first_seen_at) VALUES ($1, $2, 'A', $3) ON CONFLICT DO NOTHING`,
    [o.tenant, o.call, ts(o.at)],
  );
  await pool.query(
    `INSERT INTO segments (tenant_id, call_id, channel, segment_index, start_ms, end_ms)
     VALUES ($1, $2, 'A', (SELECT count(*) FROM segments WHERE tenant_id = $1 AND call_id = $2), 0, 1000)`,
    [o.tenant, o.call],
  );
  await pool.query('INSERT INTO snapshot_keys (tenant_id, snapshot_id, captured_at) VALUES ($1, $2, $3)', [
    o.tenant,
    o.id,
    ts(o.at),
  ]);
  await pool.query(
    `INSERT INTO station_snapshots (snapshot_id, captured_at, tenant_id, call_id, channel, segment_index, station_id,
       schema_version, applied_config_version, metrics, targets, audio_key)
     VALUES ($1, $2, $3, $4, 'A', 0, 3, 1, 0, '{}', '{}', $5)`,
    [o.id, ts(o.at), o.tenant, o.call, o.audioKey ?? null],
  );
}

/** A PCM object of random bytes under the tenant's content key. */
export async function putAudio(audio: AudioStore, tenant: string): Promise<string> {
  const pcm = randomBytes(640);
  const r = await audio.put(tenant, pcm);
  if (r.storage_key !== audioKey(tenant, sha256Hex(pcm))) throw new Error('unexpected key');
  return r.storage_key;
}

/** A bucket of its own on the stack's S3 server, emptied and removed by the returned cleanup. */
export async function privateBucket(cfg: Readonly<Settings>, bucket: string) {
  const s3 = createS3(cfg);
  await ensureBucket(s3, bucket);
  const audio = new AudioStore(s3, bucket);
  return {
    s3,
    audio,
    async keys(): Promise<string[]> {
      const out: string[] = [];
      for await (const page of audio.list('')) out.push(...page.map((o) => o.key));
      return out.sort();
    },
    async drop() {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      for (const o of page.Contents ?? [])
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key! }));
      await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => {});
      s3.destroy();
    },
  };
}

export async function count(pool: Pool, sql: string, args: unknown[] = []): Promise<number> {
  return (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, args)).rows[0]!.n;
}

/** A parameter change row (config_state and runs refer to one). */
export async function insertChange(
  pool: Pool,
  o: { id: string; scope: 'global' | 'tenant' | 'call'; tenant?: string; call?: string; runId?: string },
): Promise<void> {
  await pool.query(
    `INSERT INTO parameter_changes (change_id, actor, scope_level, tenant_id, call_id, station_id, before, after, reason, status, run_id)
     VALUES ($1, 'test', $2, $3, $4, 3, '{}', '{}', 'test', 'applied', $5)`,
    [o.id, o.scope, o.tenant ?? null, o.call ?? null, o.runId ?? null],
  );
}

export async function insertConfigState(
  pool: Pool,
  o: {
    stream: string;
    key: string;
    scope: 'tenant' | 'call';
    tenant: string;
    call?: string;
    change: string;
    tombstonedAt: number | null;
  },
): Promise<void> {
  await pool.query(
    `INSERT INTO config_state (stream, config_key, station_id, scope_level, tenant_id, call_id, version, parameters,
       change_id, issued_at, tombstoned_at, last_change_at)
     VALUES ($1, $2, 3, $3, $4, $5, nextval('config_version_seq'), '{}', $6, now(), $7, now())`,
    [
      o.stream,
      o.key,
      o.scope,
      o.tenant,
      o.call ?? null,
      o.change,
      o.tombstonedAt === null ? null : ts(o.tombstonedAt),
    ],
  );
}

export async function insertRun(pool: Pool, id: string, finishedAt: number): Promise<void> {
  await pool.query(
    `INSERT INTO optimizer_runs (run_id, mode, status, scope_level, requested_by, started_at, finished_at)
     VALUES ($1, 'batch', 'completed', 'global', 'test', $2, $2)`,
    [id, ts(finishedAt)],
  );
}
