import assert from 'node:assert/strict';
import test from 'node:test';
import { normalizeHypothesis, normalizeTranscript } from '../../../engines/stt/transcripts.ts';
import { pooledWer, tally, wordEdits } from '../../../engines/stt/wer.ts';

test('wer: word edit distance counts substitutions, deletions and insertions', () => {
  const ref = ['please', 'enter', 'your', 'password'];
  assert.equal(wordEdits(ref, ref), 0);
  assert.equal(wordEdits(ref, ['please', 'enter', 'our', 'password']), 1);
  assert.equal(wordEdits(ref, ['please', 'your', 'password']), 1);
  assert.equal(wordEdits(ref, ['please', 'please', 'enter', 'your', 'password', 'now']), 2);
  assert.equal(wordEdits(ref, []), 4);
  // Words, not characters: "password" vs "passwords" is one substitution.
  assert.equal(wordEdits(['password'], ['passwords']), 1);
});

test('wer: pooled over utterances by reference words, null without a reference', () => {
  assert.equal(
    pooledWer([tally(['a', 'b'], ['a']), tally(['c', 'd', 'e', 'f'], ['c', 'd', 'e', 'f', 'g'])]),
    2 / 6,
  );
  assert.equal(pooledWer([]), null);
});

test('transcripts: normalized to the words a recognizer spells; sound descriptions and long numbers left out', () => {
  assert.deepEqual(normalizeTranscript('Please press 1 to mute, or # to exit.'), [
    'please',
    'press',
    'one',
    'to',
    'mute',
    'or',
    'pound',
    'to',
    'exit',
  ]);
  assert.deepEqual(normalizeTranscript("That agent's Call-Forward..."), [
    'that',
    "agent's",
    'call',
    'forward',
  ]);
  assert.equal(normalizeTranscript('[ascending tones]'), null);
  assert.equal(normalizeTranscript('Press 162 now'), null);
  assert.deepEqual(normalizeHypothesis('press one(2) to'), ['press', 'one', 'to']);
});
