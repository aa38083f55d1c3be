// The local synthesizer (issue 14): espeak-ng (Debian) speaks a text; the wall time from the request
// to the whole utterance's audio is measured, and is what station 9 reports as TTS latency (plus its
// chain's delay). espeak-ng renders an utterance in one go, so time to the whole audio is also its
// time to first audio.
import { spawnSync } from 'node:child_process';
import { decodeWav } from '../../domain/wav.ts';
import { VoiceloopError } from '../../lib/errors.ts';
import { onPath } from '../../stack/debian.ts';

export interface Synthesis {
  samples: Float32Array;
  sampleRate: number;
  /** Measured synthesis time, ms. */
  synthMs: number;
}

export const ESPEAK = 'espeak-ng';
/** espeak-ng's US English voice. */
export const ESPEAK_VOICE = 'en-us';

export function espeakAvailable(): boolean {
  return onPath(ESPEAK);
}

/** Speaks `text` with espeak-ng; throws an ENGINE error naming what failed. */
export function synthesizeSync(text: string, voice = ESPEAK_VOICE): Synthesis {
  const t0 = performance.now();
  // The text goes in as an argument, never through a shell; "--" ends the options.
  const r = spawnSync(ESPEAK, ['-v', voice, '--stdout', '--', text], { maxBuffer: 64 * 1024 * 1024 });
  const synthMs = performance.now() - t0;
  if (r.error || r.status !== 0) {
    const why = r.error?.message ?? `exit ${r.status}: ${r.stderr?.toString().trim()}`;
    throw new VoiceloopError('ENGINE', `espeak-ng could not speak "${text.slice(0, 40)}": ${why}`, {
      cause: r.error,
    });
  }
  const wav = decodeWav(r.stdout);
  if (wav === null) throw new VoiceloopError('ENGINE', 'espeak-ng wrote no 16-bit mono WAV');
  return { samples: wav.samples, sampleRate: wav.sampleRate, synthMs };
}
