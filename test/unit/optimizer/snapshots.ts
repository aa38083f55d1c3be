// Snapshot builders for the optimizer core tests: a clean, on-target snapshot per station that a test
// then impairs one metric at a time.

import assert from 'node:assert/strict';
import { defaultsForStation, parameterByName, stationById } from '../../../catalog/index.ts';
import type { NetworkMetrics, StationSnapshot } from '../../../contracts/generated.ts';
import { componentScores, type Decision, decide, scoreSnapshot } from '../../../optimizer/core/index.ts';
import type { Finding } from '../../../optimizer/core/rules.ts';
import { digest, type ParamChange, type PendingChange } from '../../../optimizer/core/state.ts';

export interface SnapOverrides {
  readonly audio?: Partial<StationSnapshot['metrics']['audio']>;
  readonly network?: Partial<NetworkMetrics> | null;
  readonly stt_confidence?: number | null;
  readonly stt_word_error_rate?: number | null;
  readonly speech_loss_db?: number | null;
  readonly input_noise_margin_db?: number | null;
  readonly residual_echo_db?: number | null;
  readonly echo_delay_ms?: number | null;
  readonly input_speech_level_dbov?: number | null;
  readonly sample_rate_hz?: number | null;
  readonly input_clipping_ratio?: number | null;
  readonly input_hum_ratio?: number | null;
  readonly tts_latency_ms?: number | null;
  readonly emotion_confidence?: number | null;
  readonly version?: number;
  readonly constraints?: StationSnapshot['constraints'];
  readonly index?: number;
  /** Segment length, ms (3000 unless given): `index` places the segment at index × this in the call. */
  readonly segment_ms?: number;
  readonly call?: string;
}

const CLEAN_NETWORK: NetworkMetrics = {
  packet_loss_ratio: 0.002,
  burst_ratio: 1,
  jitter_ms: 5,
  latency_ms: 120,
  jitter_buffer_fill: 0.5,
  r_factor: 90,
  mos: 4.35,
};

/** A clean, on-target snapshot of `station`, with the stage metric its station reports. */
export function snap(station: number, o: SnapOverrides = {}): StationSnapshot {
  const spec = stationById(station);
  const network = spec?.network ? { ...CLEAN_NETWORK, ...(o.network ?? {}) } : null;
  const index = o.index ?? 0;
  const seg = o.segment_ms ?? 3000;
  return {
    schema_version: 1,
    snapshot_id: `snap-${station}-${index}`,
    tenant_id: 't1',
    call_id: o.call ?? 'call-1',
    channel: spec?.leg ?? 'A',
    segment: { index, start_ms: index * seg, end_ms: index * seg + seg, utterance_id: null },
    station_id: station,
    captured_at: 1_700_000_000_000 + index * 3000,
    metrics: {
      audio: {
        rms_dbfs: -27,
        peak_dbfs: -8,
        crest_factor_db: 16,
        loudness_lufs: -23,
        active_speech_level_dbov: -26,
        dc_offset: 0,
        clipping_ratio: 0,
        noise_floor_dbfs: -68,
        snr_db: 35,
        speech_activity: 0.75,
        spectral_centroid_hz: 1400,
        spectral_flatness: 0.25,
        hum_ratio: 0.005,
        ...(o.audio ?? {}),
      },
      network: o.network === null ? null : network,
      stt_confidence: o.stt_confidence !== undefined ? o.stt_confidence : station === 4 ? 0.96 : null,
      stt_word_error_rate: o.stt_word_error_rate ?? null,
      tts_latency_ms: o.tts_latency_ms !== undefined ? o.tts_latency_ms : station === 9 ? 150 : null,
      emotion_confidence:
        o.emotion_confidence !== undefined ? o.emotion_confidence : station === 11 ? 0.85 : null,
      reference_seg_snr_db: null,
      speech_loss_db: o.speech_loss_db ?? null,
      input_noise_margin_db: o.input_noise_margin_db ?? null,
      residual_echo_db: o.residual_echo_db ?? null,
      echo_delay_ms: o.echo_delay_ms ?? null,
      input_speech_level_dbov: o.input_speech_level_dbov ?? null,
      sample_rate_hz: o.sample_rate_hz ?? null,
      input_clipping_ratio: o.input_clipping_ratio ?? null,
      input_hum_ratio: o.input_hum_ratio ?? null,
    },
    applied_config_version: o.version ?? 0,
    audio: null,
    constraints: o.constraints ?? [],
    targets: { loudness_lufs: -23, max_latency_ms: 300, min_snr_db: 20, min_mos: 3.6 },
    codec: null,
    labels: {},
  };
}

/** The controller's first decision on one snapshot (no state yet), with `current` in effect. */
export function first(
  station: number,
  o: SnapOverrides = {},
  current = defaultsForStation(station),
): Decision {
  return decide({ snapshot: snap(station, o), current, state: null, now: 0 });
}

/** The proposal for `name`, if any; the controller always knows the old value, so `old` is a number. */
export function proposal(d: Decision, name: string) {
  const p = d.proposals.find((x) => x.name === name);
  if (p === undefined) return undefined;
  assert.equal(typeof p.old, 'number', `${name} proposal without an old value`);
  return { ...p, old: p.old as number };
}

export function maxStep(name: string): number {
  return parameterByName(name)!.max_step;
}

/** A station's defaults with the hum canceller already on (the hum rule's first move). */
export function cancelling(station: number): Record<string, number> {
  return { ...defaultsForStation(station), hum_canceller_enabled: 1 };
}

/**
 * A pending change from `before` to `after`, proposed on `base` (scored at `before`): a rule's unless
 * `exploratory`; `riders` as moves.ts choose would mark them.
 */
export function pendingOn(
  base: StationSnapshot,
  before: Record<string, number>,
  after: Record<string, number>,
  changes: readonly ParamChange[],
  o: { exploratory?: boolean; rule?: string; riders?: readonly string[] } = {},
): PendingChange {
  const score = scoreSnapshot(base, before);
  return {
    kind: 'change',
    before,
    after,
    changes,
    score_before: score.score,
    metrics_before: digest(base),
    components_before: componentScores(score),
    proposed_at: 0,
    version: 2,
    exploratory: o.exploratory ?? false,
    rule: o.rule ?? (o.exploratory ? 'explore' : 'rule'),
    ...(o.riders ? { riders: o.riders } : {}),
  };
}

/**
 * The level rule's finding at an AGC station out of gain under a low target (level.ts maxGainMoves):
 * the max gain up, the target following it, and with `compressor` the threshold following the target.
 */
export function agcLevelFinding(params: Record<string, number>, compressor = true): Finding {
  return {
    rule: 'level',
    priority: 2,
    observation: 'too quiet, the AGC out of gain, its target low',
    moves: [
      { name: 'agc_max_gain_db', desired: params.agc_max_gain_db! + 6, reason: 'max gain' },
      {
        name: 'agc_target_dbfs',
        desired: params.agc_target_dbfs! + 3,
        reason: 'target',
        follows: 'agc_max_gain_db',
        heedsTabu: true,
      },
      ...(compressor
        ? [
            {
              name: 'compressor_threshold_dbfs',
              desired: params.compressor_threshold_dbfs! + 3,
              reason: 'compressor',
              follows: 'agc_target_dbfs',
            },
          ]
        : []),
    ],
  };
}
