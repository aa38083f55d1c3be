// Pure building and checking of StationSnapshots, shared by the producer library and the HTTP API.
// The Avro schema checks types; this checks meaning (ranges, known stations, ids safe to use in keys).
import { randomUUID } from 'node:crypto';
import { parameterByName, stationById } from '../catalog/index.ts';
import type { AudioRef, StationSnapshot } from '../contracts/generated.ts';
import type { ErrorDetail } from '../lib/errors.ts';
import { audioKey, isAudioKey } from './audioKeys.ts';
import { ID_RE, SNAPSHOT_ID_RE } from './ids.ts';

export { ID_RE, SNAPSHOT_ID_RE };
export const SAMPLE_RATES = [8000, 16000, 24000, 32000, 48000] as const;
const DAY_MS = 86_400_000;

type Optional =
  | 'snapshot_id'
  | 'schema_version'
  | 'captured_at'
  | 'applied_config_version'
  | 'constraints'
  | 'targets'
  | 'codec'
  | 'labels'
  | 'audio';
/** What a station hands over: the snapshot without the fields that have defaults. */
export type SnapshotInput = Omit<StationSnapshot, Optional> & Partial<Pick<StationSnapshot, Optional>>;

export const DEFAULT_TARGETS = Object.freeze({
  loudness_lufs: -23,
  max_latency_ms: 300,
  min_snr_db: 20,
  min_mos: 4,
});

export function buildSnapshot(input: SnapshotInput, now = Date.now()): StationSnapshot {
  return {
    schema_version: 1,
    snapshot_id: input.snapshot_id ?? randomUUID(),
    tenant_id: input.tenant_id,
    call_id: input.call_id,
    channel: input.channel,
    segment: { ...input.segment, utterance_id: input.segment.utterance_id ?? null },
    station_id: input.station_id,
    captured_at: input.captured_at ?? now,
    metrics: {
      ...input.metrics,
      network: input.metrics.network ?? null,
      stt_confidence: input.metrics.stt_confidence ?? null,
      stt_word_error_rate: input.metrics.stt_word_error_rate ?? null,
      tts_latency_ms: input.metrics.tts_latency_ms ?? null,
      emotion_confidence: input.metrics.emotion_confidence ?? null,
      reference_seg_snr_db: input.metrics.reference_seg_snr_db ?? null,
      speech_loss_db: input.metrics.speech_loss_db ?? null,
      input_noise_margin_db: input.metrics.input_noise_margin_db ?? null,
      residual_echo_db: input.metrics.residual_echo_db ?? null,
      echo_delay_ms: input.metrics.echo_delay_ms ?? null,
      input_speech_level_dbov: input.metrics.input_speech_level_dbov ?? null,
      sample_rate_hz: input.metrics.sample_rate_hz ?? null,
      input_clipping_ratio: input.metrics.input_clipping_ratio ?? null,
      input_hum_ratio: input.metrics.input_hum_ratio ?? null,
    },
    applied_config_version: input.applied_config_version ?? 0,
    audio: input.audio ?? null,
    constraints: (input.constraints ?? []).map((c) => ({
      ...c,
      min: c.min ?? null,
      max: c.max ?? null,
      frozen: c.frozen ?? false,
    })),
    targets: { ...DEFAULT_TARGETS, ...input.targets },
    codec: input.codec ?? null,
    labels: input.labels ?? {},
  };
}

function range(out: ErrorDetail[], field: string, v: number | null | undefined, min: number, max: number) {
  if (v === null || v === undefined) return;
  if (!Number.isFinite(v)) out.push({ field, reason: 'must be a finite number' });
  else if (v < min || v > max) out.push({ field, reason: `must be within [${min}, ${max}], got ${v}` });
}

/**
 * How far from now a `captured_at` may be. Each day of it is a table partition, so an unbounded window
 * lets one field create thousands of tables; the past bound is the snapshot retention (older data would
 * be dropped at once), the future bound a clock skew allowance.
 */
export interface CapturedWindow {
  maxAgeMs: number;
  maxAheadMs: number;
}

