// A persisted station_snapshots row and the StationSnapshot it holds: one mapping for every reader of
// the table (the optimizer API, the A/B experiments).
import type { StationSnapshot } from '../contracts/generated.ts';

export interface SnapshotDbRow {
  snapshot_id: string;
  captured_at: Date;
  tenant_id: string;
  call_id: string;
  channel: 'A' | 'B';
  segment_index: number;
  station_id: number;
  schema_version: number;
  applied_config_version: string;
  metrics: StationSnapshot['metrics'];
  audio: StationSnapshot['audio'];
  constraints: StationSnapshot['constraints'];
  targets: StationSnapshot['targets'];
  codec: string | null;
  labels: Record<string, string>;
  /** Joined from `segments` when the query asks for them (SNAPSHOT_SELECT); 0/null otherwise. */
  start_ms?: string;
  end_ms?: string;
  utterance_id?: string | null;
}

/** Every snapshot column with its segment's bounds; append WHERE ... to it. */
export const SNAPSHOT_SELECT = `SELECT s.*, g.start_ms, g.end_ms, g.utterance_id FROM station_snapshots s
  LEFT JOIN segments g ON g.tenant_id = s.tenant_id AND g.call_id = s.call_id AND g.channel = s.channel AND g.segment_index = s.segment_index`;

/** Rebuilds a StationSnapshot from its persisted row. */
export function snapshotFromRow(r: SnapshotDbRow): StationSnapshot {
  return {
    schema_version: r.schema_version,
    snapshot_id: r.snapshot_id,
    tenant_id: r.tenant_id,
    call_id: r.call_id,
    channel: r.channel,
    segment: {
      index: r.segment_index,
      start_ms: Number(r.start_ms ?? 0),
      end_ms: Number(r.end_ms ?? 0),
      utterance_id: r.utterance_id ?? null,
    },
    station_id: r.station_id,
    captured_at: r.captured_at.getTime(),
    metrics: r.metrics,
    applied_config_version: Number(r.applied_config_version),
    audio: r.audio,
    constraints: r.constraints,
    targets: r.targets,
    codec: r.codec,
    labels: r.labels,
  };
}
