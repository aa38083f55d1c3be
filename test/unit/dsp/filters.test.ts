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

test('high-pass cutoff is hot: 60 -> 200 Hz mid-stream cuts 50 Hz hum by >= 30 dB more, without a click', (t) => {
  const sr = 16000;
  // Hum plus a voice-band tone; the tone's sample-to-sample curvature is what a click would stand out of.
  const x = new Float32Array(2 * sr);
  for (let i = 0; i < x.length; i++) {
    x[i] = 0.1 * Math.sin((2 * Math.PI * 50 * i) / sr) + 0.05 * Math.sin((2 * Math.PI * 1000 * i) / sr + 0.3);
  }
  const hp = new HighPassFilter(sr, { cutoffHz: 60 });
  const y = x.slice();
  const at = sr + 37;
  // 20 ms frames, the change between two of them as the chain makes it (not on a frame boundary of the
  // signal's period, and mid-frame of the filter's ramp).
  for (let i = 0; i < at; i += 320) hp.process(y.subarray(i, Math.min(at, i + 320)));
  hp.update({ cutoffHz: 200 });
  assert.equal(hp.cutoffHz(), 200);
  for (let i = at; i < y.length; i += 320) hp.process(y.subarray(i, Math.min(y.length, i + 320)));
  // 50 Hz content (Goertzel over whole periods) before the change and from 100 ms after it.
  const hum = (from: number, n: number) => {
    const w = (2 * Math.PI * 50) / sr;
    let re = 0;
    let im = 0;
    for (let i = from; i < from + n; i++) {
      re += (y[i] as number) * Math.cos(w * i);
      im += (y[i] as number) * Math.sin(w * i);
    }
    return 20 * Math.log10((2 * Math.hypot(re, im)) / n / 0.1);
  };
  const before = hum(sr - 8000, 8000);
  const after = hum(at + 1600, 8000);
  // Discontinuity: the largest second difference |y[n] - 2y[n-1] + y[n-2]| in the 100 ms after the change
  // against the same over the 100 ms before it (a step or a kink would multiply it).
  const curvature = (from: number, to: number) => {
    let m = 0;
    for (let i = from; i < to; i++)
      m = Math.max(m, Math.abs((y[i] as number) - 2 * (y[i - 1] as number) + (y[i - 2] as number)));
    return m;
  };
  const spike = curvature(at, at + 1600) / curvature(at - 1600, at);
  let peakBefore = 0;
  let peakAfter = 0;
  for (let i = at - 1600; i < at; i++) peakBefore = Math.max(peakBefore, Math.abs(y[i] as number));
  for (let i = at; i < at + 1600; i++) peakAfter = Math.max(peakAfter, Math.abs(y[i] as number));
  t.diagnostic(
    `50 Hz hum re input: ${before.toFixed(1)} dB at 60 Hz, ${after.toFixed(1)} dB after the change to 200 Hz; ` +
      `largest second difference after/before the change ${spike.toFixed(3)}, peak ${peakBefore.toFixed(4)} -> ${peakAfter.toFixed(4)}`,
  );
  assert.ok(after <= before - 30, `hum only ${before - after} dB lower`);
  // Stated bound: no sample-to-sample curvature more than 5% above the steady signal's, no overshoot.
  assert.ok(spike <= 1.05, `discontinuity: second difference x${spike}`);
  assert.ok(peakAfter <= peakBefore * 1.001, 'overshoot after the change');
});

test('high-pass: a cutoff change keeps the state (no reset) and is frame-size independent', () => {
  const sr = 8000;
  const x = tone(sr, 1, 50, 0.2);
  const c = 4030;
  const run = (frame: number, resetAtChange = false) => {
    const hp = new HighPassFilter(sr, { cutoffHz: 40 });
    const y = x.slice();
    for (let i = 0; i < y.length; i += frame) {
      if (i <= c && c < i + frame) {
        hp.process(y.subarray(i, c));
        hp.update({ cutoffHz: 120 });
        if (resetAtChange) hp.reset();
        hp.process(y.subarray(c, i + frame));
      } else hp.process(y.subarray(i, i + frame));
    }
    return y;
  };
  const a = run(80);
  assert.deepEqual(run(333), a);
  // The state carries over: the waveform continues through the change (largest steady step of the
  // 50 Hz output is ~7e-3), where restarting the filter from a cleared state jumps.
  const jump = (y: Float32Array) => Math.abs((y[c] as number) - (y[c - 1] as number));
  assert.ok(jump(a) < 0.01, `step ${jump(a)} at the change`);
  assert.ok(jump(run(80, true)) > 0.05, 'the reference reset must jump');
  // A reset clears the state and any glide in progress: same as a fresh filter at the new cutoff.
  const hp = new HighPassFilter(sr, { cutoffHz: 40 });
  hp.process(x.slice());
  hp.update({ cutoffHz: 120 });
  hp.reset();
  const fresh = new HighPassFilter(sr, { cutoffHz: 120 });
  const y1 = x.slice();
  const y2 = x.slice();
  hp.process(y1);
  fresh.process(y2);
  assert.deepEqual(y1, y2);
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
