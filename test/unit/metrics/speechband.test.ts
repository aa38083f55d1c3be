import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '../../../audio/metrics/random.ts';
import { speechBandChange } from '../../../audio/metrics/speechband.ts';

const SR = 16000;

/** Voiced "speech": harmonics of 140 Hz up to 3.4 kHz, syllables at 4 Hz with pauses, over quiet noise. */
function voice(seconds: number, seed = 1): Float32Array {
  const rng = mulberry32(seed);
  const n = Math.round(seconds * SR);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / SR;
    const env = Math.max(0, Math.sin(2 * Math.PI * 4 * t)) ** 2;
    let v = 0;
    for (let h = 1; 140 * h < 3400; h++) v += Math.sin(2 * Math.PI * 140 * h * t + h) / h;
    x[i] = 0.15 * env * v + 0.0005 * (rng() - 0.5);
  }
  return x;
}

function firstOrderHighpass(x: Float32Array, hz: number, order: number): Float32Array {
  let y = x;
  const a = Math.exp((-2 * Math.PI * hz) / SR);
  for (let k = 0; k < order; k++) {
    const out = new Float32Array(y.length);
    let px = 0;
    let py = 0;
    for (let i = 0; i < y.length; i++) {
      py = a * (py + y[i]! - px);
      px = y[i]!;
      out[i] = py;
    }
    y = out;
  }
  return y;
}

test('speech band: an untouched or merely louder/quieter output has cut no speech', () => {
  const x = voice(1);
  const same = speechBandChange(x, x, SR);
  assert.ok(same.cells > 100, `cells ${same.cells}`);
  assert.equal(same.cutDb, 0);
  assert.equal(same.gainDb, 0);
  const quieter = speechBandChange(
    x,
    x.map((v) => v * 0.5),
    SR,
  );
  assert.ok(Math.abs(quieter.gainDb + 6.02) < 0.01, `gain ${quieter.gainDb}`);
  assert.ok(quieter.cutDb < 0.01, `cut ${quieter.cutDb}`);
});

test('speech band: the output lagging by the chain latency is compared with the input it came from', () => {
  const x = voice(1);
  const lag = 357;
  const y = new Float32Array(x.length);
  y.set(x.subarray(0, x.length - lag), lag);
  assert.ok(speechBandChange(x, y, SR, lag).cutDb < 0.01);
  assert.ok(speechBandChange(x, y, SR, 0).cutDb > 1, 'misaligned, it would read as distortion');
});

test('speech band: a high-pass into the voice and a gate on the syllables both read as speech cut', () => {
  const x = voice(1);
  const thin = speechBandChange(x, firstOrderHighpass(x, 1000, 4), SR);
  const mild = speechBandChange(x, firstOrderHighpass(x, 60, 2), SR);
  assert.ok(thin.cutDb > 3, `1 kHz high-pass: cut ${thin.cutDb}`);
  assert.ok(mild.cutDb < 0.5, `60 Hz high-pass: cut ${mild.cutDb}`);
  assert.ok(thin.spectralCutDb > 3, 'the shape changed');
  // A gate that closes on the quieter half of every syllable: the shape of what is left is intact.
  const gated = x.map((v, i) => (Math.sin(2 * Math.PI * 4 * (i / SR)) ** 2 < 0.5 ? 0 : v));
  const g = speechBandChange(x, gated, SR);
  assert.ok(g.cutDb > 3, `gate: cut ${g.cutDb}`);
});

test('speech band: nothing to judge in silence or a too-short segment; a bad rate is an error', () => {
  const silence = new Float32Array(SR);
  assert.deepEqual(speechBandChange(silence, silence, SR), {
    cutDb: 0,
    spectralCutDb: 0,
    gainDb: 0,
    cells: 0,
  });
  assert.equal(speechBandChange(voice(0.01), voice(0.01), SR).cells, 0);
  assert.throws(() => speechBandChange(silence, silence, 0), /sample rate must be positive: 0/);
});
