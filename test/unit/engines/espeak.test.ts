// The real synthesizer (Debian espeak-ng) behind the simulated B leg and station 9's TTS latency.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createChain } from '../../../audio/dsp/index.ts';
import { activeSpeechLevel } from '../../../audio/metrics/index.ts';
import { defaultsForStation } from '../../../catalog/index.ts';
import { ensureSpeechAndEngines } from '../../../engines/debian.ts';
import { synthesizeSync } from '../../../engines/tts/espeak.ts';
import { processBufferOnce } from '../../../stations/pipeline.ts';
import {
  bundledImpairmentsPath,
  loadImpairments,
  simulateCall,
  speechSource,
  speechSourceInfo,
} from '../../../stations/sim/index.ts';

before(() => ensureSpeechAndEngines(() => {}));

test('espeak-ng: speaks a text as 16-bit mono audio, timed; a longer text takes longer to say', () => {
  const short = synthesizeSync('Thank you.');
  const long = synthesizeSync(
    'Please enter your password followed by the pound key, then wait for the tone.',
  );
  assert.equal(short.sampleRate, 22050);
  assert.ok(short.synthMs > 0);
  assert.ok(
    long.samples.length > 2 * short.samples.length,
    `${long.samples.length} vs ${short.samples.length}`,
  );
  assert.ok(activeSpeechLevel(long.samples, long.sampleRate).levelDbov > -40, 'audible speech');
  // A text that looks like an option is spoken, not parsed.
  assert.ok(synthesizeSync('--help').samples.length > 0);
});

test('station 9: the B leg is espeak-ng speaking the prompts; TTS latency is its measured synthesis time plus the chain delay', () => {
  const tts = speechSource(3, { durationMs: 4000, voice: 'tts' });
  assert.equal(tts.source, 'espeak-ng');
  assert.ok(tts.spans.length > 0 && tts.spans.every((s) => s.synthMs! > 0));
  const call = simulateCall({
    impairments: loadImpairments(bundledImpairmentsPath('default')),
    callIndex: 0,
    seed: 3,
    segments: 3,
  });
  let seen = 0;
  for (const seg of call.segments) {
    const input = seg.inputs.get(9)!;
    const t = input.stage?.ttsLatencyMs;
    if (t === undefined) continue;
    seen++;
    const m = processBufferOnce(9, defaultsForStation(9), input).metrics;
    const chainMs =
      (1000 * createChain(9, {}, { sampleRate: input.sampleRate }).latencySamples) / input.sampleRate;
    assert.ok(Math.abs(m.tts_latency_ms! - (t + chainMs)) < 1e-9, `${m.tts_latency_ms} vs ${t} + ${chainMs}`);
  }
  assert.ok(seen >= 2, `segments with TTS speech: ${seen}`);
});

test('speech source info: the installed prompts with espeak-ng as the TTS voice; synthetic where a folder holds none', () => {
  // What the eval's JSON records beside its figures (eval/run.ts), so a run on the fallback is visible.
  const here = speechSourceInfo();
  assert.equal(here.source, 'prompts');
  assert.ok(here.prompts > 100, `${here.prompts} prompts`);
  assert.equal(here.tts_voice, 'espeak-ng');
  const none = speechSourceInfo('/nonexistent/prompts');
  assert.deepEqual(none, {
    source: 'synthetic',
    dir: '/nonexistent/prompts',
    prompts: 0,
    tts_voice: 'recordings',
  });
});
