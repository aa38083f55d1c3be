// One interface for the STT stage (station 4), whichever engine is behind it: pocketsphinx locally,
// Deepgram's live streaming with a key (STT_PROVIDER).

export interface RecognizedWord {
  word: string;
  startMs: number;
  endMs: number;
  /** The engine's own confidence in the word, 0..1 (pocketsphinx: lattice posterior). */
  confidence: number;
}

export interface Recognition {
  text: string;
  words: RecognizedWord[];
  /** The utterance's confidence as the engine reports it, 0..1; null when nothing was recognized. */
  confidence: number | null;
  /** Wall time from the last audio sent to the final result, ms. */
  elapsedMs: number;
}

export type SttProviderName = 'pocketsphinx' | 'deepgram';

export interface SpeechRecognizer {
  readonly name: SttProviderName;
  /** One utterance of mono float PCM (full scale 1) at `sampleRate`. */
  recognize(samples: Float32Array, sampleRate: number): Promise<Recognition>;
  close(): Promise<void>;
}
