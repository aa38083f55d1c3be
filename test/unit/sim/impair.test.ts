import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RealFft } from '../../../audio/dsp/realFft.ts';
import { activeSpeechLevel, measureAudio } from '../../../audio/metrics/index.ts';
import { babbleNoise, impair, mulberry32, speechSource } from '../../../stations/sim/index.ts';
import { diff, goertzel, meanSquare, snrDb } from './helpers.ts';

const SR = 16000;
const speech = speechSource(11, { durationMs: 6000, sampleRate: SR }).samples;

test('impair: level_db sets the P.56 active speech level of the clean speech', () => {
  for (const level of [-44, -26, -8]) {
    const r = impair(speech, { level_db: level }, mulberry32(1), { sampleRate: SR });
    assert.ok(
      Math.abs(activeSpeechLevel(r.clean, SR).levelDbov - level) < 0.05,
      'Math.abs(activeSpeechLevel(r.clean, SR).levelDbov - level) < 0.05',
    );
    assert.deepEqual(r.samples, r.clean, 'a level change alone leaves no other component');
  }
});

test('impair: white, pink and babble noise land at exactly the configured SNR against the known clean', () => {
  for (const type of ['white', 'pink', 'babble'] as const) {
    const r = impair(speech, { level_db: -30, noise: { type, snr_db: 12 } }, mulberry32(2), {
      sampleRate: SR,
    });
    const measured = snrDb(r.clean, diff(r.samples, r.clean), SR);
    assert.ok(Math.abs(measured - 12) < 0.05, `${type}: ${measured} dB`);
  }
  // The blind estimate of the station sees roughly the same thing for stationary white noise.
  const w = impair(speech, { level_db: -30, noise: { type: 'white', snr_db: 12 } }, mulberry32(2), {
    sampleRate: SR,
  });
  const blind = measureAudio(w.samples, SR).snr_db;
  assert.ok(blind > 5 && blind < 20, `WADA SNR ${blind}`);
});

test('impair: pink noise falls by 3 dB per octave, white is flat', () => {
  const density = (noise: Float32Array, lo: number, hi: number) => {
    const size = 65536;
    const fft = new RealFft(size);
    const spec = new Float64Array(2 * size);
    fft.forward(Float64Array.from(noise.subarray(0, size)), spec);
    let sum = 0;
    let bins = 0;
    for (let k = Math.ceil((lo * size) / SR); k <= Math.floor((hi * size) / SR); k++, bins++) {
      sum += spec[2 * k]! ** 2 + spec[2 * k + 1]! ** 2;
    }
    return sum / bins;
  };
  for (const [type, want] of [
    ['pink', -3],
    ['white', 0],
  ] as const) {
    const r = impair(speech, { level_db: -30, noise: { type, snr_db: 0 } }, mulberry32(3), {
      sampleRate: SR,
    });
    const n = r.components.noise!;
    // Two octaves apart: 400-600 Hz vs 1.6-2.4 kHz.
    const slope = (10 * Math.log10(density(n, 1600, 2400) / density(n, 400, 600))) / 2;
    assert.ok(Math.abs(slope - want) < 0.5, `${type} slope ${slope} dB/octave`);
  }
});

test('impair: hum is at its frequency, with harmonics, at the configured RMS', () => {
  const r = impair(
    speech,
    { level_db: -26, hum: { freq_hz: 50, level_dbfs: -40, harmonics: [1, 0.5, 0.35] } },
    mulberry32(4),
    {
      sampleRate: SR,
    },
  );
  const h = diff(r.samples, r.clean);
  assert.ok(
    Math.abs(10 * Math.log10(meanSquare(h)) + 40) < 0.05,
    'Math.abs(10 * Math.log10(meanSquare(h)) + 40) < 0.05',
  );
  const p50 = goertzel(h, SR, 50);
  const p100 = goertzel(h, SR, 100);
  const p60 = goertzel(h, SR, 60);
  assert.ok(p50 > 1000 * p60, 'energy at 50 Hz, not 60 Hz');
  assert.ok(Math.abs(10 * Math.log10(p100 / p50) - 20 * Math.log10(0.5)) < 0.5, 'second harmonic at -6 dB');
  const sixty = impair(
    speech,
    { level_db: -26, hum: { freq_hz: 60, level_dbfs: -40, harmonics: [1] } },
    mulberry32(4),
    {
      sampleRate: SR,
    },
  );
  const h60 = diff(sixty.samples, sixty.clean);
  assert.ok(
    goertzel(h60, SR, 60) > 1000 * goertzel(h60, SR, 50),
    'goertzel(h60, SR, 60) > 1000 * goertzel(h60, SR, 50)',
  );
  assert.ok(
    measureAudio(r.samples, SR).hum_ratio > measureAudio(r.clean, SR).hum_ratio + 0.01,
    'measureAudio(r.samples, SR).hum_ratio > measureAudio(r.clean, SR).hum_ratio + 0.01',
  );
});

