import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Downsampler, Upsampler } from '../../../audio/dsp/resampler.ts';
import { RnnoiseSuppressor } from '../../../audio/dsp/rnnoise.ts';
import { loadRnnoiseWasm } from '../../../audio/dsp/rnnoiseWasm.ts';
import { add, dbToLin, delay, delayMask, maskedDbfs, speechLike, tone, whiteNoise } from './signals.ts';

function run(block: RnnoiseSuppressor, x: Float32Array, frame = 160): Float32Array {
  const y = x.slice();
  for (let i = 0; i < y.length; i += frame) block.process(y.subarray(i, i + frame));
  return y;
}

test('resampler: a 16 -> 48 -> 16 kHz round trip of an in-band tone is the tone delayed by 2 x 16 samples', () => {
  const sr = 16000;
  const x = tone(sr, 1, 1000, 0.5);
  const up = new Upsampler(3);
  const down = new Downsampler(3);
  const x64 = Float64Array.from(x);
  const hi = new Float64Array(3 * x.length);
  up.process(x64, x64.length, hi);
  const back = new Float64Array(x.length);
  assert.equal(down.process(hi, hi.length, back), x.length);
  const d = up.delay + down.delay;
  let err = 0;
  for (let i = 1000; i < x.length; i++)
    err = Math.max(err, Math.abs((back[i] as number) - (x[i - d] as number)));
  assert.ok(err < 1e-3, `max error ${err}`);
});

test('resampler: the output does not depend on how the input is cut into calls (ragged blocks against one call)', () => {
  const x = Float64Array.from(tone(16000, 0.5, 1234, 0.5), (v, i) => v + 0.1 * Math.sin(i * 0.37));
  const whole = { hi: new Float64Array(3 * x.length), lo: new Float64Array(x.length) };
  new Upsampler(3).process(x, x.length, whole.hi);
  assert.equal(new Downsampler(3).process(whole.hi, whole.hi.length, whole.lo), x.length);
  const up = new Upsampler(3);
  const down = new Downsampler(3);
  const hi = new Float64Array(3 * x.length);
  const lo = new Float64Array(x.length);
  const sizes = [7, 100, 1, 333, 160];
  for (let at = 0, k = 0; at < x.length; k++) {
    const n = Math.min(sizes[k % sizes.length] as number, x.length - at);
    up.process(x.subarray(at), n, hi.subarray(3 * at));
    at += n;
  }
  // Downsampler calls that start off the low-rate grid (sizes not multiples of 3).
  let got = 0;
  for (let at = 0, k = 0; at < hi.length; k++) {
    const n = Math.min((sizes[k % sizes.length] as number) + 2, hi.length - at);
    got += down.process(hi.subarray(at), n, lo.subarray(got));
    at += n;
  }
  assert.equal(got, x.length);
  assert.deepEqual(hi, whole.hi);
  assert.deepEqual(lo, whole.lo);
});

test('resampler: upsampling leaves no image of a 3 kHz tone above the old Nyquist (8 kHz)', () => {
  const x = Float64Array.from(tone(16000, 1, 3000, 0.5));
  const hi = new Float64Array(3 * x.length);
  new Upsampler(3).process(x, x.length, hi);
  // Goertzel-free check: the 13 kHz image (16 - 3) at 48 kHz, by correlation with its sinusoid.
  let re = 0;
  let im = 0;
  let pow = 0;
  for (let i = 4800; i < hi.length; i++) {
    const w = (2 * Math.PI * 13000 * i) / 48000;
    re += (hi[i] as number) * Math.cos(w);
    im += (hi[i] as number) * Math.sin(w);
    pow += (hi[i] as number) ** 2;
  }
  const n = hi.length - 4800;
  const image = (2 * Math.hypot(re, im)) / n;
  const rms = Math.sqrt(pow / n);
  assert.ok(
    20 * Math.log10(image / (rms * Math.SQRT2)) < -60,
    `image at ${20 * Math.log10(image / (rms * Math.SQRT2))} dB`,
  );
});

for (const sampleRate of [16000, 8000]) {
  test(`RNNoise block removes white noise between words and keeps the speech (${sampleRate} Hz)`, (t) => {
    const seconds = 8;
    const { signal: clean, active } = speechLike(sampleRate, seconds, -26, 7);
    const x = add(clean, whiteNoise(sampleRate, seconds, dbToLin(-41), 11));
    const block = new RnnoiseSuppressor(sampleRate, { enabled: true, attenuationLimitDb: 60 });
    const y = run(block, x);
    const lat = block.latency;
    const speech = delayMask(active, lat);
    const pause = delayMask(
      Uint8Array.from(active, (a) => 1 - a),
      lat,
    );
    const from = 2 * sampleRate;
    const noiseIn = maskedDbfs(delay(x, lat), pause, from);
    const noiseOut = maskedDbfs(y, pause, from);
    const speechIn = maskedDbfs(delay(clean, lat), speech, from);
    const speechOut = maskedDbfs(y, speech, from);
    t.diagnostic(
      `latency ${lat} samples; pauses ${noiseIn.toFixed(1)} -> ${noiseOut.toFixed(1)} dBFS; speech ${speechIn.toFixed(1)} -> ${speechOut.toFixed(1)} dBFS`,
    );
    assert.ok(noiseIn - noiseOut > 10, `pause noise ${noiseIn} -> ${noiseOut}`);
    assert.ok(Math.abs(speechOut - speechIn) < 4, `speech ${speechIn} -> ${speechOut}`);
  });
}

