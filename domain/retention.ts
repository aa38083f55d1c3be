// What ages out, as pure functions of the sweep's clock and the settings (no I/O): the cutoff of every
// kind of data, which daily snapshot partitions lie wholly before the snapshot cutoff, and which stored
// objects are old enough for the audio sweep to consider. A tenant's own retention can only be shorter,
// so its cutoff is the later of its own and the deployment's.

export const DAY_MS = 86_400_000;

export interface RetentionSettings {
  snapshotRetentionMs: number;
  audioRetentionDays: number;
  outboxDays: number;
  configStateDays: number;
  runDays: number;
  observationDays: number;
  webhookDays: number;
}

export interface TenantOverride {
  tenant_id: string;
  snapshot_days: number | null;
  audio_days: number | null;
}

export interface Cutoffs {
  snapshots: number;
  audio: number;
  outbox: number;
  configState: number;
  runs: number;
  observations: number;
  webhooks: number;
  /** Tenants whose own snapshot cutoff is later than the deployment's. */
  tenantSnapshots: Map<string, number>;
  /** Tenants whose own audio cutoff is later than the deployment's. */
  tenantAudio: Map<string, number>;
}

export function cutoffs(now: number, s: RetentionSettings, tenants: readonly TenantOverride[] = []): Cutoffs {
  const snapshots = now - s.snapshotRetentionMs;
  const audio = now - s.audioRetentionDays * DAY_MS;
  const tenantSnapshots = new Map<string, number>();
  const tenantAudio = new Map<string, number>();
  for (const t of tenants) {
    if (t.snapshot_days !== null && now - t.snapshot_days * DAY_MS > snapshots)
      tenantSnapshots.set(t.tenant_id, now - t.snapshot_days * DAY_MS);
    if (t.audio_days !== null && now - t.audio_days * DAY_MS > audio)
      tenantAudio.set(t.tenant_id, now - t.audio_days * DAY_MS);
  }
  return {
    snapshots,
    audio,
    outbox: now - s.outboxDays * DAY_MS,
    configState: now - s.configStateDays * DAY_MS,
    runs: now - s.runDays * DAY_MS,
    observations: now - s.observationDays * DAY_MS,
    webhooks: now - s.webhookDays * DAY_MS,
    tenantSnapshots,
    tenantAudio,
  };
}

const PARTITION_RE = /^station_snapshots_(\d{4})(\d{2})(\d{2})$/;

/** The UTC day a daily partition holds ([from, to) in ms), or undefined for any other table. */
export function partitionRange(name: string): { fromMs: number; toMs: number } | undefined {
  const m = PARTITION_RE.exec(name);
  if (!m) return undefined;
  const fromMs = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // Date.UTC rolls 20260230 over to March: such a name is not one of ours.
  if (new Date(fromMs).toISOString().slice(0, 10).replace(/-/g, '') !== m.slice(1).join('')) return undefined;
  return { fromMs, toMs: fromMs + DAY_MS };
}

export function partitionName(dayStartMs: number): string {
  return `station_snapshots_${new Date(dayStartMs).toISOString().slice(0, 10).replace(/-/g, '')}`;
}

/** Partitions whose whole day lies before the cutoff: every row in them is past retention. */
export function partitionsToDrop(
  names: readonly string[],
  cutoffMs: number,
): { name: string; fromMs: number; toMs: number }[] {
  const out: { name: string; fromMs: number; toMs: number }[] = [];
  for (const name of names) {
    const r = partitionRange(name);
    if (r && r.toMs <= cutoffMs) out.push({ name, ...r });
  }
  return out;
}

/**
 * The first day the partitions are kept made for: the day holding the cutoff (partly inside retention).
 * Made-ahead and drop agree: that day's partition ends after the cutoff, so it is never dropped.
 */
export function firstKeptDay(now: number, retentionMs: number): number {
  return Math.floor((now - retentionMs) / DAY_MS) * DAY_MS;
}

const AUDIO_TENANT_RE = /^audio\/v1\/([^/]+)\//;

export function tenantOfAudioKey(key: string): string | undefined {
  return AUDIO_TENANT_RE.exec(key)?.[1];
}

/** The audio cutoff for one object: its tenant's own when later than the deployment's. */
export function audioCutoffFor(key: string, c: Pick<Cutoffs, 'audio' | 'tenantAudio'>): number {
  const t = tenantOfAudioKey(key);
  return (t !== undefined ? c.tenantAudio.get(t) : undefined) ?? c.audio;
}

/** Objects last written before their cutoff: candidates (the sweep still keeps referenced ones). */
export function oldObjects<T extends { key: string; modifiedMs: number }>(
  objects: readonly T[],
  c: Pick<Cutoffs, 'audio' | 'tenantAudio'>,
): T[] {
  return objects.filter((o) => o.modifiedMs < audioCutoffFor(o.key, c));
}
