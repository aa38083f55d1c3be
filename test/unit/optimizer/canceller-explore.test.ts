// The hum canceller, which notches only the lines it finds: an exploratory switch-on judged of no clear
// effect stays on where the second before read hum (hum.ts cancellerKeptNeutral, judge.ts), while any
// other fruitless exploration goes back as before; and it rides past the two-move cap of a step where the
// input detector follows a hum family (moves.ts freeRider). Pure: no I/O.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation, parametersForStation } from '../../../catalog/index.ts';
import { type ControllerState, initialState, scoreSnapshot } from '../../../optimizer/core/index.ts';
import { judgeChange } from '../../../optimizer/core/judge.ts';
import { choose } from '../../../optimizer/core/moves.ts';
import type { Finding } from '../../../optimizer/core/rules.ts';
import type { ParamChange } from '../../../optimizer/core/state.ts';
import { pendingOn, type SnapOverrides, snap } from './snapshots.ts';

const STATION = 3;
const before = { ...defaultsForStation(STATION), hum_canceller_enabled: 0 };
const on: ParamChange[] = [{ name: 'hum_canceller_enabled', old: 0, new: 1 }];

function explore(changes: readonly ParamChange[], o: SnapOverrides) {
  const after = { ...before, ...Object.fromEntries(changes.map((c) => [c.name, c.new])) };
  const base = snap(STATION, o);
  const p = pendingOn(base, before, after, changes, { exploratory: true });
  const st: ControllerState = { ...initialState(base), iteration: 2, pending: p };
  // The next second reads as the last: the switch moved nothing a one-second verdict sees.
  const now = snap(STATION, { ...o, index: 1 });
  return judgeChange(st, p, scoreSnapshot(now, after), now, after, 0);
}

test('a hum canceller explored on over a second that read hum stays on when the verdict sees no effect', () => {
  // Eval seed 9 gen-9-14 station 3: back at second 2 on +1.1 points, though the yardstick gained 14.8.
  const j = explore(on, { audio: { hum_ratio: 0.004 } });
  assert.equal(j.verdict.kind, 'neutral', j.verdict.detail);
  assert.equal(j.rollback, null);
  assert.equal(j.state.known_good?.params['hum_canceller_enabled'], 1);
  const input = explore(on, { audio: { hum_ratio: 0 }, input_hum_ratio: 0.002 });
  assert.equal(input.rollback, null, 'the detector read hum at the input, a suppressor hid it at the output');
});

test('without hum, or exploring anything else, a step of no clear effect goes back as before', () => {
  const none = explore(on, { audio: { hum_ratio: 0 } });
  assert.equal(none.verdict.kind, 'regressed', none.verdict.detail);
  assert.match(none.verdict.detail, /no clear gain; back to the known-good set/);
  const followsNone = explore(on, { audio: { hum_ratio: 0.02 }, input_hum_ratio: 0 });
  assert.ok(followsNone.rollback, 'the detector follows no hum family: the canceller would be bit-exact');
  const other = explore([{ name: 'highpass_cutoff_hz', old: 60, new: 80 }], { audio: { hum_ratio: 0.004 } });
  assert.ok(other.rollback, 'a high-pass thins the voice: it must gain to stay');
  const withRider = explore([...on, { name: 'agc_target_dbfs', old: -26, new: -23 }], {
    audio: { hum_ratio: 0.004 },
  });
  assert.ok(withRider.rollback, 'a step that moved more than the canceller must gain to stay');
});

test('the hum canceller rides past the two-move cap where the input detector follows a hum family', () => {
  const specs = new Map(parametersForStation(STATION).map((p) => [p.name, p]));
  const noise: Finding = {
    rule: 'noise',
    priority: 5,
    observation: 'SNR 9.6 dB is 10.4 dB under the 20 dB minimum',
    moves: [
      { name: 'noise_suppression_db', desired: 18, reason: 'noise' },
      { name: 'rnnoise_enabled', desired: 1, reason: 'noise' },
    ],
  };
  const hum: Finding = {
    rule: 'hum',
    priority: 1,
    observation: 'the input holds a steady hum',
    moves: [{ name: 'hum_canceller_enabled', desired: 1, reason: 'hum' }],
  };
  const pick = (o: SnapOverrides) =>
    choose([noise, hum], initialState(snap(STATION, o)), specs, before, snap(STATION, o), []).map((c) => [
      c.change.name,
      c.change.new,
      c.rider ?? false,
    ]);
  // Eval seed 9 gen-9-16 station 11: 1.9% hum at the input, the canceller waited three seconds.
  assert.deepEqual(pick({ input_hum_ratio: 0.019 }), [
    ['noise_suppression_db', 18, false],
    ['rnnoise_enabled', 1, false],
    ['hum_canceller_enabled', 1, true],
  ]);
  // An output reading alone (the detector not settled, or following none) waits its turn as before.
  for (const o of [{ audio: { hum_ratio: 0.04 } }, { input_hum_ratio: 0 }])
    assert.deepEqual(pick(o), [
      ['noise_suppression_db', 18, false],
      ['rnnoise_enabled', 1, false],
    ]);
});
