// The Debian packages behind the simulator's speech and the local engines (issue 14): Asterisk's
// recorded prompts and their transcripts, the pocketsphinx recognizer with its US English model and
// Python binding, and the espeak-ng synthesizer. `npm run demo` and `npm test` install what is
// missing through the one installer (stack/debian.ts) before they need it, so a fresh machine runs
// on real speech and real engines with no step by hand.
import { commandNeed, type DebianNeed, ensureDebianPackages, pathNeed } from '../stack/debian.ts';
import type { Log } from '../stack/service.ts';

export const PROMPT_DIR = '/usr/share/asterisk/sounds/en_US_f_Allison';
/** The prompts' transcripts ("name: text" per line), shipped by the asterisk-core-sounds-en package. */
export const PROMPT_TRANSCRIPTS = '/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz';
export const POCKETSPHINX_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';
/** Debian's interpreter: python3-pocketsphinx installs into its dist-packages, not a pyenv's. */
export const DEBIAN_PYTHON = '/usr/bin/python3';
const POCKETSPHINX_PY = '/usr/lib/python3/dist-packages/pocketsphinx/__init__.py';

export const SPEECH_NEEDS: readonly DebianNeed[] = [
  pathNeed('asterisk-core-sounds-en-wav', `${PROMPT_DIR}/auth-thankyou.wav`, 'recorded speech prompts'),
  pathNeed('asterisk-core-sounds-en', PROMPT_TRANSCRIPTS, 'transcripts of the prompts, for the WER'),
];

const SYNTH_NEED = commandNeed('espeak-ng', 'espeak-ng', 'speech synthesizer');

export const ENGINE_NEEDS: readonly DebianNeed[] = [
  pathNeed('pocketsphinx-en-us', `${POCKETSPHINX_MODEL_DIR}/en-us.lm.bin`, 'speech recognizer model'),
  pathNeed('python3-pocketsphinx', POCKETSPHINX_PY, 'speech recognizer'),
  pathNeed('python3-pocketsphinx', DEBIAN_PYTHON, 'speech recognizer'),
  SYNTH_NEED,
];

/**
 * What the simulator's voices are made of: the prompts for the caller, espeak-ng speaking their
 * transcripts for the TTS voice. Without espeak-ng the TTS voice falls back to the recordings, so an
 * eval or a bench would give other figures on a machine that never ran the demo.
 */
export const SIM_SPEECH_NEEDS: readonly DebianNeed[] = [...SPEECH_NEEDS, SYNTH_NEED];

/** Installs (one apt-get call, progress line) whatever of the prompts and local engines is missing. */
export function ensureSpeechAndEngines(log: Log): Promise<void> {
  return ensureDebianPackages([...SPEECH_NEEDS, ...ENGINE_NEEDS], log);
}
