// The level rule (optimizer/core/level.ts): its companion move, a raised AGC target taking a following
// compressor's threshold up as far, which goes only with its lead, uncounted in the step's changes and
// past its own tabu (moves.ts choose, rules.ts Move.follows); and a loudness reading a segment's pauses
// drag down, not chased. Pure: no I/O.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation, parametersForStation } from '../../../catalog/index.ts';
import { type ControllerState, initialState } from '../../../optimizer/core/index.ts';
import { choose } from '../../../optimizer/core/moves.ts';
import { first, proposal, snap } from './snapshots.ts';

test('controller: a raised AGC target takes the compressor threshold up as far; a lowered one leaves it', () => {
  // Station 3: AGC, then a compressor (default threshold -18 dBFS, 8 dB over the default -26 target).
  const quiet = first(3, { audio: { loudness_lufs: -28, active_speech_level_dbov: -26 } });
  const t = proposal(quiet, 'agc_target_dbfs')!;
  const c = proposal(quiet, 'compressor_threshold_dbfs')!;
  assert.ok(t && c, quiet.analysis);
  assert.ok(t.new > t.old, `target ${t.old} -> ${t.new}`);
  assert.equal(
    c.new - c.old,
    t.new - t.old,
    `threshold ${c.old} -> ${c.new} with the target ${t.old} -> ${t.new}`,
  );
  assert.match(c.reason, /so it meets the speech as before/);
  // Near the top of the target's range the threshold goes up only as far as the target can.
  const high = first(
    3,
    { audio: { loudness_lufs: -28, active_speech_level_dbov: -13.5 } },
    { ...defaultsForStation(3), agc_target_dbfs: -13.5 },
  );
  const th = proposal(high, 'agc_target_dbfs')!;
  const ch = proposal(high, 'compressor_threshold_dbfs')!;
  assert.ok(th && ch, high.analysis);
  assert.equal(th.new, -12);
  assert.equal(ch.new - ch.old, 1.5, high.analysis);
  const loud = first(3, { audio: { loudness_lufs: -17, active_speech_level_dbov: -26 } });
  assert.ok(proposal(loud, 'agc_target_dbfs'), loud.analysis);
  // (The compressor guard may raise it here: the speech sits over the threshold. Not the level rule.)
  assert.doesNotMatch(proposal(loud, 'compressor_threshold_dbfs')?.reason ?? '', /the AGC target goes up/);
});

test('controller: a companion move goes with its lead, uncounted and past its own tabu, and never alone', () => {
  const specs = new Map(parametersForStation(3).map((p) => [p.name, p]));
  const params = defaultsForStation(3);
  const s = snap(3, {});
  const st: ControllerState = {
    ...initialState(s),
    // An exploratory step of the threshold up regressed a moment ago.
    tabu: [{ name: 'compressor_threshold_dbfs', direction: 1, until_iteration: 9 }],
  };
  const lead = { name: 'agc_target_dbfs', desired: -23, reason: 'level' };
  const companion = {
    name: 'compressor_threshold_dbfs',
    desired: -15,
    reason: 'follow',
    follows: 'agc_target_dbfs',
  };
  const other = (name: string, desired: number) => ({
    rule: 'noise' as const,
    priority: 2,
    observation: '',
    moves: [{ name, desired, reason: 'other' }],
  });
  const levelFinding = { rule: 'level' as const, priority: 1, observation: '', moves: [lead, companion] };
  // Two other hot moves first: the lead does not get a slot, and its companion does not go alone.
  const full = choose(
    [other('noise_suppression_db', 6), other('highpass_cutoff_hz', 80), levelFinding],
    st,
    specs,
    params,
    s,
    [],
  );
  assert.deepEqual(
    full.map((c) => c.change.name),
    ['noise_suppression_db', 'highpass_cutoff_hz'],
  );
  // One other: the lead takes the second slot and the companion rides along, tabu or not.
  const two = choose([other('noise_suppression_db', 6), levelFinding], st, specs, params, s, []);
  assert.deepEqual(
    two.map((c) => `${c.change.name} ${c.change.old}->${c.change.new}`),
    ['noise_suppression_db 12->6', 'agc_target_dbfs -26->-23', 'compressor_threshold_dbfs -18->-15'],
  );
  // The same move as a step of its own is held back by the tabu.
  const alone = choose(
    [{ ...levelFinding, moves: [{ ...companion, follows: undefined }] }],
    st,
    specs,
    params,
    s,
    [],
  );
  assert.equal(alone.length, 0);
});

test('controller: a quiet loudness reading on a segment that is half pause is not chased when its active speech is on target', () => {
  // Eval seed 9, station 9, the AGC at -23 dBFS: 47% speech read -26.6 LUFS at -23.0 dBov.
  const onTarget = { ...defaultsForStation(9), agc_target_dbfs: -23, compressor_threshold_dbfs: -15 };
  // The scorecard holds the active speech level to the target on such a second: nothing to change.
  const paused = first(
    9,
    { audio: { loudness_lufs: -26.6, active_speech_level_dbov: -23, speech_activity: 0.47 } },
    onTarget,
  );
  assert.match(paused.analysis, /nothing left worth changing/);
  // With another component losing, the rules run, and the level rule does not chase the reading either.
  const noisy = first(
    9,
    { audio: { loudness_lufs: -26.6, active_speech_level_dbov: -23, speech_activity: 0.47, snr_db: 14 } },
    onTarget,
  );
  assert.equal(proposal(noisy, 'agc_target_dbfs'), undefined, noisy.analysis);
  assert.match(noisy.analysis, /the active speech sits at -23\.0 dBov: with speech in 47\.0% of the segment/);
  // The same reading over continuous speech, or with the active speech itself low, is chased.
  const busy = first(
    9,
    { audio: { loudness_lufs: -26.6, active_speech_level_dbov: -23, speech_activity: 0.9 } },
    onTarget,
  );
  assert.ok(proposal(busy, 'agc_target_dbfs'), busy.analysis);
  const low = first(
    9,
    { audio: { loudness_lufs: -27.5, active_speech_level_dbov: -26.4, speech_activity: 0.47 } },
    onTarget,
  );
  assert.ok(proposal(low, 'agc_target_dbfs') ?? proposal(low, 'agc_max_gain_db'), low.analysis);
  // A station without an AGC: its input gain likewise.
  const gainOnly = first(4, {
    audio: { loudness_lufs: -26.6, active_speech_level_dbov: -22.5, speech_activity: 0.5 },
  });
  assert.equal(proposal(gainOnly, 'input_gain_db'), undefined, gainOnly.analysis);
  const gainBusy = first(4, {
    audio: { loudness_lufs: -26.6, active_speech_level_dbov: -22.5, speech_activity: 0.8 },
  });
  assert.ok(proposal(gainBusy, 'input_gain_db'), gainBusy.analysis);
});
