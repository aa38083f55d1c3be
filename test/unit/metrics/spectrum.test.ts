import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32, whiteNoise } from '../../../audio/metrics/random.ts';
import { humRatio, spectralShape } from '../../../audio/metrics/spectrum.ts';
import { meanSquare, setRms, sine, speechLike } from './fixtures.ts';

test('spectral flatness is ~1 for white noise and ~0 for a sine', () => {
  for (const fs of [16000, 8000]) {
    const white = spectralShape(whiteNoise(mulberry32(9), fs, 0.1), fs, 0);
    assert.ok(white.flatness > 0.95, `white noise at ${fs} Hz: ${white.flatness}`);
    const tone = spectralShape(sine(fs, 1, 1000, 0.1), fs, 0);
    assert.ok(tone.flatness < 0.01, `sine at ${fs} Hz: ${tone.flatness}`);
  }
});

test('spectral centroid of a 1 kHz sine is 1000 Hz, of white noise a quarter of the rate', () => {
  for (const fs of [16000, 8000]) {
    const c = spectralShape(sine(fs, 1, 1000, 0.1), fs, 0).centroidHz;
    assert.ok(Math.abs(c - 1000) < 5, `sine at ${fs} Hz: ${c}`);
    const w = spectralShape(whiteNoise(mulberry32(3), fs, 0.1), fs, 0).centroidHz;
    assert.ok(Math.abs(w - fs / 4) < fs * 0.01, `white noise at ${fs} Hz: ${w}`);
  }
  // Speech sits between: low formants dominate.
  const s = spectralShape(speechLike({ sampleRate: 16000, seconds: 3, seed: 1 }), 16000, 0).centroidHz;
  assert.ok(s > 200 && s < 2000, `speech-like: ${s}`);
});

/** Mains hum: the fundamental and harmonics up to 300 Hz with 1/h amplitudes, at a given RMS. */
function hum(fs: number, seconds: number, mains: number, rms: number): Float32Array {
  const out = new Float32Array(Math.round(fs * seconds));
  for (let h = 1; h * mains <= 300; h++) {
    const s = sine(fs, seconds, h * mains, 1 / h);
    for (let i = 0; i < out.length; i++) out[i]! += s[i]!;
  }
  return setRms(out, rms);
}

test('hum ratio reads the hum share of 50 Hz or 60 Hz contaminated speech, and ~0 for clean speech', () => {
  const fs = 16000;
  for (const seed of [1, 2, 3, 7]) {
    const speech = setRms(speechLike({ sampleRate: fs, seconds: 4, seed }), 0.05);
    assert.ok(humRatio(speech, fs, 0) < 0.005, `clean speech, seed ${seed}: ${humRatio(speech, fs, 0)}`);
    for (const mains of [50, 60]) {
      const h = hum(fs, 4, mains, 0.05 * Math.sqrt(0.1)); // hum 10 dB below the speech
      const mixed = speech.map((v, i) => v + h[i]!);
      const share = meanSquare(h) / meanSquare(mixed);
      const read = humRatio(mixed, fs, 0);
      assert.ok(Math.abs(read - share) < 0.025, `${mains} Hz hum, seed ${seed}: ${read} vs share ${share}`);
    }
  }
});

test('hum ratio counts a family off 50/60 Hz only when told its fundamental, at harmonics up to 950 Hz', () => {
  const fs = 16000;
  for (const seed of [1, 2]) {
    const speech = setRms(speechLike({ sampleRate: fs, seconds: 4, seed }), 0.05);
    // 135 and 270 Hz: clear of every 50/60 Hz harmonic's band; 810 Hz, as loud as the fundamental, is
    // counted as the canceller notches it (up to 950 Hz; once 400 Hz, when it read 0.04 short).
    const h = new Float32Array(speech.length);
    for (const [k, a] of [
      [1, 1],
      [2, 0.5],
      [6, 1],
    ] as const) {
      const s = sine(fs, 4, k * 135, a);
      for (let i = 0; i < h.length; i++) h[i]! += s[i]!;
    }
    const hum = setRms(h, 0.05 * Math.sqrt(0.1));
    const mixed = speech.map((v, i) => v + hum[i]!);
    const share = meanSquare(hum) / meanSquare(mixed);
    assert.ok(humRatio(mixed, fs, 0) < 0.005, `seed ${seed}, mains only: ${humRatio(mixed, fs, 0)}`);
    const read = humRatio(mixed, fs, 0, 135);
    assert.ok(Math.abs(read - share) < 0.025, `seed ${seed}, told 135 Hz: ${read} vs share ${share}`);
    assert.ok(humRatio(speech, fs, 0, 135) < 0.005, `seed ${seed}, clean speech told 135 Hz`);
  }
  // Told 50 Hz (as the detector refines it), the reading is the mains one as before, up to 300 Hz.
  const speech = setRms(speechLike({ sampleRate: fs, seconds: 4, seed: 3 }), 0.05);
  const h50 = hum(fs, 4, 50, 0.05 * Math.sqrt(0.1));
  const mixed = speech.map((v, i) => v + h50[i]!);
  assert.equal(humRatio(mixed, fs, 0, 50.4), humRatio(mixed, fs, 0));
  assert.ok(humRatio(mixed, fs, 0, 50.4, false) > 0.05, 'read alone, the family is there');
});

test('hum ratio is ~0 for white noise and for a 1 kHz tone, ~1 for pure hum', () => {
  const fs = 8000;
  assert.ok(humRatio(whiteNoise(mulberry32(5), 4 * fs, 0.1), fs, 0) < 0.005);
  assert.ok(humRatio(sine(fs, 4, 1000, 0.1), fs, 0) < 0.005);
  assert.ok(humRatio(hum(fs, 4, 50, 0.1), fs, 0) > 0.95);
});
