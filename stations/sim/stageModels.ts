// Simulated stage models for the stage-specific metrics (DESIGN §5) of stations 4, 9 and 11. The real
// services (Deepgram STT, the TTS engine, Hume) are not reachable here, so each metric is a fixed,
// documented function of the audio the station passes on. They are deterministic and monotone in the
// things the DSP controls, which is all the optimizer needs from them; their absolute values are not
// calibrated against the real services and must not be read as predictions of them.
//
// "Quality" below is the reference segmental SNR when a simulator supplies the clean signal, else the
// blind WADA-SNR estimate of the output, clamped to [-10, 35] dB either way.
import type { AudioMetrics } from '../../contracts/generated.ts';

export interface StageModelInput {
  readonly audio: AudioMetrics;
  readonly referenceSegSnrDb: number | null;
}

// Below this speech activity the segment is (nearly) silent: STT returns no transcript and emotion
// analysis has nothing to analyse, so the metric is absent rather than a made-up number.
const MIN_SPEECH_ACTIVITY = 0.05;

const logistic = (z: number) => 1 / (1 + Math.exp(-z));

function quality(input: StageModelInput): number {
  const q = input.referenceSegSnrDb ?? input.audio.snr_db;
  return Math.min(35, Math.max(-10, q));
}

/**
 * Station 4, simulated Deepgram transcript confidence in [0, 0.97]: a logistic in quality (0.5 at
 * 6 dB, slope 1/4.5 per dB), minus 2.5 logits per 1% of clipped samples, minus 0.35 logits per dB of
 * active speech level below -35 dBov or above -10 dBov (a quiet stream loses weak consonants, a hot one
 * is distorted by the service's own front end). 0.97 caps it: real STT confidence rarely reaches 1.
 */
export function sttConfidence(input: StageModelInput): number | null {
  const a = input.audio;
  if (a.speech_activity < MIN_SPEECH_ACTIVITY) return null;
  const level = a.active_speech_level_dbov;
  const levelPenalty = 0.35 * (Math.max(0, -35 - level) + Math.max(0, level + 10));
  const z = (quality(input) - 6) / 4.5 - 250 * a.clipping_ratio - levelPenalty;
  return 0.97 * logistic(z);
}

/** Default time to first audio of the simulated TTS engine, ms. */
export const TTS_BASE_LATENCY_MS = 180;

/**
 * Station 9, simulated TTS latency: the engine's time to first audio plus the algorithmic delay of
 * the station's DSP chain (limiter look-ahead and any frame-based block). No station 9 parameter
 * moves it, so it is a metric to watch (a new block or a longer look-ahead shows up), not to tune.
 */
export function ttsLatencyMs(chainLatencyMs: number, baseMs = TTS_BASE_LATENCY_MS): number {
  return baseMs + chainLatencyMs;
}

/**
 * Station 11, simulated Hume emotion confidence in [0, 0.9]: a logistic in quality (0.5 at 8 dB,
 * slope 1/4 per dB) times a level factor that is 1 within 8 dB of -26 dBov and falls off as a
 * Gaussian (sigma 8 dB) beyond, because prosody features are level-sensitive.
 */
export function emotionConfidence(input: StageModelInput): number | null {
  const a = input.audio;
  if (a.speech_activity < MIN_SPEECH_ACTIVITY) return null;
  const off = Math.max(0, Math.abs(a.active_speech_level_dbov + 26) - 8);
  const levelFactor = Math.exp(-(off * off) / (2 * 8 * 8));
  return 0.9 * logistic((quality(input) - 8) / 4) * levelFactor;
}
