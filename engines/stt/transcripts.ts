// What each Asterisk prompt says: the asterisk-core-sounds-en package ships the texts as
// core-sounds-en.txt ("name: text" per line, name = the prompt's path without .wav). Normalized to
// the words a recognizer's dictionary spells, for the word error rate.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { PROMPT_TRANSCRIPTS } from '../debian.ts';

const DIGITS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

/**
 * The words of a transcript as a recognizer would spell them: lower case, '#' and '*' as the words a
 * caller hears, single digits spelled out. Null when the text is not plain speech: a bracketed sound
 * description ("[ascending tones]") or a number of several digits, whose spoken form is ambiguous.
 */
export function normalizeTranscript(text: string): string[] | null {
  if (/\[|\]/.test(text) || /\d\d/.test(text)) return null;
  const spoken = text
    .toLowerCase()
    .replace(/#/g, ' pound ')
    .replace(/\*/g, ' star ')
    .replace(/\d/g, (d) => ` ${DIGITS[Number(d)]} `)
    .replace(/[^a-z' ]+/g, ' ');
  const words = spoken
    .split(/\s+/)
    .map((w) => w.replace(/^'+|'+$/g, ''))
    .filter(Boolean);
  return words.length > 0 ? words : null;
}

/** Words of a recognizer's hypothesis, on the same footing as normalizeTranscript's. */
export function normalizeHypothesis(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z' ]+/g, ' ')
    .split(/\s+/)
    .filter(Boolean);
}

let cache: { path: string; map: ReadonlyMap<string, string> } | undefined;

/** Prompt name (e.g. "agent-pass", "digits/5") -> its text; empty when the file is missing. */
export function promptTranscripts(path = PROMPT_TRANSCRIPTS): ReadonlyMap<string, string> {
  if (cache?.path === path) return cache.map;
  const map = new Map<string, string>();
  try {
    const raw = readFileSync(path);
    const text = (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
    for (const line of text.split('\n')) {
      const m = /^([^;:\s][^:]*):\s*(.+)$/.exec(line.trim());
      if (m) map.set(m[1]!.trim(), m[2]!.trim());
    }
  } catch {
    // No transcripts: no WER, the recognizer's confidence is still reported.
  }
  cache = { path, map };
  return map;
}

/** The normalized words of a prompt file ("dir/name.wav"), or null if it has no usable transcript. */
export function promptWords(file: string, path = PROMPT_TRANSCRIPTS): string[] | null {
  const text = promptTranscripts(path).get(file.replace(/\.wav$/, ''));
  return text === undefined ? null : normalizeTranscript(text);
}
