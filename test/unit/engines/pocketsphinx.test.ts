// The real recognizer (Debian pocketsphinx, en-us model) at station 4: installed by the test runner
// when missing, and by this file's `before` when run on its own.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { defaultsForStation } from '../../../catalog/index.ts';
import { ensureSpeechAndEngines, PROMPT_DIR } from '../../../engines/debian.ts';
import { createPocketsphinx } from '../../../engines/stt/pocketsphinx.ts';
import { createSttStage, recognizeUtterance, utteranceAudio } from '../../../engines/stt/stage.ts';
import { promptWords } from '../../../engines/stt/transcripts.ts';
import { pooledWer, type WerTally } from '../../../engines/stt/wer.ts';
import { processBufferOnce } from '../../../stations/pipeline.ts';
import { impair, mulberry32, resample } from '../../../stations/sim/index.ts';
import { decodeWav } from '../../../stations/sim/speech.ts';

const SR = 16000;
const recognizer = createPocketsphinx();

before(() => ensureSpeechAndEngines(() => {}));
after(() => recognizer.close());

/**
 * Held-back prompts: the odd-indexed files of the sorted prompt list, which the simulated caller (the
 * even-indexed ones) never says, with a plain transcript of 4 to 12 words; the first `n` in order.
 */
function heldBack(n: number): { file: string; words: string[]; samples: Float32Array }[] {
  const files = readdirSync(PROMPT_DIR)
    .filter((f) => f.endsWith('.wav'))
    .sort();
  const out: { file: string; words: string[]; samples: Float32Array }[] = [];
  for (let i = 1; i < files.length && out.length < n; i += 2) {
    const words = promptWords(files[i]!);
    if (words === null || words.length < 4 || words.length > 12) continue;
    const wav = decodeWav(readFileSync(`${PROMPT_DIR}/${files[i]}`));
    if (wav === null) continue;
    out.push({ file: files[i]!, words, samples: resample(wav.samples, wav.sampleRate, SR) });
  }
  return out;
}

test('pocketsphinx: recognizes a clean prompt with per-word confidences', async () => {
  const [p] = heldBack(1);
  assert.ok(p, 'a held-back prompt');
  const r = await recognizer.recognize(p.samples, SR);
  assert.ok(r.words.length > 0, `no words for ${p.file}`);
  for (const w of r.words) {
    assert.ok(w.confidence >= 0 && w.confidence <= 1, `confidence ${w.confidence}`);
    assert.ok(w.endMs > w.startMs, `${w.word} ${w.startMs}..${w.endMs}`);
  }
  assert.ok(r.confidence !== null && r.confidence > 0);
  // Silence is no speech: nothing recognized, no confidence.
  const silence = await recognizer.recognize(new Float32Array(SR), SR);
  assert.equal(silence.words.length, 0);
  assert.equal(silence.confidence, null);
});

test('pocketsphinx at station 4: raising a too-quiet, noisy feed lowers the WER on held-back prompts', async (t) => {
  const prompts = heldBack(8);
  assert.equal(prompts.length, 8);
  const wer = async (params: Record<string, number>): Promise<number> => {
    const tallies: WerTally[] = [];
    for (const [i, p] of prompts.entries()) {
      // 56 dB below the nominal -26 dBov, over white noise 30 dB under the speech. pocketsphinx's
      // cepstral mean normalization makes its WER almost level-blind down to about -70 dBov (measured:
      // 0.74 at -26 and at -70 dBov on clean held-back prompts); below that the speech drowns in the
      // 16-bit PCM it is sent, which is what the station's input gain can fix.
      const feed = impair(
        p.samples,
        { level_db: -82, noise: { type: 'white', snr_db: 30 } },
        mulberry32(i + 1),
        {
          sampleRate: SR,
        },
      );
      const { output } = processBufferOnce(4, params, {
        stationId: 4,
        sampleRate: SR,
        samples: feed.samples,
      });
      const r = await recognizeUtterance(recognizer, output, SR, p.words);
      tallies.push(r.tally!);
    }
    return pooledWer(tallies)!;
  };
  const quiet = await wer(defaultsForStation(4));
  const raised = await wer({ ...defaultsForStation(4), input_gain_db: 20 });
  t.diagnostic(
    `WER on ${prompts.length} held-back prompts: ${quiet.toFixed(3)} as fed -> ${raised.toFixed(3)} raised 20 dB`,
  );
  assert.ok(raised < quiet - 0.1, `WER ${quiet} -> ${raised}`);
});

test('stt stage: utterances ending in a segment are cut from the call output and scored; without them the segment is the utterance', async () => {
  const [p] = heldBack(1);
  const stage = createSttStage(recognizer);
  const lead = new Float32Array(SR / 2);
  const call = new Float32Array(lead.length + p!.samples.length + SR / 2);
  call.set(
    p!.samples.map((v) => v * 0.5),
    lead.length,
  );
  const half = Math.floor(call.length / 2);
  const u = { start: lead.length, end: lead.length + p!.samples.length, words: p!.words, source: p!.file };
  const first = await stage.measure({
    callKey: 'c1',
    input: { stationId: 4, sampleRate: SR, samples: call.subarray(0, half), utterances: [] },
    output: call.subarray(0, half),
    latencySamples: 0,
  });
  assert.equal(first.metrics.stt_confidence, null, 'no utterance ended yet');
  assert.equal(first.metrics.stt_word_error_rate, null);
  const second = await stage.measure({
    callKey: 'c1',
    input: { stationId: 4, sampleRate: SR, samples: call.subarray(half), utterances: [u] },
    output: call.subarray(half),
    latencySamples: 0,
  });
  assert.equal(second.labels['stt_engine'], 'pocketsphinx');
  assert.ok(second.metrics.stt_confidence! > 0);
  // The prompt was cut from both segments' output: the same words as recognizing that cut of the call.
  const cut = utteranceAudio({ samples: call, offset: 0 }, u, 0, SR);
  assert.ok(cut.length > p!.samples.length && cut.length < call.length);
  const direct = await recognizeUtterance(recognizer, cut, SR, p!.words);
  assert.equal(second.metrics.stt_word_error_rate, direct.tally!.edits / p!.words.length);
  const live = await stage.measure({
    callKey: 'c2',
    input: { stationId: 4, sampleRate: SR, samples: call },
    output: call,
    latencySamples: 0,
  });
  assert.ok(live.metrics.stt_confidence! > 0);
  assert.equal(live.metrics.stt_word_error_rate, null, 'no transcript, no WER');
});
