import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clippedRatio, Declipper } from '../../../audio/dsp/declipper.ts';
import { muLaw } from '../../../stations/sim/network.ts';
import { speechLike } from './signals.ts';

const SR = 16000;

const clip = (x: Float32Array, level = 1) => x.map((v) => Math.max(-level, Math.min(level, v)));

/** `x` through a fresh declipper in `chunk`-sample calls, its delay flushed and cut off. */
function declip(
  x: Float32Array,
  sampleRate = SR,
  chunk = 320,
  block = new Declipper(sampleRate),
): Float32Array {
  const buf = new Float32Array(x.length + block.latency);
  buf.set(x);
  for (let at = 0; at < buf.length; at += chunk) block.process(buf.subarray(at, at + chunk));
  return buf.slice(block.latency);
}

function sqErr(y: Float32Array, x: Float32Array, from: number, to: number): number {
  let e = 0;
  for (let i = from; i < to; i++) e += ((y[i] as number) - (x[i] as number)) ** 2;
  return e;
}

test('clippedRatio: a hard clip counts on each side, speech that only reaches high does not, nor G.711 top codes, nor silence', () => {
  const { signal } = speechLike(8000, 4, -20, 3);
  let pk = 0;
  for (const v of signal) pk = Math.max(pk, Math.abs(v));
  const loud = signal.map((v) => (0.9 * v) / pk);
  assert.equal(clippedRatio(loud), 0, 'peaking at -1 dBFS, unclipped');
  assert.equal(clippedRatio(loud.map((v) => muLaw(v))), 0, 'the same through mu-law');
  const hard = clip(loud.map((v) => 4 * v));
  let onClip = 0;
  for (const v of hard) if (Math.abs(v) === 1) onClip++;
  assert.equal(clippedRatio(hard), onClip / hard.length);
  assert.ok(onClip / hard.length > 0.01);
  // A DC offset before the clip: each side has its own level; both count.
  const shifted = clip(loud.map((v) => 3 * v + 0.3));
  let top = 0;
  let bottom = 0;
  // On a level is within two 16-bit steps of it.
  for (const v of shifted) {
    if (v >= 1 - 2 / 32768) top++;
    if (v <= -1 + 2 / 32768) bottom++;
  }
  assert.ok(top >= 8 && bottom >= 8, `${top} and ${bottom} samples on the clip levels`);
  assert.equal(clippedRatio(shifted), (top + bottom) / shifted.length);
  assert.equal(clippedRatio(new Float32Array(8000)), 0, 'digital silence');
  assert.equal(clippedRatio(new Float32Array(8000).fill(0.01)), 0, 'a quiet constant is no clip level');
  assert.equal(clippedRatio(new Float32Array(0)), 0);
});

test('declipper: a frame without a clipped sample comes out as it went in, one frame (32 ms) later', () => {
  const { signal } = speechLike(SR, 2, -20, 5);
  const block = new Declipper(SR);
  assert.equal(block.latency, 512);
  assert.equal(new Declipper(8000).latency, 256);
  const y = declip(signal, SR, 320, block);
  let worst = 0;
  for (let i = 0; i < y.length; i++)
    worst = Math.max(worst, Math.abs((y[i] as number) - (signal[i] as number)));
  assert.ok(worst < 1e-6, `largest difference ${worst}`);
});

/** A vowel-like stand-in sparse in frequency: three partials under a slow swell, peaking at 1. */
function vowels(sampleRate: number, seconds: number): Float32Array {
  const n = Math.round(sampleRate * seconds);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    const swell = 0.55 + 0.45 * Math.sin(2 * Math.PI * 1.5 * t);
    x[i] =
      (swell *
        (Math.sin(2 * Math.PI * 180 * t) +
          0.6 * Math.sin(2 * Math.PI * 540 * t + 1) +
          0.3 * Math.sin(2 * Math.PI * 1260 * t + 2))) /
      1.9;
  }
  return x;
}

test('declipper: a frame almost all on the clip (a DC offset driven past full scale) passes as it came', () => {
  // A quiet talker over a DC offset, 36 dB into the clip: every sample lands on it (gen-1-3 station 3).
  const { signal } = speechLike(8000, 2, -45, 13);
  const square = clip(signal.map((v) => 60 * (v + 0.08)));
  const y = declip(square, 8000);
  let moved = 0;
  // Away from the ends, where the block's zero-filled start and the flush make partly clipped frames.
  for (let i = 512; i < y.length - 512; i++)
    moved = Math.max(moved, Math.abs((y[i] as number) - (square[i] as number)));
  assert.equal(clippedRatio(square), 1);
  assert.ok(moved < 1e-6, `largest change ${moved}`);
});

test('declipper: clipped peaks come back (squared error to the original down 10x and more; 25-240x here)', () => {
  for (const sr of [8000, 16000]) {
    const signal = vowels(sr, 2);
    const clipped = clip(signal, 0.5);
    const y = declip(clipped, sr);
    const from = sr / 10;
    const to = signal.length - sr / 10;
    const before = sqErr(clipped, signal, from, to);
    const after = sqErr(y, signal, from, to);
    assert.ok(after < before / 10, `${sr} Hz: ${after.toFixed(3)} against ${before.toFixed(3)} clipped`);
    let over = 0;
    for (const v of y) if (Math.abs(v) > 0.51) over++;
    assert.ok(over > 0, 'restored peaks go past the clip level');
  }
});

test('declipper: the same output whatever the size of the calls, and reset() starts over like a new block', () => {
  const { signal } = speechLike(8000, 2, -12, 11);
  const clipped = clip(signal, 0.3);
  const ref = declip(clipped, 8000, 320);
  for (const chunk of [1, 77, 1000]) {
    const y = declip(clipped, 8000, chunk);
    let worst = 0;
    for (let i = 0; i < y.length; i++)
      worst = Math.max(worst, Math.abs((y[i] as number) - (ref[i] as number)));
    assert.equal(worst, 0, `chunk ${chunk}`);
  }
  const used = new Declipper(8000);
  declip(clip(signal.map((v) => 3 * v)), 8000, 320, used);
  used.reset();
  assert.deepEqual(declip(clipped, 8000, 320, used), ref);
});
