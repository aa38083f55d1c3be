// A synthetic station-3 "plant" for closed-loop tests: a crude, deterministic model of how the DSP
// parameters turn an impaired input into the metrics of a snapshot. Not a DSP simulation (that is
// audio/**); just monotone, plausible cause and effect, including the traps the controller must avoid
// (over-suppression and a high gate eat speech, a high high-pass thins the voice).

import { defaultsForStation } from '../../../catalog/index.ts';
import type { StationSnapshot } from '../../../contracts/generated.ts';
import { snap } from './snapshots.ts';

export interface Impairment {
  /** Active speech level arriving at the station, dBov. */
  readonly speechDbov: number;
  /** Noise level arriving at the station, dBov. */
  readonly noiseDbov: number;
  /** Hum share of the energy with no high-pass at all. */
  readonly hum: number;
  /** Fraction of samples clipped before the station at 0 dB input gain. */
  readonly clipped: number;
}

export const QUIET_NOISY_HUMMING: Impairment = { speechDbov: -52, noiseDbov: -64, hum: 0.12, clipped: 0 };

const STATION = 3;

export function plant(
  imp: Impairment,
  params: Readonly<Record<string, number>>,
  version = 0,
  index = 0,
): StationSnapshot {
  const p = { ...defaultsForStation(STATION), ...params };
  const g = p['input_gain_db']!;
  const pre = imp.speechDbov + g;
  const noisePre = imp.noiseDbov + g;
  // AGC: gain toward its target, capped by max gain, at most 20 dB of cut.
  const agc = Math.max(-20, Math.min(p['agc_max_gain_db']!, p['agc_target_dbfs']! - pre));
  const asl = pre + agc;
  // Compressor: above threshold, ratio squeezes peaks (crest) and a little level.
  const over = Math.max(0, asl + 12 - p['compressor_threshold_dbfs']!);
  const squeeze = over * (1 - 1 / p['compressor_ratio']!);
  const crest = 16 - 0.5 * squeeze;
  // Suppression: up to ~0.7 dB of SNR per dB of strength, eating speech beyond 18 dB.
  const ns = p['noise_suppression_db']!;
  const snrIn = imp.speechDbov - imp.noiseDbov;
  let activity = 0.55 - Math.max(0, ns - 18) * 0.035;
  let snr = snrIn + 0.7 * ns;
  // Gate: catches the pauses once above the noise, chops weak speech when near the speech level.
  const gate = p['noise_gate_threshold_dbfs']!;
  let floor = noisePre + agc - ns + 3;
  if (gate > noisePre + 3) {
    floor -= 20;
    snr += 3;
  }
  activity -= Math.max(0, gate - (pre - 15)) * 0.03;
  activity = Math.max(0.005, activity);
  // High-pass: 4th order, hum power falls as (60/fc)^8; the voice thins above ~120 Hz.
  const fc = p['highpass_cutoff_hz']!;
  const hum = imp.hum * Math.min(1, (60 / fc) ** 8);
  const centroid = 1400 + Math.max(0, fc - 120) * 4;
  const levelPenalty = Math.max(0, fc - 150) * 0.02;
  const clipping = imp.clipped * 10 ** (g / 10);
  return snap(STATION, {
    version,
    index,
    audio: {
      loudness_lufs: asl + 3 - 0.3 * squeeze - levelPenalty,
      active_speech_level_dbov: asl,
      crest_factor_db: crest,
      snr_db: snr,
      noise_floor_dbfs: floor,
      speech_activity: activity,
      hum_ratio: hum,
      spectral_centroid_hz: centroid,
      clipping_ratio: clipping,
      peak_dbfs: Math.min(0, asl + crest),
    },
  });
}

export interface NetworkImpairment {
  /** RFC 3550 interarrival jitter, ms. */
  readonly jitterMs: number;
  /** One-way network delay before the jitter buffer, ms. */
  readonly networkDelayMs: number;
  /** Loss in the network itself, independent of the buffer. */
  readonly randomLoss: number;
}

export const JITTERY_LINE: NetworkImpairment = { jitterMs: 40, networkDelayMs: 60, randomLoss: 0.002 };

/** Station 2 under network jitter: late loss falls with the buffer, latency rises with it (G.107). */
export function networkPlant(
  imp: NetworkImpairment,
  params: Readonly<Record<string, number>>,
  version = 0,
  index = 0,
): StationSnapshot {
  const p = { ...defaultsForStation(2), ...params };
  const jb = p['jitter_buffer_ms']!;
  const late = Math.min(0.5, 0.4 * Math.exp(-jb / (0.9 * imp.jitterMs)));
  const loss = imp.randomLoss + late;
  const latency = imp.networkDelayMs + jb + 20;
  // ITU-T G.107: Id from one-way delay, Ie-eff for G.711 with PLC (Ie 0, Bpl 4.3), R -> MOS-CQE.
  const id = 0.024 * latency + (latency > 177.3 ? 0.11 * (latency - 177.3) : 0);
  const ppl = loss * 100;
  const ieEff = (95 * ppl) / (ppl + 4.3);
  const r = 93.2 - id - ieEff;
  const mos = r <= 0 ? 1 : r >= 100 ? 4.5 : 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6;
  return snap(2, {
    version,
    index,
    network: { packet_loss_ratio: loss, jitter_ms: imp.jitterMs, latency_ms: latency, r_factor: r, mos },
  });
}
