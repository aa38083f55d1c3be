import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Agc } from '../../../audio/dsp/agc.ts';
import { Compressor, compressorCurve } from '../../../audio/dsp/compressor.ts';
import { Limiter } from '../../../audio/dsp/limiter.ts';
import { NoiseGate } from '../../../audio/dsp/noiseGate.ts';
import { add, dbfs, dbToLin, maskedDbfs, peak, scale, speechLike, tone, whiteNoise } from './signals.ts';

function run(block: { process(b: Float32Array): void }, x: Float32Array, frame = 160): Float32Array {
  const y = x.slice();
  for (let i = 0; i < y.length; i += frame) block.process(y.subarray(i, i + frame));
  return y;
}

for (const sampleRate of [16000, 8000]) {
  test(`AGC brings -40 dBFS speech-like input to within 1 dB of its -26 dBFS target (${sampleRate} Hz)`, (t) => {
    const { signal, active } = speechLike(sampleRate, 12, -40, 3);
    const x = add(signal, whiteNoise(sampleRate, 12, dbToLin(-70), 5));
    const agc = new Agc(sampleRate, { targetDbfs: -26, maxGainDb: 20 });
    const y = run(agc, x);
    // After convergence (+14 dB at 10 dB/s): the last 6 s.
    const out = maskedDbfs(y, active, 6 * sampleRate);
    t.diagnostic(
      `active speech ${maskedDbfs(x, active).toFixed(1)} dBFS in -> ${out.toFixed(2)} dBFS out, gain ${agc.currentGainDb().toFixed(1)} dB`,
    );
    assert.ok(Math.abs(out + 26) <= 1, `output ${out} dBFS`);
  });
}

test('AGC turns a hot talker down to the target and respects max gain for a faint one', (t) => {
  const sr = 16000;
  const hot = speechLike(sr, 12, -14, 4);
  const yHot = run(new Agc(sr, { targetDbfs: -26, maxGainDb: 20 }), hot.signal);
  const faint = speechLike(sr, 12, -55, 4);
  const agc = new Agc(sr, { targetDbfs: -26, maxGainDb: 10 });
  const yFaint = run(agc, faint.signal);
  const hotOut = maskedDbfs(yHot, hot.active, 6 * sr);
  const faintOut = maskedDbfs(yFaint, faint.active, 6 * sr);
  t.diagnostic(
    `-14 dBFS -> ${hotOut.toFixed(2)} dBFS; -55 dBFS with max gain 10 dB -> ${faintOut.toFixed(2)} dBFS`,
  );
  assert.ok(Math.abs(hotOut + 26) <= 1);
  assert.ok(Math.abs(faintOut + 45) <= 0.5);
  assert.equal(agc.currentGainDb(), 10);
});

test('AGC freezes its gain in pauses instead of pumping the noise floor up', (t) => {
  const sr = 16000;
  const { signal, active } = speechLike(sr, 6, -30, 8);
  // 6 s of speech, then 6 s of line noise only.
  const x = new Float32Array(12 * sr);
  x.set(signal);
  const noise = whiteNoise(sr, 12, dbToLin(-60), 9);
  const y = run(new Agc(sr, { targetDbfs: -26, maxGainDb: 30 }), add(x, noise));
  const before = maskedDbfs(y, active, 4 * sr, 6 * sr, 0);
  const after = dbfs(y, 11 * sr, 12 * sr);
  t.diagnostic(
    `noise in pauses during speech ${before.toFixed(1)} dBFS, after 5 s of noise only ${after.toFixed(1)} dBFS`,
  );
  assert.ok(after - before < 1, 'the gain rose during silence');
});

test('noise gate attenuates sub-threshold noise by its range and passes speech-level signal', (t) => {
  const sr = 16000;
  const noise = whiteNoise(sr, 1, dbToLin(-60), 1);
  const yNoise = run(new NoiseGate(sr, { thresholdDbfs: -50 }), noise);
  const cut = dbfs(noise, sr / 2) - dbfs(yNoise, sr / 2);
  const loud = tone(sr, 1, 300, dbToLin(-20) * Math.SQRT2);
  const yLoud = run(new NoiseGate(sr, { thresholdDbfs: -50 }), loud);
  const pass = dbfs(yLoud, sr / 10) - dbfs(loud, sr / 10);
  t.diagnostic(
    `-60 dBFS noise attenuated by ${cut.toFixed(1)} dB; -20 dBFS tone changed by ${pass.toFixed(3)} dB`,
  );
  assert.ok(cut >= 30, `noise cut only ${cut} dB`);
  assert.ok(Math.abs(pass) < 0.05);
});

test('noise gate opens within ~2 ms of an onset and holds over a short dip', () => {
  const sr = 16000;
  const x = new Float32Array(sr);
  // Tone bursts at -20 dBFS with a 20 ms gap (shorter than the 50 ms hold) in the middle.
  const burst = tone(sr, 0.3, 500, 0.14);
  x.set(burst, 1600);
  x.set(burst.subarray(0, 2400), 1600 + burst.length + 320);
  const gate = new NoiseGate(sr, { thresholdDbfs: -40 });
  const y = run(gate, x, 64);
  // 5 ms after onset the burst is through at (almost) full level.
  const onset = 1600 + 80;
  assert.ok(Math.abs((y[onset] as number) - (x[onset] as number)) < 0.01);
  // Right after the gap the gate is still open: no re-attack needed.
  const after = 1600 + burst.length + 320 + 8;
  assert.ok(Math.abs((y[after] as number) - (x[after] as number)) < 0.005);
});

