import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HighPassFilter } from '../../../audio/dsp/highpass.ts';
import { InputGain } from '../../../audio/dsp/inputGain.ts';
import { dbfs, peak, tone } from './signals.ts';

function filtered(sampleRate: number, cutoffHz: number, hz: number): number {
  const x = tone(sampleRate, 2, hz, 0.5);
  const hp = new HighPassFilter(sampleRate, { cutoffHz });
  const y = x.slice();
  // Odd frame sizes: the state must carry across calls.
  for (let i = 0; i < y.length; i += 333) hp.process(y.subarray(i, i + 333));
  // Steady state only: the last second.
  return dbfs(y, sampleRate) - dbfs(x, sampleRate);
}

for (const sampleRate of [16000, 8000]) {
  test(`high-pass at 120 Hz cuts 50 Hz hum by >= 20 dB and passes 1 kHz within 1 dB (${sampleRate} Hz)`, (t) => {
    const hum = filtered(sampleRate, 120, 50);
    const voice = filtered(sampleRate, 120, 1000);
    t.diagnostic(`50 Hz: ${hum.toFixed(1)} dB, 1 kHz: ${voice.toFixed(2)} dB`);
    assert.ok(hum <= -20, `50 Hz changed by ${hum} dB`);
    assert.ok(Math.abs(voice) <= 1, `1 kHz changed by ${voice} dB`);
  });
}

test('high-pass is 4th-order Butterworth: -3 dB at the cutoff, 24 dB/octave below it', (t) => {
  const atCutoff = filtered(16000, 200, 200);
  const octaveBelow = filtered(16000, 200, 100);
  const twoOctaves = filtered(16000, 200, 50);
  t.diagnostic(
    `at fc ${atCutoff.toFixed(2)} dB, fc/2 ${octaveBelow.toFixed(1)} dB, fc/4 ${twoOctaves.toFixed(1)} dB`,
  );
  assert.ok(Math.abs(atCutoff + 3.01) < 0.2);
  // |H| = 1 / sqrt(1 + (fc/f)^8): -24.1 dB an octave below, -48.2 dB two octaves below.
  assert.ok(Math.abs(octaveBelow + 24.1) < 0.5);
  assert.ok(Math.abs(twoOctaves + 48.2) < 1);
});

test('high-pass removes a DC offset', () => {
  const x = new Float32Array(16000).fill(0.2);
  const hp = new HighPassFilter(16000, { cutoffHz: 60 });
  hp.process(x);
  assert.ok(peak(x, 8000) < 1e-4);
});

test('input gain: +6 dB doubles the amplitude; a mid-stream change ramps without a step', (t) => {
  const x = tone(16000, 1, 1000, 0.1);
  const g = new InputGain(16000, { gainDb: 6 });
  const y = x.slice();
  g.process(y);
  assert.ok(Math.abs(dbfs(y) - dbfs(x) - 6) < 0.01);
  const z = new Float32Array(16000).fill(0.1);
  const g2 = new InputGain(16000, { gainDb: 0 });
  g2.process(z.subarray(0, 8000));
  g2.update({ gainDb: -20 });
  g2.process(z.subarray(8000));
  let maxStep = 0;
  for (let i = 1; i < z.length; i++)
    maxStep = Math.max(maxStep, Math.abs((z[i] as number) - (z[i - 1] as number)));
  t.diagnostic(`largest sample step during a -20 dB change: ${maxStep.toExponential(2)} (level 0.1)`);
  // The 0.09 change is spread over ~5 ms (80 samples): no step above 1/50 of it.
  assert.ok(maxStep < 0.09 / 50);
  assert.ok(Math.abs((z[15999] as number) - 0.01) < 1e-6);
});
