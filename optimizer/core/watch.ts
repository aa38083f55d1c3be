// Audio/network metrics each parameter moves: what a change's next iteration watches (next_iteration.watch_metrics).
export const WATCH: Readonly<Record<string, readonly string[]>> = {
  input_gain_db: ['audio.loudness_lufs', 'audio.clipping_ratio', 'audio.crest_factor_db'],
  agc_target_dbfs: ['audio.loudness_lufs', 'audio.active_speech_level_dbov', 'audio.noise_floor_dbfs'],
  agc_max_gain_db: ['audio.loudness_lufs', 'audio.noise_floor_dbfs', 'audio.snr_db'],
  noise_gate_threshold_dbfs: ['audio.noise_floor_dbfs', 'audio.speech_activity', 'audio.snr_db'],
  noise_suppression_db: ['audio.snr_db', 'audio.speech_activity', 'audio.noise_floor_dbfs'],
  rnnoise_enabled: ['audio.snr_db', 'audio.speech_activity', 'audio.noise_floor_dbfs'],
  rnnoise_attenuation_limit_db: ['audio.snr_db', 'audio.speech_activity', 'audio.noise_floor_dbfs'],
  highpass_cutoff_hz: ['audio.hum_ratio', 'audio.spectral_centroid_hz'],
  hum_canceller_enabled: ['audio.hum_ratio', 'audio.spectral_centroid_hz'],
  compressor_threshold_dbfs: ['audio.crest_factor_db', 'audio.loudness_lufs'],
  compressor_ratio: ['audio.crest_factor_db', 'audio.loudness_lufs'],
  limiter_ceiling_dbfs: ['audio.clipping_ratio', 'audio.peak_dbfs', 'audio.crest_factor_db'],
  // A longer buffer delays the near end against the far end: an echo can move past the canceller's tail.
  jitter_buffer_ms: ['network.packet_loss_ratio', 'network.latency_ms', 'network.mos', 'residual_echo_db'],
  vad_threshold: ['audio.speech_activity', 'stt_confidence'],
  // Not the E-model's MOS: it rates loss, jitter, delay and the codec (audio/metrics/network.ts, a fixed
  // TELR), none of which the tail moves. Watched on it, a lossier second rolled a tail step back (eval
  // seed 5, gen-5-1 station 10: mos 0.62 -> 0.45 of its component, the step's only attributable drop).
  echo_canceller_tail_ms: ['residual_echo_db'],
  declip_enabled: ['input_clipping_ratio', 'audio.crest_factor_db', 'audio.peak_dbfs'],
};
