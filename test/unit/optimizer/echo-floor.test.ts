// The far end's echo the canceller has not yet taken out reads as a floor in the input's noise margin
// (read on the canceller's output: inputNoise.ts echoInTap), and switches no RNNoise on by it. And a
// safety step takes the hum canceller along where the input holds a steady hum (moves.ts choose).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation } from '../../../catalog/index.ts';
import { first, proposal } from './snapshots.ts';

test('controller: an early low margin where the echo may be the floor does not switch RNNoise on (gen-9-13 station 1)', () => {
  // A clean talker, the far end's echo not yet cancelled: 23.8 dB at the first second, before the
  // residual echo is read; 40 dB at the second with the echo at -10 dB of the output.
  const unread = first(1, { segment_ms: 1000, input_noise_margin_db: 23.8 });
  assert.equal(proposal(unread, 'rnnoise_enabled'), undefined, unread.analysis);
  const echo = first(1, { index: 1, segment_ms: 1000, input_noise_margin_db: 40, residual_echo_db: -10 });
  assert.equal(proposal(echo, 'rnnoise_enabled'), undefined, echo.analysis);
  // The echo read under -30 dB, or no reading past the first second (no far end), or past the third
  // second (an echo the canceller leaves is no reason to wait longer), or a station without an echo
  // canceller: the margin is the input's noise, as before.
  for (const [station, o] of [
    [1, { index: 1, segment_ms: 1000, input_noise_margin_db: 40, residual_echo_db: -40 }],
    [1, { index: 3, segment_ms: 1000, input_noise_margin_db: 40, residual_echo_db: -10 }],
    [1, { index: 1, segment_ms: 1000, input_noise_margin_db: 40 }],
    [3, { segment_ms: 1000, input_noise_margin_db: 23.8 }],
  ] as const) {
    const d = first(station, o);
    assert.equal(proposal(d, 'rnnoise_enabled')?.new, 1, `${station} ${JSON.stringify(o)}: ${d.analysis}`);
  }
});

test("controller: a low blind SNR under an echo is still the noise rule's (gen-1-3 station 1)", () => {
  // An echo 1.5 dB under the talker over pink noise at 22 dB: the suppressors are asked for at once; a
  // noise rule that waited on the echo left this call never within 5% of its best.
  const d = first(1, {
    index: 1,
    segment_ms: 1000,
    audio: { snr_db: 16 },
    input_noise_margin_db: 44,
    residual_echo_db: -1.5,
  });
  const up = ['noise_suppression_db', 'rnnoise_enabled'].filter((n) => {
    const p = proposal(d, n);
    return p !== undefined && p.new > p.old;
  });
  assert.notDeepEqual(up, [], d.analysis);
});

test('controller: a safety step takes the hum canceller along where the input holds a steady hum (gen-9-8 station 11)', () => {
  // The gate and suppressor eat speech (a safety step, which goes before every other finding) over an
  // input whose hum (44% of its energy) the suppressors hide at the output (0.13%).
  const strong = { ...defaultsForStation(11), noise_suppression_db: 24, noise_gate_threshold_dbfs: -50 };
  const o = { audio: { snr_db: 12, speech_activity: 0.02, hum_ratio: 0.0013 }, speech_loss_db: 4 };
  const d = first(11, { ...o, input_hum_ratio: 0.44 }, strong);
  assert.match(d.analysis, /eating speech/);
  assert.ok(proposal(d, 'noise_suppression_db'), d.analysis);
  assert.equal(proposal(d, 'hum_canceller_enabled')?.new, 1, d.analysis);
  // No hum family at the input: the safety step alone.
  const clean = first(11, { ...o, input_hum_ratio: 0 }, strong);
  assert.ok(proposal(clean, 'noise_suppression_db'), clean.analysis);
  assert.equal(proposal(clean, 'hum_canceller_enabled'), undefined, clean.analysis);
});
