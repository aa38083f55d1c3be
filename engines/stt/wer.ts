// Word error rate (substitutions + deletions + insertions over reference words) by Levenshtein
// distance over words: each distinct word becomes one character, so fastest-levenshtein's string
// distance is the word edit distance.
import { distance } from 'fastest-levenshtein';

// Private-use code points: never in the text, one UTF-16 unit each (6,400 distinct words per pair).
const BASE = 0xe000;
const MAX_VOCAB = 0xf8ff - BASE + 1;

export function wordEdits(reference: readonly string[], hypothesis: readonly string[]): number {
  const codes = new Map<string, string>();
  const enc = (words: readonly string[]) =>
    words
      .map((w) => {
        let c = codes.get(w);
        if (c === undefined) {
          if (codes.size >= MAX_VOCAB) throw new RangeError(`more than ${MAX_VOCAB} distinct words`);
          c = String.fromCharCode(BASE + codes.size);
          codes.set(w, c);
        }
        return c;
      })
      .join('');
  return distance(enc(reference), enc(hypothesis));
}

export interface WerTally {
  edits: number;
  referenceWords: number;
}

/** Pooled WER over utterances: total edits over total reference words (null with no reference). */
export function pooledWer(tallies: readonly WerTally[]): number | null {
  const ref = tallies.reduce((a, t) => a + t.referenceWords, 0);
  return ref === 0 ? null : tallies.reduce((a, t) => a + t.edits, 0) / ref;
}

export function tally(reference: readonly string[], hypothesis: readonly string[]): WerTally {
  return { edits: wordEdits(reference, hypothesis), referenceWords: reference.length };
}
