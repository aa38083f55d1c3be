// Erasing one call of one tenant (issue 13): every row the program keeps about it, in the caller's
// transaction. The call's PCM objects go to the deletion journal in the same transaction and its
// call-scoped config keys get tombstones in the outbox, so a crash after the commit loses neither: the
// relay publishes the tombstones and the maintenance sweep deletes whatever objects are left.
import type pg from 'pg';
import { enqueue } from './outbox.ts';
import { journalObjects } from './retention.ts';

export interface ErasedCounts {
  snapshots: number;
  snapshot_keys: number;
  segments: number;
  channels: number;
  calls: number;
  config_keys: number;
  parameter_changes: number;
  optimizer_runs: number;
  ab_calls: number;
  outbox_rows: number;
  audio_objects: number;
}

async function n(c: pg.PoolClient, sql: string, args: unknown[]): Promise<number> {
  return (await c.query(sql, args)).rowCount ?? 0;
}

/**
 * Rows of the call on the outbox (pending or published): config and change keys, and result payloads.
 * Tombstones carry nothing of the call and must still reach the topic: they stay.
 */
const OUTBOX_OF_CALL = `payload IS NOT NULL AND ((split_part(message_key, '/', 2) = 'call' AND split_part(message_key, '/', 3) = $1
      AND split_part(message_key, '/', 4) = $2 AND topic_role IN ('config', 'changes'))
   OR (topic_role = 'results' AND payload #>> '{scope,tenant_id}' = $1 AND payload #>> '{scope,call_id}' = $2))`;

export async function eraseCallRows(
  c: pg.PoolClient,
  tenant: string,
  call: string,
): Promise<{ counts: ErasedCounts; audioKeys: string[]; configKeys: { stream: string; key: string }[] }> {
  const args = [tenant, call];
  const snaps = await c.query<{ snapshot_id: string; audio_key: string | null }>(
    'DELETE FROM station_snapshots WHERE tenant_id = $1 AND call_id = $2 RETURNING snapshot_id, audio_key',
    args,
  );
  const snapshotKeys = await n(
    c,
    'DELETE FROM snapshot_keys WHERE tenant_id = $1 AND snapshot_id = ANY($2::text[])',
    [tenant, snaps.rows.map((r) => r.snapshot_id)],
  );
  const segments = await n(c, 'DELETE FROM segments WHERE tenant_id = $1 AND call_id = $2', args);
  const channels = await n(c, 'DELETE FROM channels WHERE tenant_id = $1 AND call_id = $2', args);
  const calls = await n(c, 'DELETE FROM calls WHERE tenant_id = $1 AND call_id = $2', args);
  const state = await c.query<{ stream: string; config_key: string }>(
    `DELETE FROM config_state WHERE scope_level = 'call' AND tenant_id = $1 AND call_id = $2 RETURNING stream, config_key`,
    args,
  );
  const abCalls = await n(c, 'DELETE FROM ab_calls WHERE tenant_id = $1 AND call_id = $2', args);
  const changes = await c.query<{ run_id: string | null }>(
    `DELETE FROM parameter_changes WHERE scope_level = 'call' AND tenant_id = $1 AND call_id = $2 RETURNING run_id`,
    args,
  );
  const runs = await n(
    c,
    `DELETE FROM optimizer_runs r WHERE r.tenant_id = $1 AND r.call_id = $2
       AND NOT EXISTS (SELECT 1 FROM parameter_changes pc WHERE pc.run_id = r.run_id)
       AND NOT EXISTS (SELECT 1 FROM ab_experiments e WHERE e.experiment_id = r.run_id)`,
    args,
  );
  const outboxRows = await n(c, `DELETE FROM outbox WHERE ${OUTBOX_OF_CALL}`, args);
  // Every config key the call ever had, live or already tombstoned: a tombstone more is harmless.
  const configKeys = state.rows.map((r) => ({ stream: r.stream, key: r.config_key }));
  const byStream = new Map<string, string[]>();
  for (const k of configKeys) byStream.set(k.stream, [...(byStream.get(k.stream) ?? []), k.key]);
  for (const [stream, keys] of byStream) {
    await enqueue(
      c,
      stream,
      keys.map((key) => ({ role: 'config' as const, contract: 'ConfigRecord' as const, key, payload: null })),
    );
  }
  const audioKeys = [...new Set(snaps.rows.map((r) => r.audio_key).filter((k): k is string => k !== null))];
  await journalObjects(c, audioKeys, 'erasure');
  return {
    counts: {
      snapshots: snaps.rowCount ?? 0,
      snapshot_keys: snapshotKeys,
      segments,
      channels,
      calls,
      config_keys: configKeys.length,
      parameter_changes: changes.rowCount ?? 0,
      optimizer_runs: runs,
      ab_calls: abCalls,
      outbox_rows: outboxRows,
      audio_objects: audioKeys.length,
    },
    audioKeys,
    configKeys,
  };
}
