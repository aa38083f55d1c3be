// A level setter's rule step back the way its last kept step came goes at most half that step
// (optimizer/core/moves.ts damped, kept): one second's level reading is the talker's words as much as the
// gain. Pure: no I/O.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation, parametersForStation } from '../../../catalog/index.ts';
import { decide, initialState } from '../../../optimizer/core/index.ts';
import { damped, kept } from '../../../optimizer/core/moves.ts';
import { type Finding, SAFETY_PRIORITY } from '../../../optimizer/core/rules.ts';
import { learnFrom } from '../../../optimizer/core/trust.ts';
import { agcLevelFinding, proposal, snap } from './snapshots.ts';

const specs4 = new Map(parametersForStation(4).map((p) => [p.name, p]));
const gainFinding = (desired: number, priority = 0.3): Finding => ({
  rule: 'level',
  priority,
  observation: 'level off its target',
  moves: [{ name: 'input_gain_db', desired, reason: 'lowering the input gain' }],
});

test('reversal: a level step back the way the last kept one came goes at most half of it; onward, in full', () => {
  const params = { ...defaultsForStation(4), input_gain_db: 6 };
  const st = kept(initialState(snap(4), 1), [{ name: 'input_gain_db', old: 0, new: 6 }], specs4, false);
  assert.equal(st.lessons?.['input_gain_db']?.kept, 6);
  // Back down by 6: at most 3.
  const [back] = damped([gainFinding(0)], st, params);
  assert.equal(back!.moves[0]!.desired, 3);
  assert.match(back!.moves[0]!.reason, /half its last step back/);
  // Back by less than half: as asked.
  assert.equal(damped([gainFinding(4.5)], st, params)[0]!.moves[0]!.desired, 4.5);
  // Onward (up again): in full.
  assert.equal(damped([gainFinding(12)], st, params)[0]!.moves[0]!.desired, 12);
  // A safety finding (speech eaten, clipping) is not held back.
  assert.equal(damped([gainFinding(0, SAFETY_PRIORITY + 0.5)], st, params)[0]!.moves[0]!.desired, 0);
  // Nothing kept yet: in full.
  assert.equal(damped([gainFinding(0)], initialState(snap(4), 1), params)[0]!.moves[0]!.desired, 0);
});

test('reversal: followers go as far as their lead; a step taken back leaves the last kept one', () => {
  const params = defaultsForStation(3);
  const specs3 = new Map(parametersForStation(3).map((p) => [p.name, p]));
  // The max gain came down 4 dB and was kept; now the rule wants it up 6, the target and compressor with it.
  const down = [{ name: 'agc_max_gain_db', old: params.agc_max_gain_db! + 4, new: params.agc_max_gain_db! }];
  const st = kept(initialState(snap(3), 1), down, specs3, false);
  const [f] = damped([{ ...agcLevelFinding(params), priority: 0.3 }], st, params);
  const by = (n: string) => f!.moves.find((m) => m.name === n)!.desired - params[n]!;
  assert.equal(by('agc_max_gain_db'), 2);
  assert.equal(by('agc_target_dbfs'), 1);
  assert.equal(by('compressor_threshold_dbfs'), 1);
  // A judged step that was taken back (learnFrom runs on every verdict) keeps the last kept step.
  const up = [{ name: 'agc_max_gain_db', old: params.agc_max_gain_db!, new: params.agc_max_gain_db! + 6 }];
  const lessons = learnFrom(st.lessons, up, specs3, 'regressed', -8);
  assert.equal(lessons['agc_max_gain_db']?.kept, -4);
  // Only level setters are remembered.
  const ns = kept(st, [{ name: 'noise_suppression_db', old: 12, new: 18 }], specs3, false);
  assert.equal(ns.lessons?.['noise_suppression_db']?.kept, undefined);
});

test('reversal: through the controller, a too-loud reading after a kept step up lowers the gain by half that step', () => {
  const params = { ...defaultsForStation(4), input_gain_db: 6 };
  const loud = snap(4, { audio: { loudness_lufs: -15, active_speech_level_dbov: -15 } });
  const fresh = decide({ snapshot: loud, current: params, state: null, now: 0 });
  assert.equal(proposal(fresh, 'input_gain_db')!.new, 0, fresh.analysis);
  const st = kept(initialState(loud, 1), [{ name: 'input_gain_db', old: 0, new: 6 }], specs4, false);
  const d = decide({ snapshot: loud, current: params, state: st, now: 0 });
  const p = proposal(d, 'input_gain_db')!;
  assert.ok(p, d.analysis);
  assert.equal(p.new, 3);
  assert.match(p.reason, /half its last step back: the readings disagree/);
});