export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** Every problem with a snapshot's meaning, each naming its field; empty when it is sound. */
export function checkSnapshot(s: StationSnapshot, now = Date.now(), window?: CapturedWindow): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  if (!SNAPSHOT_ID_RE.test(s.snapshot_id))
    out.push({ field: 'snapshot_id', reason: 'must be 1-128 characters of A-Z a-z 0-9 . _ : -' });
  if (!ID_RE.test(s.tenant_id))
    out.push({ field: 'tenant_id', reason: 'must be 1-64 characters of A-Z a-z 0-9 . _ -' });
  if (!ID_RE.test(s.call_id))
    out.push({ field: 'call_id', reason: 'must be 1-64 characters of A-Z a-z 0-9 . _ -' });
  if (!stationById(s.station_id))
    out.push({ field: 'station_id', reason: `unknown station ${s.station_id}; see catalog/stations.json` });
  if (s.schema_version !== 1)
    out.push({ field: 'schema_version', reason: `this producer writes version 1, got ${s.schema_version}` });
  if (!Number.isInteger(s.segment.index) || s.segment.index < 0)
    out.push({ field: 'segment.index', reason: 'must be an integer >= 0' });
  if (s.segment.start_ms < 0) out.push({ field: 'segment.start_ms', reason: 'must be >= 0' });
  if (s.segment.end_ms < s.segment.start_ms)
    out.push({ field: 'segment.end_ms', reason: 'must be >= segment.start_ms' });
  if (window) {
    const from = now - window.maxAgeMs;
    const to = now + window.maxAheadMs;
    if (!Number.isFinite(s.captured_at) || s.captured_at < from || s.captured_at > to) {
      out.push({
        field: 'captured_at',
        reason: `must be epoch milliseconds within [${new Date(from).toISOString()}, ${new Date(to).toISOString()}] (retention .. now + ${Math.round(window.maxAheadMs / 1000)} s)`,
      });
    }
  } else if (s.captured_at <= 0 || s.captured_at > now + DAY_MS) {
    out.push({
      field: 'captured_at',
      reason: 'must be epoch milliseconds, not more than a day in the future',
    });
  }
  range(out, 'applied_config_version', s.applied_config_version, 0, Number.MAX_SAFE_INTEGER);

  const a = s.metrics.audio;
  for (const k of [
    'rms_dbfs',
    'peak_dbfs',
    'loudness_lufs',
    'active_speech_level_dbov',
    'noise_floor_dbfs',
  ] as const) {
    range(out, `metrics.audio.${k}`, a[k], -200, 20);
  }
  range(out, 'metrics.audio.crest_factor_db', a.crest_factor_db, 0, 200);
  range(out, 'metrics.audio.dc_offset', a.dc_offset, -1, 1);
  range(out, 'metrics.audio.snr_db', a.snr_db, -100, 200);
  range(out, 'metrics.audio.spectral_centroid_hz', a.spectral_centroid_hz, 0, 96_000);
  for (const k of ['clipping_ratio', 'speech_activity', 'spectral_flatness', 'hum_ratio'] as const) {
    range(out, `metrics.audio.${k}`, a[k], 0, 1);
  }
  const n = s.metrics.network;
  if (n) {
    range(out, 'metrics.network.packet_loss_ratio', n.packet_loss_ratio, 0, 1);
    range(out, 'metrics.network.jitter_buffer_fill', n.jitter_buffer_fill, 0, 1);
    range(out, 'metrics.network.burst_ratio', n.burst_ratio, 0, 1000);
    range(out, 'metrics.network.jitter_ms', n.jitter_ms, 0, 60_000);
    range(out, 'metrics.network.latency_ms', n.latency_ms, 0, 60_000);
    range(out, 'metrics.network.r_factor', n.r_factor, -100, 150);
    range(out, 'metrics.network.mos', n.mos, 1, 5);
  }
  range(out, 'metrics.stt_confidence', s.metrics.stt_confidence, 0, 1);
  // Insertions can take a WER past 1; ten times the reference is no recognizer's output.
  range(out, 'metrics.stt_word_error_rate', s.metrics.stt_word_error_rate, 0, 10);
  range(out, 'metrics.emotion_confidence', s.metrics.emotion_confidence, 0, 1);
  range(out, 'metrics.tts_latency_ms', s.metrics.tts_latency_ms, 0, 600_000);
  range(out, 'metrics.reference_seg_snr_db', s.metrics.reference_seg_snr_db, -100, 200);
  range(out, 'metrics.speech_loss_db', s.metrics.speech_loss_db, 0, 30);
  range(out, 'metrics.input_noise_margin_db', s.metrics.input_noise_margin_db, 0, 200);
  range(out, 'metrics.residual_echo_db', s.metrics.residual_echo_db, -200, 0);
  range(out, 'metrics.echo_delay_ms', s.metrics.echo_delay_ms, 0, 10_000);
  range(out, 'metrics.input_speech_level_dbov', s.metrics.input_speech_level_dbov, -200, 20);
  range(out, 'metrics.sample_rate_hz', s.metrics.sample_rate_hz, 4000, 192_000);
  range(out, 'metrics.input_clipping_ratio', s.metrics.input_clipping_ratio, 0, 1);
  range(out, 'metrics.input_hum_ratio', s.metrics.input_hum_ratio, 0, 1);
  if (typeof s.metrics.sample_rate_hz === 'number' && !Number.isInteger(s.metrics.sample_rate_hz)) {
    out.push({
      field: 'metrics.sample_rate_hz',
      reason: `must be a whole number of Hz, got ${s.metrics.sample_rate_hz}`,
    });
  }

  if (s.audio) out.push(...checkAudioRef(s.audio, s.tenant_id));
  s.constraints.forEach((c, i) => {
    const f = `constraints[${i}]`;
    if (!parameterByName(c.parameter))
      out.push({ field: `${f}.parameter`, reason: `unknown parameter "${c.parameter}"` });
    if (c.min !== null && c.max !== null && c.min > c.max)
      out.push({ field: `${f}.min`, reason: 'must be <= max' });
  });
  range(out, 'targets.loudness_lufs', s.targets.loudness_lufs, -70, 0);
  range(out, 'targets.max_latency_ms', s.targets.max_latency_ms, 1, 60_000);
  range(out, 'targets.min_snr_db', s.targets.min_snr_db, -20, 100);
  range(out, 'targets.min_mos', s.targets.min_mos, 1, 5);
  return out;
}

