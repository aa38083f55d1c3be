// Snapshot and PCM fixtures for tests: plausible values, deterministic from a seed.
import type { ConfigAck } from '../../contracts/generated.ts';
import type { SnapshotInput } from '../../domain/snapshot.ts';

export function pcmTone(seconds: number, sampleRate = 16000, freq = 440, amplitude = 0.1, seed = 1): Buffer {
  const n = Math.round(seconds * sampleRate);
  const buf = Buffer.alloc(n * 2);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0; // LCG noise so each seed gives distinct bytes (and hashes)
    const noise = (s / 2 ** 32 - 0.5) * 0.002;
    const v = amplitude * Math.sin((2 * Math.PI * freq * i) / sampleRate) + noise;
    buf.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v * 32767))), i * 2);
  }
  return buf;
}

export function snapshotInput(o: {
  tenant: string;
  call: string;
  index?: number;
  station?: number;
  snapshotId?: string;
}): SnapshotInput {
  const index = o.index ?? 0;
  return {
    ...(o.snapshotId ? { snapshot_id: o.snapshotId } : {}),
    tenant_id: o.tenant,
    call_id: o.call,
    channel: 'A',
    segment: { index, start_ms: index * 1000, end_ms: index * 1000 + 1000, utterance_id: null },
    station_id: o.station ?? 2,
    metrics: {
      audio: {
        rms_dbfs: -26,
        peak_dbfs: -12,
        crest_factor_db: 14,
        loudness_lufs: -27,
        active_speech_level_dbov: -25,
        dc_offset: 0,
        clipping_ratio: 0,
        noise_floor_dbfs: -60,
        snr_db: 30,
        speech_activity: 0.6,
        spectral_centroid_hz: 1200,
        spectral_flatness: 0.2,
        hum_ratio: 0.01,
      },
      network: {
        packet_loss_ratio: 0.01,
        burst_ratio: 1,
        jitter_ms: 8,
        latency_ms: 120,
        jitter_buffer_fill: 0.5,
        r_factor: 88,
        mos: 4.3,
      },
      stt_confidence: null,
      stt_word_error_rate: null,
      tts_latency_ms: null,
      emotion_confidence: null,
      reference_seg_snr_db: null,
      speech_loss_db: null,
      input_noise_margin_db: null,
      residual_echo_db: null,
      echo_delay_ms: null,
      input_speech_level_dbov: null,
      sample_rate_hz: null,
      input_clipping_ratio: null,
      input_hum_ratio: null,
    },
  };
}

/** An agent's ack that it applied `version` of station 4's global config (a small record for consumer tests). */
export const configAck = (agent: string, version: number): ConfigAck => ({
  schema_version: 1,
  agent_id: agent,
  station_id: 4,
  config_key: '4/global/global',
  version,
  change_id: null,
  status: 'applied',
  reason: null,
  acked_at: Date.now(),
});
