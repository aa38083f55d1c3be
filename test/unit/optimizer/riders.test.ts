// A step carries moves from more than one finding: the lead's (the first chosen) and riders. When the step
// regresses, the riders' tabu bars exploration and the model step, not a rule that reads a reason for
// them (moves.ts choose, judge.ts, state.ts TabuEntry.rider): eval seed 9 gen-9-17 station 3, RNNoise rode
// with a level step that regressed on the segment's own hum, was barred, and the call ended without it
// (PESQ 3.31 when the level step alone filled the step, 2.98 with RNNoise riding and barred). Pure: no I/O.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation, parametersForStation } from '../../../catalog/index.ts';
import { type ControllerState, initialState, scoreSnapshot } from '../../../optimizer/core/index.ts';
import { judgeChange } from '../../../optimizer/core/judge.ts';
import { choose, isTabu } from '../../../optimizer/core/moves.ts';
import type { Finding } from '../../../optimizer/core/rules.ts';
import { agcLevelFinding, pendingOn, snap } from './snapshots.ts';

const STATION = 3;
const params = defaultsForStation(STATION);
const specs = new Map(parametersForStation(STATION).map((p) => [p.name, p]));

const level = agcLevelFinding(params, false);
const noise: Finding = {
  rule: 'noise',
  priority: 1,
  observation: 'noisy',
  moves: [{ name: 'rnnoise_enabled', desired: 1, reason: 'RNNoise on' }],
};

test('choose: moves of findings after the lead one ride along; a companion is of its lead', () => {
  const chosen = choose([level, noise], initialState(snap(STATION)), specs, params, snap(STATION), []);
  assert.deepEqual(
    chosen.map((c) => [c.change.name, c.rider === true]),
    [
      ['agc_max_gain_db', false],
      ['rnnoise_enabled', true],
      ['agc_target_dbfs', false],
    ],
  );
});

test('a step that regressed bars its lead for everyone and its riders for exploration only', () => {
  const base = snap(STATION);
  const after = { ...params, agc_max_gain_db: params.agc_max_gain_db! + 6, rnnoise_enabled: 1 };
  const changes = [
    { name: 'agc_max_gain_db', old: params.agc_max_gain_db!, new: after.agc_max_gain_db },
    { name: 'rnnoise_enabled', old: 0, new: 1 },
  ];
  const p = pendingOn(base, params, after, changes, { rule: 'level', riders: ['rnnoise_enabled'] });
  const st: ControllerState = { ...initialState(base), iteration: 3, pending: p };
  // Far too loud and clipping after the step: a regression on a guard, judged at once.
  const now = snap(STATION, { index: 1, audio: { loudness_lufs: -8, clipping_ratio: 0.05, peak_dbfs: 0 } });
  const j = judgeChange(st, p, scoreSnapshot(now, after), now, after, 0);
  assert.equal(j.verdict.kind, 'regressed', j.verdict.detail);
  assert.ok(isTabu(j.state, 'agc_max_gain_db', 1, true), 'the lead is barred for the rules');
  assert.ok(!isTabu(j.state, 'rnnoise_enabled', 1, true), 'the rider is not');
  assert.ok(isTabu(j.state, 'rnnoise_enabled', 1, false), 'but exploration may not switch it back on');
});