export function checkAudioRef(a: AudioRef, tenantId: string): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  if (!isAudioKey(a.storage_key)) {
    out.push({
      field: 'audio.storage_key',
      reason: 'must be a key produced by the audio store (audio/v1/<tenant>/<xx>/<sha256>.pcm)',
    });
  } else if (a.storage_key !== audioKey(tenantId, a.sha256)) {
    out.push({ field: 'audio.storage_key', reason: "must be this tenant's key for audio.sha256" });
  }
  if (!/^[0-9a-f]{64}$/.test(a.sha256))
    out.push({ field: 'audio.sha256', reason: 'must be 64 lowercase hex digits' });
  if (!(SAMPLE_RATES as readonly number[]).includes(a.sample_rate)) {
    out.push({ field: 'audio.sample_rate', reason: `must be one of ${SAMPLE_RATES.join(', ')}` });
  }
  if (a.format !== 'pcm_s16le') out.push({ field: 'audio.format', reason: 'only pcm_s16le is supported' });
  if (a.channels !== 1) out.push({ field: 'audio.channels', reason: 'only mono (1) is supported' });
  if (!Number.isInteger(a.duration_ms) || a.duration_ms <= 0)
    out.push({ field: 'audio.duration_ms', reason: 'must be a positive integer' });
  if (!Number.isInteger(a.size_bytes) || a.size_bytes <= 0)
    out.push({ field: 'audio.size_bytes', reason: 'must be a positive integer' });
  return out;
}

/** The AudioRef for PCM s16le mono bytes already stored under `key`. */
export function audioRefFor(
  stored: { storage_key: string; sha256: string; size_bytes: number },
  sampleRate: number,
): AudioRef {
  return {
    storage_key: stored.storage_key,
    format: 'pcm_s16le',
    sample_rate: sampleRate,
    channels: 1,
    duration_ms: Math.round((stored.size_bytes / 2 / sampleRate) * 1000),
    sha256: stored.sha256,
    size_bytes: stored.size_bytes,
  };
}
