// measureAudio: every AudioMetrics field of a station snapshot (avro/StationSnapshot.avsc) from one
// segment of mono PCM. Pure: samples in, numbers out, no I/O beyond libfvad's .wasm on first use.
// Cost is linear in the input; working buffers and FFT plans are kept between calls.

import { amplitudeDb, crestFactorDb, DB_FLOOR, noiseFloorDbfs, powerDbfs, sampleLevels } from './levels.ts';
import { integratedLoudness } from './loudness.ts';
import { activeSpeechLevel } from './p56.ts';
import { humRatio, spectralShape } from './spectrum.ts';
import type { AudioMetrics } from './types.ts';
import { DEFAULT_VAD_MODE, speechActivity, type VadMode } from './vad.ts';
import { wadaSnr } from './wada.ts';

export interface MeasureOptions {
  /** WebRTC VAD aggressiveness for speech_activity (default 2). */
  readonly vadMode?: VadMode;
  /**
   * Fundamental of a hum family that a longer look found, at any frequency (Hz; 0 or absent: none):
   * hum_ratio counts it as well as the 50/60 Hz families (spectrum.ts humRatio).
   */
  readonly humHz?: number;
}

let sanitized = new Float32Array(0);

/** NaN becomes 0 and ±Infinity full scale, so one bad sample cannot turn every metric into NaN. */
function finiteSamples(x: Float32Array): Float32Array {
  let bad = false;
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!)) {
      bad = true;
      break;
    }
  }
  if (!bad) return x;
  if (sanitized.length < x.length) sanitized = new Float32Array(x.length);
  const out = sanitized.subarray(0, x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    out[i] = Number.isNaN(v) ? 0 : v === Infinity ? 1 : v === -Infinity ? -1 : v;
  }
  return out;
}

const finite = (v: number, fallback: number) => (Number.isFinite(v) ? v : fallback);

/**
 * Measure one segment. `samples` is mono, nominally in [-1, 1] (louder samples are measured as they
 * are and count as clipped); `sampleRate` in Hz, typically 16000 or 8000.
 */
export function measureAudio(
  samples: Float32Array,
  sampleRate: number,
  options: MeasureOptions = {},
): AudioMetrics {
  if (!Number.isInteger(sampleRate) || sampleRate < 1000) {
    throw new RangeError(`sampleRate must be an integer >= 1000 Hz, got ${sampleRate}`);
  }
  const x = finiteSamples(samples);
  const n = x.length;
  const levels = sampleLevels(x);
  const { mean, meanSquare, peak, clipped } = levels;
  const rmsDbfs = powerDbfs(meanSquare);
  const peakDbfs = amplitudeDb(peak);
  const shape = spectralShape(x, sampleRate, mean);
  return {
    rms_dbfs: rmsDbfs,
    peak_dbfs: peakDbfs,
    crest_factor_db: crestFactorDb(levels),
    loudness_lufs: finite(integratedLoudness(x, sampleRate), DB_FLOOR),
    active_speech_level_dbov: finite(activeSpeechLevel(x, sampleRate).levelDbov, DB_FLOOR),
    dc_offset: finite(mean, 0),
    clipping_ratio: n === 0 ? 0 : clipped / n,
    noise_floor_dbfs: finite(noiseFloorDbfs(x, sampleRate, mean), DB_FLOOR),
    snr_db: finite(wadaSnr(x, mean), 0),
    speech_activity: speechActivity(x, sampleRate, options.vadMode ?? DEFAULT_VAD_MODE),
    spectral_centroid_hz: finite(shape.centroidHz, 0),
    spectral_flatness: finite(shape.flatness, 0),
    hum_ratio: finite(humRatio(x, sampleRate, mean, options.humHz ?? 0), 0),
  };
}
