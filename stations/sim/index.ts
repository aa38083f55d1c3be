// The station simulator's public surface: impairment profiles, clean speech, impairments, the
// simulated network leg, whole simulated calls, and the ground-truth and stage models the pipeline uses.

export { resample } from '../../audio/dsp/resampler.ts';
export {
  type SimSegment,
  type SimStationInput,
  type SimulateCallOptions,
  type SimulatedCall,
  simulateCall,
} from './call.ts';
export { type Impaired, type ImpairOptions, impair } from './impair.ts';
export {
  bundledImpairmentsPath,
  type ClipImpairment,
  type EchoImpairment,
  type HumImpairment,
  ImpairmentError,
  type ImpairmentFieldError,
  type ImpairmentSet,
  loadImpairments,
  type NetworkImpairment,
  type NoiseImpairment,
  type NoiseType,
  parseImpairments,
  profileFor,
  type SimCodec,
  type StationImpairment,
  type StationProfile,
  selectStations,
} from './impairments.ts';
export { FRAME_MS, meanJitterDelayMs, muLaw, type PacketizeOptions, packetize } from './network.ts';
export { babbleNoise, pinkNoise, whiteNoise } from './noise.ts';
export { gammaVariate, mulberry32, type Rng, rngFor, seedOf } from './random.ts';
export { bestLag, SEG_SNR_MAX_DB, SEG_SNR_MIN_DB, segmentalSnrDb } from './reference.ts';
export {
  DEFAULT_PROMPT_DIR,
  NATIVE_RATE,
  type SpeechClip,
  type SpeechOptions,
  type SpeechSourceInfo,
  type SpeechSourceKind,
  type SpeechVoice,
  speechSource,
  speechSourceInfo,
} from './speech.ts';
