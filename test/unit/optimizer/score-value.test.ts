// scoreValue is scoreSnapshot(...).score without the components: the batch replay scores every
// snapshot with it, so it must give the same number, to the last bit, for every kind of snapshot.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scoreSnapshot, scoreValue } from '../../../optimizer/core/index.ts';
import { snap } from './snapshots.ts';

const STATIONS = [1, 2, 3, 4, 9, 10, 11];

test('scoreValue equals scoreSnapshot(...).score across stations, impairments and missing metrics', () => {
  let n = 0;
  for (const st of STATIONS) {
    for (let k = 0; k < 40; k++) {
      const w = k / 39;
      const s = snap(st, {
        audio: {
          loudness_lufs: k % 7 === 0 ? -120 : -40 + 30 * w,
          active_speech_level_dbov: k % 5 === 0 ? -90 : -35 + 20 * w,
          snr_db: -5 + 45 * w,
          clipping_ratio: k % 3 === 0 ? 0.004 * w : 0,
          hum_ratio: 0.2 * (1 - w),
          dc_offset: 0.03 * w,
          crest_factor_db: 3 + 15 * w,
          speech_activity: w,
          noise_floor_dbfs: -80 + 50 * w,
        },
        network: k % 4 === 0 ? null : { mos: 1 + 3.5 * w, latency_ms: 50 + 400 * w },
        stt_confidence: k % 6 === 0 ? null : 0.4 + 0.6 * w,
        stt_word_error_rate: k % 2 === 0 ? null : w,
        tts_latency_ms: k % 3 === 0 ? null : 100 + 500 * w,
        emotion_confidence: k % 5 === 1 ? null : w,
      });
      assert.equal(scoreValue(s), scoreSnapshot(s).score, `station ${st}, k ${k}`);
      const params = {
        highpass_cutoff_hz: 80 + 300 * w,
        noise_gate_threshold_dbfs: -70 + 40 * w,
        noise_suppression_db: 30 * w,
      };
      assert.equal(scoreValue(s, params), scoreSnapshot(s, params).score, `station ${st}, k ${k}, params`);
      n++;
    }
  }
  assert.equal(n, STATIONS.length * 40);
});

test('scoreValue of a snapshot with no measurable component is 0, like scoreSnapshot', () => {
  const s = snap(4, { audio: { loudness_lufs: Number.NaN, snr_db: Number.NaN } });
  assert.equal(scoreValue(s), scoreSnapshot(s).score);
});
