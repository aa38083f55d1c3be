// The measurement core's public surface: audio metrics of a segment, network metrics of a stream.

export { type MeasureOptions, measureAudio } from './audio.ts';
export {
  CODECS,
  type Codec,
  type EModelInput,
  type EModelResult,
  emodel,
  G107_DEFAULTS,
  rToMos,
} from './emodel.ts';
export { AES17_SINE_OFFSET_DB, CLIP_THRESHOLD, DB_FLOOR } from './levels.ts';
export { integratedLoudness } from './loudness.ts';
export {
  type LossStats,
  lossStats,
  type NetworkMetricsInput,
  networkMetrics,
  Rfc3550Jitter,
} from './network.ts';
export { type ActiveSpeechLevel, activeSpeechLevel, speechLevelOrNull } from './p56.ts';
export { gaussian, mulberry32, type Rng, whiteNoise } from './random.ts';
export { ECHO_FLOOR_DB, type EchoReading, ResidualEcho } from './residualEcho.ts';
export { familyShare, humRatio, type SpectralShape, spectralShape } from './spectrum.ts';
export { speechLossDb } from './speechLoss.ts';
export type { AudioMetrics, NetworkMetrics } from './types.ts';
export { DEFAULT_VAD_MODE, speechActivity, type VadMode, vadDecisions } from './vad.ts';
export { wadaSnr } from './wada.ts';