test('RNNoise block: its stated latency is the delay of the speech through it (cross-correlation peak at lag 0)', () => {
  const sr = 16000;
  const { signal: clean } = speechLike(sr, 4, -26, 4);
  const x = add(clean, whiteNoise(sr, 4, dbToLin(-60), 4));
  const block = new RnnoiseSuppressor(sr, { enabled: true, attenuationLimitDb: 60 });
  const y = run(block, x);
  const ref = delay(clean, block.latency);
  const corr = (lag: number): number => {
    let s = 0;
    for (let i = sr + 50; i < y.length - 50; i++) s += (y[i] as number) * (ref[i - lag] as number);
    return s;
  };
  let best = 0;
  for (let lag = -40; lag <= 40; lag++) if (corr(lag) > corr(best)) best = lag;
  assert.equal(best, 0);
});

test('RNNoise block: the attenuation limit caps how far the noise goes down; disabled is a pure delay of the same length', () => {
  const sr = 16000;
  const x = whiteNoise(sr, 4, dbToLin(-40), 3);
  const pauseDrop = (limit: number): number => {
    const block = new RnnoiseSuppressor(sr, { enabled: true, attenuationLimitDb: limit });
    const y = run(block, x);
    const all = new Uint8Array(x.length).fill(1);
    return maskedDbfs(delay(x, block.latency), all, sr) - maskedDbfs(y, all, sr);
  };
  const six = pauseDrop(6);
  const forty = pauseDrop(40);
  assert.ok(six > 3 && six <= 6.2, `6 dB limit removed ${six} dB`);
  assert.ok(forty > six + 6, `40 dB limit removed ${forty} dB`);
  const off = new RnnoiseSuppressor(sr, { enabled: false, attenuationLimitDb: 40 });
  const y = run(off, x);
  for (let i = off.latency; i < x.length; i++)
    assert.ok(Math.abs((y[i] as number) - (x[i - off.latency] as number)) < 1e-7);
});

test('RNNoise block: output does not depend on how the stream is cut into frames; reset starts a call afresh', () => {
  const sr = 16000;
  const { signal } = speechLike(sr, 3, -26, 2);
  const x = add(signal, whiteNoise(sr, 3, dbToLin(-45), 2));
  const outs = [1, 160, 441, 4000].map((f) =>
    run(new RnnoiseSuppressor(sr, { enabled: true, attenuationLimitDb: 30 }), x, f),
  );
  for (const y of outs.slice(1)) assert.deepEqual(y, outs[0]);
  const block = new RnnoiseSuppressor(sr, { enabled: true, attenuationLimitDb: 30 });
  run(block, whiteNoise(sr, 1, 0.1, 9));
  block.reset();
  assert.deepEqual(run(block, x), outs[0]);
});

test('RNNoise block: a station rate that does not divide 48 kHz is refused with the reason', () => {
  assert.throws(() => new RnnoiseSuppressor(44100, { enabled: true, attenuationLimitDb: 30 }), /48 kHz/);
});

test('RNNoise wasm: the heap grows when states outgrow it, and frames give the same output and VAD before and after', () => {
  const w = loadRnnoiseWasm();
  const { signal } = speechLike(48000, 0.5, -26, 5);
  const x = add(signal, whiteNoise(48000, 0.5, dbToLin(-50), 5));
  const buf = w.malloc(480 * 4);
  const frames = (state: number): { out: Float32Array; vad: number[] } => {
    const out = new Float32Array(x.length);
    const vad: number[] = [];
    for (let f = 0; f + 480 <= x.length; f += 480) {
      w.heap().set(
        x.subarray(f, f + 480).map((v) => v * 32768),
        buf >> 2,
      );
      vad.push(w.processFrame(state, buf, buf));
      out.set(w.heap().subarray(buf >> 2, (buf >> 2) + 480), f);
    }
    return { out, vad };
  };
  const before = frames(w.create());
  const bytes = w.heap().byteLength;
  const states: number[] = [];
  while (w.heap().byteLength === bytes && states.length < 5000) states.push(w.create());
  assert.ok(w.heap().byteLength > bytes, `heap still ${bytes} bytes after ${states.length} states`);
  assert.ok(states.every((s) => s !== 0) && states.length > 100, `${states.length} states before growth`);
  assert.deepEqual(frames(w.create()), before);
  assert.ok(before.vad.every((v) => v >= 0 && v <= 1) && Math.max(...before.vad) > 0.5, `VAD ${before.vad}`);
  let energy = 0;
  for (const v of before.out) energy += v * v;
  assert.ok(energy > 0, 'the network passed the speech through');
  for (const s of states) w.destroy(s);
});

test('RNNoise block: its output is unchanged when the wasm heap grows mid-stream (hundreds of other blocks)', () => {
  const sr = 16000;
  const { signal } = speechLike(sr, 2, -26, 6);
  const x = add(signal, whiteNoise(sr, 2, dbToLin(-45), 6));
  const whole = run(new RnnoiseSuppressor(sr, { enabled: true, attenuationLimitDb: 30 }), x);
  const block = new RnnoiseSuppressor(sr, { enabled: true, attenuationLimitDb: 30 });
  const y = x.slice();
  const half = sr;
  for (let i = 0; i < half; i += 160) block.process(y.subarray(i, i + 160));
  // ~19 kB of wasm memory each: 1000 of them outgrow the 16 MB the module starts with.
  const others = Array.from(
    { length: 1000 },
    () => new RnnoiseSuppressor(sr, { enabled: true, attenuationLimitDb: 30 }),
  );
  for (const o of others) o.process(new Float32Array(160));
  for (let i = half; i < y.length; i += 160) block.process(y.subarray(i, i + 160));
  assert.deepEqual(y, whole);
});