test('compressor: 24 dB of input dynamic range becomes 13.5 dB at threshold -20 dBFS, ratio 4', (t) => {
  const sr = 16000;
  const seg = (lvl: number) => tone(sr, 1, 1000, Math.SQRT2 * dbToLin(lvl));
  const parts = [seg(-30), seg(-6), seg(-30), seg(-6)];
  const x = new Float32Array(4 * sr);
  for (const [i, p] of parts.entries()) x.set(p, i * sr);
  const y = run(new Compressor(sr, { thresholdDbfs: -20, ratio: 4 }), x);
  // Steady state: the last 200 ms of each segment.
  const quiet = dbfs(y, 2.8 * sr, 3 * sr);
  const loud = dbfs(y, 3.8 * sr, 4 * sr);
  t.diagnostic(
    `quiet -30 -> ${quiet.toFixed(2)} dBFS, loud -6 -> ${loud.toFixed(2)} dBFS (expected -16.5): range 24 -> ${(loud - quiet).toFixed(2)} dB`,
  );
  assert.ok(Math.abs(quiet + 30) < 0.1);
  assert.ok(Math.abs(loud + 16.5) < 0.25);
  assert.ok(Math.abs(loud - quiet - 13.5) < 0.3);
});

test('compressor on speech-like audio: phrases 24 dB apart end up as far apart as the static curve says', (t) => {
  const sr = 16000;
  // The same talker alternating every 2 s between -36 and -12 dBFS (active-speech RMS).
  const quiet = speechLike(sr, 12, -36, 21);
  const loud = speechLike(sr, 12, -12, 21);
  const x = new Float32Array(12 * sr);
  const isLoud = (i: number) => Math.floor(i / (2 * sr)) % 2 === 1;
  for (let i = 0; i < x.length; i++) x[i] = (isLoud(i) ? loud : quiet).signal[i] as number;
  const mask = (wantLoud: boolean) => quiet.active.map((a, i) => (a && isLoud(i) === wantLoud ? 1 : 0));
  const y = run(new Compressor(sr, { thresholdDbfs: -30, ratio: 4 }), x);
  const unity = run(new Compressor(sr, { thresholdDbfs: -30, ratio: 1 }), x);
  const inRange = maskedDbfs(x, mask(true)) - maskedDbfs(x, mask(false));
  const loudOut = maskedDbfs(y, mask(true));
  const quietOut = maskedDbfs(y, mask(false));
  const expectedLoud = compressorCurve(-12, -30, 4);
  t.diagnostic(
    `quiet -36 -> ${quietOut.toFixed(1)} dBFS, loud -12 -> ${loudOut.toFixed(1)} dBFS (static curve ${expectedLoud}): ` +
      `range ${inRange.toFixed(1)} -> ${(loudOut - quietOut).toFixed(1)} dB`,
  );
  assert.ok(Math.abs(loudOut - expectedLoud) < 1);
  // Below the knee the quiet phrases are left alone, give or take release after the loud ones.
  assert.ok(Math.abs(quietOut + 36) < 1);
  assert.ok(loudOut - quietOut < 12.5);
  assert.deepEqual(unity, x);
  // The static curve: soft knee continuous at both edges.
  assert.ok(Math.abs(compressorCurve(-23, -20, 4) + 23) < 1e-12);
  assert.ok(Math.abs(compressorCurve(-17, -20, 4) - (-20 + 3 / 4)) < 1e-12);
});

test('limiter never exceeds its ceiling, for any ceiling, on a signal 16 dB over full scale', (t) => {
  const sr = 16000;
  const { signal } = speechLike(sr, 8, -10, 9);
  const x = add(scale(signal, 3), whiteNoise(sr, 8, 0.3, 2));
  for (const ceilingDbfs of [-0.1, -1, -3, -6]) {
    const lim = new Limiter(sr, { ceilingDbfs });
    const y = run(lim, x, 97);
    const c = 10 ** (ceilingDbfs / 20);
    t.diagnostic(
      `ceiling ${ceilingDbfs} dBFS: input peak ${(20 * Math.log10(peak(x))).toFixed(1)} dBFS, output peak ${(20 * Math.log10(peak(y))).toFixed(4)} dBFS`,
    );
    assert.ok(peak(y) <= c, `peak ${peak(y)} above ${c}`);
    // And it limits rather than mutes: the output reaches the ceiling.
    assert.ok(peak(y) > 0.98 * c);
  }
});

test('limiter is a pure delay for signals under the ceiling', () => {
  const sr = 16000;
  const x = tone(sr, 0.5, 440, 0.5);
  const lim = new Limiter(sr, { ceilingDbfs: -1 });
  const y = run(lim, x, 50);
  for (let i = lim.latency; i < x.length; i++) assert.equal(y[i], x[i - lim.latency]);
});

test('limiter: lowering the ceiling mid-stream holds the new ceiling at once', () => {
  const sr = 16000;
  const x = tone(sr, 1, 200, 0.95);
  const lim = new Limiter(sr, { ceilingDbfs: -0.1 });
  const y = x.slice();
  lim.process(y.subarray(0, 8000));
  lim.update({ ceilingDbfs: -6 });
  lim.process(y.subarray(8000));
  assert.ok(peak(y, 8000) <= 10 ** (-6 / 20));
});
