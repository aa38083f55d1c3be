// The level rule at an AGC station that is out of gain while its own target also sits under the
// loudness target: both levers in one step (level.ts). Pure: no I/O.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation, parametersForStation } from '../../../catalog/index.ts';
import { type ControllerState, initialState } from '../../../optimizer/core/index.ts';
import { choose } from '../../../optimizer/core/moves.ts';
import { agcLevelFinding, first, maxStep, proposal, snap } from './snapshots.ts';

test('level: an AGC out of gain under a target that is itself low gets its max gain and its target in one step', () => {
  // 10 LU under the loudness target; the AGC's output sits 4 dB under its -26 dBFS target: 4 dB of
  // gain missing, and the target itself 6 dB under where the level would be on target.
  // Continuous speech: the one-second loudness reads the speech, not its pauses (level.ts pausedError).
  const d = first(3, { audio: { loudness_lufs: -33, active_speech_level_dbov: -30, speech_activity: 0.9 } });
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

test("level: the target raised with the max gain is one step, so a noisy input's RNNoise still rides along", () => {
  // As above, and the SNR barely over its 20 dB minimum: the noise rule asks for RNNoise. The target
  // follows the max gain (one slot of two), so the switch goes in the same step; counted, the two
  // levers filled the step and the switch waited (gen-2-3 station 3 converged without it).
  const d = first(3, { audio: { loudness_lufs: -33, active_speech_level_dbov: -30, snr_db: 21 } });
  for (const name of ['agc_max_gain_db', 'agc_target_dbfs', 'compressor_threshold_dbfs', 'rnnoise_enabled'])
    assert.ok(proposal(d, name), `${name}: ${d.analysis}`);
});

test('level: a target whose own step up regressed recently stays; the max gain still goes up', () => {
  const station = 3;
  const params = defaultsForStation(station);
  const specs = new Map(parametersForStation(station).map((p) => [p.name, p]));
  const finding = agcLevelFinding(params);
  const names = (st: ControllerState) =>
    choose([finding], st, specs, params, snap(station), []).map((c) => c.change.name);
  const st = initialState(snap(station));
  assert.deepEqual(names(st), ['agc_max_gain_db', 'agc_target_dbfs', 'compressor_threshold_dbfs']);
  const barred: ControllerState = {
    ...st,
    tabu: [{ name: 'agc_target_dbfs', direction: 1, until_iteration: 9 }],
  };
  assert.deepEqual(names(barred), ['agc_max_gain_db']);
});

test('level: on a second that is partly pause, an AGC out of gain gets its max gain by the active speech, not its target by the loudness', () => {
  // Eval seed 9 gen-9-9 station 9: 48% speech read -29.3 LUFS (6.3 LU under the target) with the active
  // speech 2.5 dB under it, the AGC out of gain by those 2.5 dB at its -23 dBFS target.
  const at = { ...defaultsForStation(9), agc_target_dbfs: -23, compressor_threshold_dbfs: -15 };
  const audio = { loudness_lufs: -29.3, active_speech_level_dbov: -25.5 };
  const paused = first(9, { audio: { ...audio, speech_activity: 0.48 } }, at);
  const g = proposal(paused, 'agc_max_gain_db');
  assert.ok(g, paused.analysis);
  assert.ok(Math.abs(g.new - g.old - 2.5) < 1e-9, `max gain ${g.old} -> ${g.new}`);
  assert.equal(proposal(paused, 'agc_target_dbfs'), undefined, paused.analysis);
  // The same reading over continuous speech: the target goes up with the max gain, as before.
  const busy = first(9, { audio: { ...audio, speech_activity: 0.9 } }, at);
  assert.ok(proposal(busy, 'agc_target_dbfs'), busy.analysis);
});