test('impair: DC offset and clipping', () => {
  const dc = impair(speech, { level_db: -26, dc_offset: 0.02 }, mulberry32(5), { sampleRate: SR });
  assert.ok(
    Math.abs(measureAudio(dc.samples, SR).dc_offset - 0.02) < 1e-4,
    'Math.abs(measureAudio(dc.samples, SR).dc_offset - 0.02) < 1e-4',
  );
  const hot = impair(speech, { level_db: -10, clip: { drive_db: 6 } }, mulberry32(5), { sampleRate: SR });
  let peak = 0;
  for (const v of hot.samples) peak = Math.max(peak, Math.abs(v));
  assert.equal(peak, 1);
  assert.ok(
    measureAudio(hot.samples, SR).clipping_ratio > 0.001,
    'measureAudio(hot.samples, SR).clipping_ratio > 0.001',
  );
  const float = impair(speech, { level_db: -4 }, mulberry32(5), { sampleRate: SR });
  let floatPeak = 0;
  for (const v of float.samples) floatPeak = Math.max(floatPeak, Math.abs(v));
  assert.ok(floatPeak > 1, 'without clip, float samples may exceed full scale');
});

test('impair: echo is the far end delayed by delay_ms at gain_db', () => {
  const far = speechSource(99, { durationMs: 6000, sampleRate: SR, voice: 'tts' }).samples;
  const r = impair(
    speech,
    { level_db: -26, echo: { delay_ms: 80, gain_db: -12, far_level_db: -26, dispersion_ms: 0 } },
    mulberry32(6),
    {
      sampleRate: SR,
      farEnd: far,
    },
  );
  const e = diff(r.samples, r.clean);
  const f = r.farEnd!;
  let best = 0;
  let bestLag = -1;
  for (let lag = 0; lag < 0.2 * SR; lag += 8) {
    let s = 0;
    for (let i = lag; i < e.length; i += 2) s += e[i]! * f[i - lag]!;
    if (Math.abs(s) > best) {
      best = Math.abs(s);
      bestLag = lag;
    }
  }
  assert.equal(bestLag, 0.08 * SR);
  const gain = 10 * Math.log10(meanSquare(e) / meanSquare(f));
  assert.ok(Math.abs(gain + 12) < 0.3, `echo gain ${gain} dB`);
  assert.throws(
    () =>
      impair(
        speech,
        { level_db: -26, echo: { delay_ms: 80, gain_db: -12, far_level_db: -26, dispersion_ms: 6 } },
        mulberry32(6),
        { sampleRate: SR },
      ),
    /farEnd/,
  );
});

test('babble: the talkers join mid-stream, so the crowd is there from the first 10 ms (no common opening silence)', () => {
  const rate = 16000;
  const b = babbleNoise(2 * rate, rate, mulberry32(4));
  const whole = 10 * Math.log10(meanSquare(b));
  const frames = [0, 1, 2, 3, 4].map(
    (k) => 10 * Math.log10(meanSquare(b.subarray(k * 160, (k + 1) * 160)) + 1e-20),
  );
  // Six talkers opening on their prompts' leading silence read 60-100 dB under the crowd here.
  for (const [k, f] of frames.entries())
    assert.ok(f > whole - 20, `frame ${k}: ${f.toFixed(1)} dB, whole ${whole.toFixed(1)}`);
});
