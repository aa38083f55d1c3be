// A station snapshot as one line of PostgreSQL's COPY text format (tab-separated, \N for null,
// backslash escapes): what the persister streams into its staging table, and what the benchmark's
// baseline streams into a bare table, so both pay the same encoding.
import type { StationSnapshot } from '../../contracts/generated.ts';

/** station_snapshots' columns in the order copyLine writes them (ingested_at keeps its default). */
export const SNAPSHOT_COLUMNS = [
  'snapshot_id',
  'captured_at',
  'tenant_id',
  'call_id',
  'channel',
  'segment_index',
  'station_id',
  'schema_version',
  'applied_config_version',
  'rms_dbfs',
  'loudness_lufs',
  'snr_db',
  'clipping_ratio',
  'mos',
  'metrics',
  'audio',
  'audio_key',
  'constraints',
  'targets',
  'codec',
  'labels',
  'kafka_partition',
  'kafka_offset',
] as const;

const NEEDS_ESCAPE = /[\\\t\n\r]/;

/** One COPY text field: \N for null, backslash, tab, newline and carriage return escaped. */
export function copyField(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  const s = typeof v === 'string' ? v : String(v);
  if (!NEEDS_ESCAPE.test(s)) return s;
  return s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** The SNAPSHOT_COLUMNS fields of one snapshot, each already a COPY text field. */
export function snapshotFields(s: StationSnapshot, partition: number, offset: string): string[] {
  return [
    copyField(s.snapshot_id),
    new Date(s.captured_at).toISOString(),
    copyField(s.tenant_id),
    copyField(s.call_id),
    copyField(s.channel),
    copyField(s.segment.index),
    copyField(s.station_id),
    copyField(s.schema_version),
    copyField(s.applied_config_version),
    copyField(s.metrics.audio.rms_dbfs),
    copyField(s.metrics.audio.loudness_lufs),
    copyField(s.metrics.audio.snr_db),
    copyField(s.metrics.audio.clipping_ratio),
    copyField(s.metrics.network?.mos ?? null),
    copyField(JSON.stringify(s.metrics)),
    s.audio ? copyField(JSON.stringify(s.audio)) : '\\N',
    copyField(s.audio?.storage_key ?? null),
    copyField(JSON.stringify(s.constraints)),
    copyField(JSON.stringify(s.targets)),
    copyField(s.codec),
    copyField(JSON.stringify(s.labels)),
    copyField(partition),
    copyField(offset),
  ];
}

/** One line of COPY text for SNAPSHOT_COLUMNS. */
export function copyLine(s: StationSnapshot, partition: number, offset: string): string {
  return `${snapshotFields(s, partition, offset).join('\t')}\n`;
}
