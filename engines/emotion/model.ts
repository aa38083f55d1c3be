// Station 11's emotion confidence without a Hume key: a model, and every snapshot says so in its
// `emotion_source` label. Hume is not reachable here, so the metric is a fixed, documented function of
// the audio the station passes on: deterministic and monotone in what the DSP controls, which is all
// the optimizer needs; its absolute value is not calibrated against Hume and must not be read as one.
//
// "Quality" is the reference segmental SNR when a simulator supplies the clean signal, else the blind
// WADA-SNR estimate of the output, clamped to [-10, 35] dB either way.
import type { AudioMetrics } from '../../contracts/generated.ts';
import type { StageEngine } from '../stage.ts';

export interface EmotionModelInput {
  readonly audio: AudioMetrics;
  readonly referenceSegSnrDb: number | null;
}

// Below this speech activity the segment is (nearly) silent: nothing to analyse, so the metric is
// absent rather than a made-up number.
const MIN_SPEECH_ACTIVITY = 0.05;

const logistic = (z: number) => 1 / (1 + Math.exp(-z));

/**
 * Modelled emotion confidence in [0, 0.9]: a logistic in quality (0.5 at 8 dB, slope 1/4 per dB)
 * times a level factor that is 1 within 8 dB of -26 dBov and falls off as a Gaussian (sigma 8 dB)
 * beyond, because prosody features are level-sensitive.
 */
export function modelledEmotionConfidence(input: EmotionModelInput): number | null {
  const a = input.audio;
  if (a.speech_activity < MIN_SPEECH_ACTIVITY) return null;
  const q = Math.min(35, Math.max(-10, input.referenceSegSnrDb ?? a.snr_db));
  const off = Math.max(0, Math.abs(a.active_speech_level_dbov + 26) - 8);
  const levelFactor = Math.exp(-(off * off) / (2 * 8 * 8));
  return 0.9 * logistic((q - 8) / 4) * levelFactor;
}

/** Station 11 without a Hume key: the pipeline's model stands, and the snapshot says it is one. */
export function createModelEmotionStage(stationId = 11): StageEngine {
  return {
    stationId,
    measure: async () => ({ metrics: {}, labels: { emotion_source: 'model' } }),
    endCall: () => {},
    close: async () => {},
  };
}
