// The level rule at an AGC station that is out of gain while its own target also sits under the
// loudness target: both levers in one step (level.ts). Pure: no I/O.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { first, maxStep, proposal } from './snapshots.ts';

test('level: an AGC out of gain under a target that is itself low gets its max gain and its target in one step', () => {
  // 10 LU under the loudness target; the AGC's output sits 4 dB under its -26 dBFS target: 4 dB of
  // gain missing, and the target itself 6 dB under where the level would be on target.
  const d = first(3, { audio: { loudness_lufs: -33, active_speech_level_dbov: -30 } });
  const g = proposal(d, 'agc_max_gain_db');
  const t = proposal(d, 'agc_target_dbfs');
  assert.ok(g && t, d.analysis);
  assert.equal(g.new - g.old, maxStep('agc_max_gain_db'), 'the whole way, as far as one step goes');
  assert.equal(t.new - t.old, maxStep('agc_target_dbfs'));
  assert.match(t.reason, /the target itself sits 6\.0 LU under the loudness target/);
  // The compressor's threshold follows the target up (level.ts compressorFollows).
  const c = proposal(d, 'compressor_threshold_dbfs');
  assert.ok(c && c.new - c.old === t.new - t.old, d.analysis);
  // Out of gain with the target where the level needs it: the max gain alone, as before.
  const alone = first(3, { audio: { loudness_lufs: -33, active_speech_level_dbov: -36 } });
  assert.ok(proposal(alone, 'agc_max_gain_db'), alone.analysis);
  assert.equal(proposal(alone, 'agc_target_dbfs'), undefined);
});
