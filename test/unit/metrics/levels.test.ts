import assert from 'node:assert/strict';
import { test } from 'node:test';
import { measureAudio } from '../../../audio/metrics/audio.ts';
import { CLIP_THRESHOLD, DB_FLOOR } from '../../../audio/metrics/levels.ts';
import { mulberry32, whiteNoise } from '../../../audio/metrics/random.ts';
import { sine } from './fixtures.ts';

const near = (actual: number, expected: number, tol: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} not within ${tol} of ${expected}`);

test('a -20 dBFS 1 kHz sine reads -20.0 dBFS RMS and -20 dBFS peak (AES17)', () => {
  for (const fs of [16000, 8000]) {
    const m = measureAudio(sine(fs, 1, 1000, 10 ** (-20 / 20)), fs);
    near(m.rms_dbfs, -20, 0.1, `rms at ${fs} Hz`);
    near(m.peak_dbfs, -20, 0.1, `peak at ${fs} Hz`);
    near(m.crest_factor_db, 20 * Math.log10(Math.SQRT2), 0.05, 'crest factor of a sine');
    near(m.noise_floor_dbfs, -20, 0.1, 'a steady sine is its own noise floor');
    assert.equal(m.clipping_ratio, 0);
  }
});

test('DC offset reads the injected offset, and does not move the noise floor', () => {
  const fs = 16000;
  const noise = whiteNoise(mulberry32(1), fs, 0.01);
  const plain = measureAudio(noise, fs);
  const shifted = measureAudio(
    noise.map((v) => v + 0.05),
    fs,
  );
  near(shifted.dc_offset, 0.05 + plain.dc_offset, 1e-6, 'dc offset');
  near(shifted.noise_floor_dbfs, plain.noise_floor_dbfs, 0.01, 'noise floor with DC');
});

test('crest factor is read around the mean: a DC offset under a quiet signal does not squash it', () => {
  const fs = 16000;
  const quiet = sine(fs, 1, 1000, 0.01);
  const plain = measureAudio(quiet, fs);
  // An offset 10x the sine's amplitude fills the RMS (DC counted, as rms_dbfs reports it): measured
  // with the DC in, the crest factor would read about 0.04 dB, a square wave's.
  const offset = measureAudio(
    quiet.map((v) => v + 0.1),
    fs,
  );
  near(plain.crest_factor_db, 20 * Math.log10(Math.SQRT2), 0.05, 'sine without DC');
  near(offset.crest_factor_db, plain.crest_factor_db, 0.05, 'the same sine over a 0.1 offset');
  // A negative offset and a lopsided signal: the larger excursion from the mean is the peak.
  const pulse = new Float32Array(1000).fill(-0.05);
  pulse[500] = 0.5;
  const m = measureAudio(pulse, fs);
  const mean = (0.5 - 0.05 * 999) / 1000;
  const sd = Math.sqrt((999 * (-0.05 - mean) ** 2 + (0.5 - mean) ** 2) / 1000);
  near(m.crest_factor_db, 20 * Math.log10((0.5 - mean) / sd), 0.01, 'a pulse over a negative offset');
  assert.equal(measureAudio(new Float32Array(100).fill(0.3), fs).crest_factor_db, 0, 'a constant has none');
});

test('clipping ratio of a hard-clipped signal equals the clipped fraction', () => {
  const fs = 16000;
  const raw = sine(fs, 1, 440, 2);
  let over = 0;
  const clipped = raw.map((v) => {
    if (Math.abs(v) >= 1) over++;
    return Math.max(-1, Math.min(1, v));
  });
  const m = measureAudio(clipped, fs);
  near(m.clipping_ratio, over / raw.length, 1 / raw.length, 'clipping ratio');
  // Samples between the threshold and full scale count too ("within 1 LSB").
  const edge = new Float32Array(1000).fill(0.1);
  edge.fill(CLIP_THRESHOLD, 0, 10);
  assert.equal(measureAudio(edge, fs).clipping_ratio, 0.01);
});

test('noise floor is the level of the quiet frames of a signal with pauses', () => {
  const fs = 16000;
  const x = whiteNoise(mulberry32(2), 2 * fs, 0.001); // -60 dBFS RMS (+3.01 under AES17)
  const loud = sine(fs, 1, 300, 0.5);
  x.set(loud, 0); // first half loud, second half only the noise
  near(measureAudio(x, fs).noise_floor_dbfs, -60 + 3.01, 0.5, 'noise floor');
});

test('silence, empty input and non-finite samples give finite floors', () => {
  const expectFinite = (m: object, what: string) => {
    for (const [k, v] of Object.entries(m)) assert.ok(Number.isFinite(v), `${what}: ${k} = ${v}`);
  };
  const silence = measureAudio(new Float32Array(16000), 16000);
  expectFinite(silence, 'silence');
  assert.equal(silence.rms_dbfs, DB_FLOOR);
  assert.equal(silence.peak_dbfs, DB_FLOOR);
  assert.equal(silence.loudness_lufs, DB_FLOOR);
  assert.equal(silence.active_speech_level_dbov, DB_FLOOR);
  assert.equal(silence.noise_floor_dbfs, DB_FLOOR);
  assert.equal(silence.snr_db, 0);
  assert.equal(silence.speech_activity, 0);
  assert.equal(silence.crest_factor_db, 0);
  expectFinite(measureAudio(new Float32Array(0), 16000), 'empty');
  expectFinite(measureAudio(new Float32Array(37).fill(0.3), 8000), 'shorter than every frame');
  const bad = sine(16000, 0.5, 500, 0.1);
  bad[10] = Number.NaN;
  bad[20] = Number.POSITIVE_INFINITY;
  expectFinite(measureAudio(bad, 16000), 'NaN and Infinity samples');
  assert.throws(() => measureAudio(bad, 0), RangeError);
});
