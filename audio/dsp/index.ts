// Public surface of the DSP engine: the per-station chain, its blocks, the packet-level jitter buffer.

export { gaussianSource, mulberry32 } from '../metrics/random.ts';
export { Agc, type AgcSettings } from './agc.ts';
export {
  AUDIO_BLOCK_ORDER,
  type AudioBlockName,
  type ChainOptions,
  type ChainStats,
  createChain,
  type DspChain,
  DspParameterError,
  processBuffer,
  type SetParamsResult,
} from './chain.ts';
export { Compressor, type CompressorSettings, compressorCurve } from './compressor.ts';
export { DC_ENGAGE, DcBlocker } from './dcBlocker.ts';
export { clippedRatio, Declipper } from './declipper.ts';
export { EchoCanceller, type EchoCancellerSettings } from './echoCanceller.ts';
export { HighPassFilter, type HighPassSettings } from './highpass.ts';
export { HumCanceller, type HumCancellerSettings } from './humCanceller.ts';
export { HumDetector, type HumFamily, RELEASE_ANALYSES as HUM_RELEASE_ANALYSES } from './humDetector.ts';
export { InputGain, type InputGainSettings } from './inputGain.ts';
export {
  JitterBuffer,
  type JitterBufferOptions,
  type JitterBufferStats,
  type PushResult,
  type RtpPacket,
  runJitterBuffer,
} from './jitterBuffer.ts';
export { Limiter, type LimiterSettings } from './limiter.ts';
export { NoiseGate, type NoiseGateSettings } from './noiseGate.ts';
export { NoiseNeed } from './noiseNeed.ts';
export { NoiseSuppressor, type NoiseSuppressorSettings } from './noiseSuppressor.ts';
export { PacketLossConcealer } from './plc.ts';
export { RNNOISE_RATE, type RnnoiseSettings, RnnoiseSuppressor } from './rnnoise.ts';
export type { AudioBlock } from './types.ts';
export { Vad, type VadSettings, type VadStats } from './vad.ts';
