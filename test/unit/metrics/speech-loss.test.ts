import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HighPassFilter } from '../../../audio/dsp/highpass.ts';
import { mulberry32, whiteNoise } from '../../../audio/metrics/random.ts';
import { speechLossDb } from '../../../audio/metrics/speechLoss.ts';
import { mixAtSnr, setRms, speechLike } from './fixtures.ts';

const RATES = [8000, 16000] as const;

function noisySpeech(fs: number, snrDb: number): { clean: Float32Array; noisy: Float32Array } {
  const clean = setRms(speechLike({ sampleRate: fs, seconds: 1, seed: 3 }), 0.05);
  return { clean, noisy: mixAtSnr(clean, whiteNoise(mulberry32(5), clean.length, 0.01), snrDb) };
}

function highPassed(x: Float32Array, fs: number, hz: number): Float32Array {
  const y = x.slice();
  new HighPassFilter(fs, { cutoffHz: hz }).process(y);
  return y;
}

test('a chain that passes the speech loses none of it, whatever its gain', () => {
  for (const fs of RATES) {
    const { noisy } = noisySpeech(fs, 20);
    assert.equal(speechLossDb(noisy, noisy, fs), 0, `identity at ${fs} Hz`);
    for (const g of [0.1, 0.5, 3]) {
      const loss = speechLossDb(
        noisy,
        noisy.map((v) => v * g),
        fs,
      );
      assert.ok(loss !== null && loss < 0.01, `gain ${g} at ${fs} Hz: ${loss}`);
    }
  }
});

test('removing the noise is not counted as speech loss; removing speech is', () => {
  for (const fs of RATES) {
    const { clean, noisy } = noisySpeech(fs, 20);
    const ideal = speechLossDb(noisy, clean, fs);
    assert.ok(ideal !== null && ideal < 0.2, `the clean speech out of noisy speech at ${fs} Hz: ${ideal}`);
    // A gate closing on every other 100 ms takes half the syllables.
    const chopped = noisy.map((v, i) => (Math.floor(i / (fs * 0.1)) % 2 === 1 ? v : v * 0.01));
    const gated = speechLossDb(noisy, chopped, fs);
    assert.ok(gated !== null && gated > 5, `half the speech gated away at ${fs} Hz: ${gated}`);
  }
});

test('a high-pass loses more speech the higher it cuts, nothing under the voice', () => {
  for (const fs of RATES) {
    const { noisy } = noisySpeech(fs, 20);
    const at = (hz: number) => speechLossDb(noisy, highPassed(noisy, fs, hz), fs) ?? Number.NaN;
    const losses = [100, 200, 300, 500].map(at);
    assert.ok(losses[0]! < 0.1, `100 Hz at ${fs} Hz: ${losses[0]}`);
    for (let i = 1; i < losses.length; i++) {
      assert.ok(losses[i]! > losses[i - 1]!, `loss rises with the cutoff at ${fs} Hz: ${losses.join(', ')}`);
    }
    assert.ok(losses[3]! > 3, `500 Hz at ${fs} Hz: ${losses[3]}`);
  }
});

test('no clear speech to judge gives null; mismatched lengths are refused', () => {
  const fs = 16000;
  const noise = whiteNoise(mulberry32(1), fs, 0.01);
  assert.equal(speechLossDb(noise, noise, fs), null, 'stationary noise holds no speech-dominated cells');
  assert.equal(speechLossDb(new Float32Array(fs), new Float32Array(fs), fs), null, 'digital silence');
  assert.equal(
    speechLossDb(new Float32Array(100), new Float32Array(100), fs),
    null,
    'shorter than two frames',
  );
  assert.throws(
    () => speechLossDb(new Float32Array(10), new Float32Array(11), fs),
    /output has 11 samples, input 10/,
  );
});

test('an output with no speech left reads the 30 dB ceiling', () => {
  const fs = 8000;
  const { noisy } = noisySpeech(fs, 20);
  assert.equal(speechLossDb(noisy, new Float32Array(noisy.length), fs), 30);
});
