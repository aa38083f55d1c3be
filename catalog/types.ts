// Shapes of the parameter and station catalogs (DESIGN §2, §7). The catalogs themselves are data
// (`parameters.json`, `stations.json`); these types are what `parse.ts` proves the data to be.

/** DSP blocks a station can run; the audio chain runs them in the order of `AUDIO_BLOCK_ORDER`. */
export const DSP_BLOCKS = [
  'jitter_buffer',
  'declipper',
  'echo_canceller',
  'highpass',
  'hum_canceller',
  'input_gain',
  'noise_gate',
  'rnnoise',
  'noise_suppression',
  'agc',
  'compressor',
  'limiter',
  'vad',
] as const;
export type DspBlockName = (typeof DSP_BLOCKS)[number];

export const PARAMETER_UNITS = ['dB', 'dBFS', 'Hz', 'ms', 'ratio'] as const;
export type ParameterUnit = (typeof PARAMETER_UNITS)[number];

/** Stage-specific metrics a station reports besides the audio/network ones (DESIGN §5). */
export const STAGE_METRICS = ['stt_confidence', 'tts_latency_ms', 'emotion_confidence'] as const;
export type StageMetric = (typeof STAGE_METRICS)[number];

export interface ParameterSpec {
  readonly name: string;
  readonly description: string;
  readonly unit: ParameterUnit;
  readonly min: number;
  readonly max: number;
  readonly default: number;
  /** Largest change the safety layer allows in one step. */
  readonly max_step: number;
  readonly stations: readonly number[];
  /** true: may change mid-call; false: applied only at the next call (it would reset filter state audibly). */
  readonly hot: boolean;
  /** The DSP block this parameter drives. */
  readonly block: DspBlockName;
  /**
   * A parameter that takes only these values (ascending, the default among them), e.g. a switch:
   * [0, 1]. Searches try each value as a choice rather than stepping through the range between.
   */
  readonly values?: readonly number[];
}

export interface StationSpec {
  readonly id: number;
  readonly component: string;
  readonly position: string;
  readonly leg: 'A' | 'B';
  /** A network station receives RTP and runs a jitter buffer. */
  readonly network: boolean;
  readonly dsp_blocks: readonly DspBlockName[];
  readonly stage_metrics: readonly StageMetric[];
}

export interface ParameterError {
  readonly parameter: string;
  readonly reason: string;
}

export type ValidationResult = { ok: true } | { ok: false; errors: ParameterError[] };
