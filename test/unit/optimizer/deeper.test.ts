// A rule's step that only makes the suppressors deeper, judged of no clear effect, goes back unless the
// SNR it was for rose (judge.ts deeperIdle); a step that did raise it, or moved anything else, is kept
// as any neutral step. Pure: no I/O.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation } from '../../../catalog/index.ts';
import { type ControllerState, initialState, scoreSnapshot } from '../../../optimizer/core/index.ts';
import { DEEPER_SNR_GAIN_DB, judgeChange } from '../../../optimizer/core/judge.ts';
import { isTabu } from '../../../optimizer/core/moves.ts';
import type { ParamChange } from '../../../optimizer/core/state.ts';
import { pendingOn, snap } from './snapshots.ts';

const STATION = 11;
const before = { ...defaultsForStation(STATION), rnnoise_enabled: 1, noise_suppression_db: 18 };
const deeper: ParamChange[] = [
  { name: 'rnnoise_attenuation_limit_db', old: 30, new: 42 },
  { name: 'noise_suppression_db', old: 18, new: 24 },
];

function judge(changes: readonly ParamChange[], snrBefore: number, snrAfter: number, exploratory = false) {
  const after = { ...before, ...Object.fromEntries(changes.map((c) => [c.name, c.new])) };
  const base = snap(STATION, { audio: { snr_db: snrBefore } });
  const p = pendingOn(base, before, after, changes, { exploratory, rule: exploratory ? 'explore' : 'noise' });
  const st: ControllerState = { ...initialState(base), iteration: 3, pending: p };
  const now = snap(STATION, { index: 1, audio: { snr_db: snrAfter } });
  return judgeChange(st, p, scoreSnapshot(now, after), now, after, 0);
}

test('deeper suppression that leaves the SNR where it was goes back, and the rule may not ask again at once', () => {
  const j = judge(deeper, 19.2, 18.9);
  assert.equal(j.verdict.kind, 'regressed', j.verdict.detail);
  assert.match(j.verdict.detail, /deeper suppression did not raise the SNR \(19\.2 -> 18\.9 dB\)/);
  assert.ok(j.rollback, 'rolled back');
  assert.deepEqual(
    j.back.map((c) => [c.name, c.new]),
    [
      ['noise_suppression_db', 18],
      ['rnnoise_attenuation_limit_db', 30],
    ],
  );
  for (const c of deeper) assert.ok(isTabu(j.state, c.name, 1, true), `${c.name} up is tabu for the rule`);
});

test('deeper suppression that raised the SNR is kept on a neutral verdict', () => {
  const j = judge(deeper, 19.2, 19.2 + DEEPER_SNR_GAIN_DB + 0.1);
  assert.notEqual(j.verdict.kind, 'regressed', j.verdict.detail);
  assert.equal(j.rollback, null);
});

test('a step that moved anything else besides, or read the SNR on a clamp, is judged as before', () => {
  const mixed = judge([...deeper, { name: 'agc_target_dbfs', old: -26, new: -23 }], 19.2, 18.9);
  assert.equal(mixed.verdict.kind, 'neutral', mixed.verdict.detail);
  const switchOn = judge([{ name: 'rnnoise_enabled', old: 0, new: 1 }], 19.2, 18.9);
  assert.equal(switchOn.verdict.kind, 'neutral', switchOn.verdict.detail);
  const clamped = judge(deeper, 100, 100);
  assert.equal(clamped.verdict.kind, 'neutral', clamped.verdict.detail);
});
