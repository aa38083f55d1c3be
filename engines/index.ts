// The stage engines a process runs, chosen by configuration (lib/settings.ts): station 4's recognizer
// (STT_PROVIDER) and station 11's emotion analyzer (EMOTION_PROVIDER).
import type { EngineSettings } from '../lib/settings.ts';
import { createHumeEmotionStage } from './emotion/hume.ts';
import { createModelEmotionStage } from './emotion/model.ts';
import type { StageEngine } from './stage.ts';
import { createDeepgram } from './stt/deepgram.ts';
import { createPocketsphinx } from './stt/pocketsphinx.ts';
import { createSttStage } from './stt/stage.ts';
import type { SpeechRecognizer } from './stt/types.ts';

export function createRecognizer(cfg: EngineSettings): SpeechRecognizer {
  switch (cfg.stt.provider) {
    case 'pocketsphinx':
      return createPocketsphinx();
    case 'deepgram':
      // lib/settings.ts refuses STT_PROVIDER=deepgram without a key.
      return createDeepgram({ apiKey: cfg.stt.deepgram.apiKey!, url: cfg.stt.deepgram.url });
  }
}

export function createEmotionStage(cfg: EngineSettings): StageEngine {
  switch (cfg.emotion.provider) {
    case 'model':
      return createModelEmotionStage();
    case 'hume':
      // lib/settings.ts refuses EMOTION_PROVIDER=hume without a key.
      return createHumeEmotionStage({ apiKey: cfg.emotion.hume.apiKey!, url: cfg.emotion.hume.url });
  }
}

/** Station id -> its stage engine; close() stops them all. */
export interface StageEngines {
  forStation(stationId: number): StageEngine | undefined;
  recognizer: SpeechRecognizer;
  close(): Promise<void>;
}

export function createStageEngines(cfg: EngineSettings): StageEngines {
  const recognizer = createRecognizer(cfg);
  const engines = [createSttStage(recognizer), createEmotionStage(cfg)];
  return {
    recognizer,
    forStation: (id) => engines.find((e) => e.stationId === id),
    close: async () => {
      await Promise.all(engines.map((e) => e.close()));
    },
  };
}
