import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resample } from '../../../audio/dsp/resampler.ts';
import { speechActivity, vadDecisions } from '../../../audio/metrics/vad.ts';
import { sine, speechBursts } from './fixtures.ts';

const PATTERN: readonly (readonly [number, number])[] = [
  [1.5, 1],
  [2, 2.5],
  [1, 1.5],
  [2.5, 1],
  [1, 2],
];

function knownFraction(fs: number) {
  const b = speechBursts(fs, PATTERN, 21);
  return { signal: b.signal, fraction: b.activeSamples / b.signal.length };
}

test('VAD activity is within 0.10 of the known speech fraction, at 16 and 8 kHz', () => {
  for (const fs of [16000, 8000]) {
    const { signal, fraction } = knownFraction(fs);
    const activity = speechActivity(signal, fs);
    assert.ok(Math.abs(activity - fraction) <= 0.1, `${fs} Hz: activity ${activity} vs known ${fraction}`);
  }
});

test('rates libfvad lacks are resampled and give the same answer', () => {
  for (const fs of [22050, 11025, 44100]) {
    const { signal, fraction } = knownFraction(fs);
    const activity = speechActivity(signal, fs);
    assert.ok(Math.abs(activity - fraction) <= 0.1, `${fs} Hz: activity ${activity} vs known ${fraction}`);
  }
});

test('VAD: one decision per 10 ms frame, silence is never speech, short input is 0', () => {
  assert.equal(vadDecisions(new Float32Array(16000), 16000).length, 100);
  assert.equal(speechActivity(new Float32Array(16000), 16000), 0);
  assert.equal(speechActivity(new Float32Array(100), 16000), 0);
  // Deterministic across calls: the VAD is reset for every segment.
  const { signal } = knownFraction(16000);
  assert.deepEqual(vadDecisions(signal, 16000), vadDecisions(signal, 16000));
});

test('the resampler keeps a passband tone and removes what would alias', () => {
  const rms = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
  const kept = resample(sine(44100, 1, 1000, 0.5), 44100, 8000);
  assert.ok(Math.abs(rms(kept.subarray(100, -100)) - 0.5 / Math.SQRT2) < 0.01);
  const removed = resample(sine(44100, 1, 6000, 0.5), 44100, 8000);
  assert.ok(rms(removed.subarray(100, -100)) < 0.01);
});
