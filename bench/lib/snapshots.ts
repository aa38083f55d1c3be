// Realistic StationSnapshots for the Kafka, PostgreSQL and HTTP benchmarks: the test fixture's metrics
// (test/helpers/fixtures.ts) varied per index, an audio reference, the simulator's labels and one
// constraint, so the Avro body is the size a live station sends (~700 bytes).
import { loadCatalog } from '../../catalog/index.ts';
import type { StationSnapshot } from '../../contracts/generated.ts';
import { audioKey, sha256Hex } from '../../domain/audioKeys.ts';
import { buildSnapshot, type SnapshotInput } from '../../domain/snapshot.ts';
import { snapshotInput } from '../../test/helpers/fixtures.ts';

const STATIONS = loadCatalog().stations.map((s) => s.id);

/** The input a station hands to the producer library (no audio: the library adds the reference). */
export function realisticInput(runId: string, tenant: string, i: number, station?: number): SnapshotInput {
  const st = station ?? STATIONS[i % STATIONS.length]!;
  const spec = loadCatalog().stations.find((s) => s.id === st)!;
  const input = snapshotInput({
    tenant,
    call: `${runId}-call-${Math.floor(i / 20)}`,
    index: i % 20,
    station: st,
    snapshotId: `${runId}-${tenant.slice(-12)}-${i}`,
  });
  const a = input.metrics.audio;
  const wobble = ((i * 7919) % 1000) / 1000; // deterministic spread so scores differ
  a.rms_dbfs = -36 + 16 * wobble;
  a.loudness_lufs = a.rms_dbfs - 1;
  a.active_speech_level_dbov = a.rms_dbfs + 1;
  a.snr_db = 8 + 30 * wobble;
  a.hum_ratio = 0.3 * (1 - wobble);
  a.clipping_ratio = wobble > 0.9 ? 0.002 : 0;
  if (!spec.network) input.metrics.network = null;
  else input.metrics.network!.packet_loss_ratio = 0.04 * wobble;
  if (spec.stage_metrics.includes('stt_confidence')) input.metrics.stt_confidence = 0.6 + 0.3 * wobble;
  if (spec.stage_metrics.includes('tts_latency_ms')) input.metrics.tts_latency_ms = 180 + 40 * wobble;
  if (spec.stage_metrics.includes('emotion_confidence'))
    input.metrics.emotion_confidence = 0.5 + 0.4 * wobble;
  input.applied_config_version = 3;
  input.codec = 'pcmu';
  input.labels = {
    impairment_set: 'default',
    impairments: 'noise,hum',
    noise: 'babble@15dB',
    hum: '50Hz@-45dBFS',
    level_db: '-6',
    speech_source: 'recorded',
    leg: spec.leg,
  };
  input.constraints = [{ parameter: 'input_gain_db', min: -12, max: 12, frozen: false }];
  return input;
}

/** A whole snapshot as it travels on Kafka, with the audio reference a 1 s upload would give. */
export function realisticSnapshot(
  runId: string,
  tenant: string,
  i: number,
  station?: number,
): StationSnapshot {
  const snap = buildSnapshot(realisticInput(runId, tenant, i, station));
  const sha = sha256Hex(Buffer.from(snap.snapshot_id));
  snap.audio = {
    storage_key: audioKey(tenant, sha),
    format: 'pcm_s16le',
    sample_rate: 16000,
    channels: 1,
    duration_ms: 1000,
    sha256: sha,
    size_bytes: 32000,
  };
  return snap;
}
