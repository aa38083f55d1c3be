// The metric records a station publishes. Field names and meanings are those of the `AudioMetrics`
// and `NetworkMetrics` records in avro/StationSnapshot.avsc (DESIGN §5), so a value built here is
// written to the wire unchanged. Every number is finite: silence and empty input read as floors.
// These copies carry the units and floors; the type check at the end keeps them identical in shape to
// the records generated from the schema (contracts/generated.ts).

import type * as Wire from '../../contracts/generated.ts';

/** avro `voiceloop.AudioMetrics`. */
export interface AudioMetrics {
  /** RMS level, dBFS per AES17 (a full-scale sine reads 0 dBFS), floor -120. */
  rms_dbfs: number;
  /** Sample peak, dBFS (|x| = 1 reads 0 dBFS), floor -120. */
  peak_dbfs: number;
  /** 20·log10(peak / RMS): 3.01 dB for a sine, 0 for a square wave, 0 for silence. */
  crest_factor_db: number;
  /** Integrated loudness, ITU-R BS.1770-4 (K-weighted, gated), LUFS; -120 when every block is gated out. */
  loudness_lufs: number;
  /** ITU-T P.56 method B active speech level, dBov (0 dBov = full-scale square wave), floor -120. */
  active_speech_level_dbov: number;
  /** Mean sample value, full scale = 1. */
  dc_offset: number;
  /** Fraction of samples at or within 1 LSB (16-bit) of full scale. */
  clipping_ratio: number;
  /** 10th percentile of the 20 ms frame levels (DC removed), dBFS per AES17, floor -120. */
  noise_floor_dbfs: number;
  /** Blind WADA-SNR estimate (Kim & Stern 2008), dB in [-20, 100]; 0 for silence. */
  snr_db: number;
  /** Fraction of 10 ms frames the VAD marks as speech, 0..1. */
  speech_activity: number;
  /** Centroid of the long-term power spectrum, Hz; 0 for silence. */
  spectral_centroid_hz: number;
  /** Wiener entropy of the long-term power spectrum, 0 (tonal) .. 1 (white); 0 for silence. */
  spectral_flatness: number;
  /**
   * Energy share of hum above the local spectrum, 0..1: 50 or 60 Hz and its harmonics up to 300 Hz, or a
   * family off them that a longer look found (MeasureOptions.humHz), whichever is larger.
   */
  hum_ratio: number;
}

/** avro `voiceloop.NetworkMetrics`. */
export interface NetworkMetrics {
  /** Lost / expected packets, 0..1. */
  packet_loss_ratio: number;
  /** G.107 BurstR: observed mean burst length over the mean expected for random loss; 1 = random. */
  burst_ratio: number;
  /** RFC 3550 §6.4.1 interarrival jitter, ms. */
  jitter_ms: number;
  /** One-way mouth-to-ear delay estimate, ms: network + jitter buffer + codec. */
  latency_ms: number;
  /** Mean fill of the jitter buffer, 0..1. */
  jitter_buffer_fill: number;
  /** ITU-T G.107 E-model transmission rating R. */
  r_factor: number;
  /** MOS-CQE from R (G.107 Annex B), 1..4.5. */
  mos: number;
}

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
/** Fails typecheck when the schema's AudioMetrics and this one drift apart. */
export type AudioMetricsMatchesSchema = Assert<Same<AudioMetrics, Wire.AudioMetrics>>;
/** Fails typecheck when the schema's NetworkMetrics and this one drift apart. */
export type NetworkMetricsMatchesSchema = Assert<Same<NetworkMetrics, Wire.NetworkMetrics>>;
