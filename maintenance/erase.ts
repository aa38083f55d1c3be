// Per-tenant retention and the erasure of a call (issue 13), the services behind api/routes/tenants.ts.
// Both leave an admin_audit row in the same transaction as what they change: who, what, when.
import { VoiceloopError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { AudioStore } from '../storage/audioStore.ts';
import { inTransaction, type Pool } from '../storage/db.ts';
import { type ErasedCounts, eraseCallRows } from '../storage/erasure.ts';
import * as store from '../storage/retention.ts';
import { deleteJournalled } from './journal.ts';

export interface RetentionDefaults {
  snapshotDays: number;
  audioDays: number;
}

export interface TenantRetentionView {
  tenant_id: string;
  /** The tenant's own values (null: the deployment's). */
  snapshot_days: number | null;
  audio_days: number | null;
  /** What the maintenance role applies to the tenant. */
  effective: { snapshot_days: number; audio_days: number };
  defaults: { snapshot_days: number; audio_days: number };
  updated_by: string | null;
  updated_at: string | null;
}

function view(
  tenant: string,
  row: store.TenantRetention | undefined,
  d: RetentionDefaults,
): TenantRetentionView {
  return {
    tenant_id: tenant,
    snapshot_days: row?.snapshot_days ?? null,
    audio_days: row?.audio_days ?? null,
    effective: {
      snapshot_days: Math.min(row?.snapshot_days ?? d.snapshotDays, d.snapshotDays),
      audio_days: Math.min(row?.audio_days ?? d.audioDays, d.audioDays),
    },
    defaults: { snapshot_days: d.snapshotDays, audio_days: d.audioDays },
    updated_by: row?.updated_by ?? null,
    updated_at: row?.updated_at.toISOString() ?? null,
  };
}

export async function getRetention(
  pool: Pool,
  tenant: string,
  d: RetentionDefaults,
): Promise<TenantRetentionView> {
  return view(tenant, await store.getTenantRetention(pool, tenant), d);
}

/** Sets a tenant's retention: only shorter than the deployment's (longer would outlive the partitions). */
export async function setRetention(
  pool: Pool,
  tenant: string,
  v: { snapshot_days: number | null; audio_days: number | null },
  actor: string,
  d: RetentionDefaults,
): Promise<TenantRetentionView> {
  const problems = [];
  if (v.snapshot_days !== null && v.snapshot_days > d.snapshotDays)
    problems.push({
      field: 'snapshot_days',
      reason: `${v.snapshot_days} is longer than the deployment's SNAPSHOT_RETENTION_DAYS=${d.snapshotDays}; a tenant's retention can only be shorter`,
    });
  if (v.audio_days !== null && v.audio_days > d.audioDays)
    problems.push({
      field: 'audio_days',
      reason: `${v.audio_days} is longer than the deployment's AUDIO_RETENTION_DAYS=${d.audioDays}; a tenant's retention can only be shorter`,
    });
  if (problems.length) {
    throw new VoiceloopError(
      'UNSAFE_CHANGE',
      `retention of tenant ${tenant} refused: ${problems.map((p) => p.reason).join('; ')}`,
      {
        details: problems,
      },
    );
  }
  return inTransaction(pool, async (c) => {
    const before = await store.getTenantRetention(c, tenant);
    const row = await store.putTenantRetention(c, tenant, v, actor);
    await store.audit(c, {
      actor,
      action: 'retention_set',
      tenant_id: tenant,
      subject: null,
      details: {
        before: before ? { snapshot_days: before.snapshot_days, audio_days: before.audio_days } : null,
        after: v,
      },
    });
    return view(tenant, row, d);
  });
}

export interface ErasureDeps {
  pool: Pool;
  audio: Pick<AudioStore, 'delete' | 'modifiedMs'>;
  log: Logger;
}

export interface Erasure {
  tenant_id: string;
  call_id: string;
  erased: ErasedCounts;
  /** PCM objects deleted now (the rest, if the store failed, by the next maintenance sweep). */
  audio_deleted: number;
  audit_id: string;
}

/**
 * Erases a call: its rows, call-scoped config (tombstones through the outbox) and PCM, with an audit
 * row naming the actor and the counts. A call nothing is known about is NOT_FOUND (nothing audited).
 */
export async function eraseCall(
  deps: ErasureDeps,
  tenant: string,
  call: string,
  actor: string,
): Promise<Erasure> {
  const done = await inTransaction(deps.pool, async (c) => {
    const r = await eraseCallRows(c, tenant, call);
    const total = Object.values(r.counts).reduce((a, b) => a + b, 0);
    if (total === 0) return null;
    const auditId = await store.audit(c, {
      actor,
      action: 'erase_call',
      tenant_id: tenant,
      subject: call,
      details: {
        erased: r.counts,
        config_keys: r.configKeys.map((k) => k.key),
        audio_keys: r.audioKeys,
        topics:
          'tombstones written for the config keys; the call records on the snapshot, change and result topics age out with those topics',
      },
    });
    return { ...r, auditId };
  });
  if (!done) throw new VoiceloopError('NOT_FOUND', `tenant ${tenant} has no call ${call}: nothing to erase`);
  let audioDeleted = 0;
  try {
    audioDeleted = await deleteJournalled(deps, { keys: done.audioKeys });
  } catch (err) {
    deps.log.warn(
      { err: (err as Error).message, call },
      'erased call: some PCM objects not deleted yet; the next maintenance sweep deletes them',
    );
  }
  return {
    tenant_id: tenant,
    call_id: call,
    erased: done.counts,
    audio_deleted: audioDeleted,
    audit_id: done.auditId,
  };
}
