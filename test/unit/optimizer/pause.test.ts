// The talker's pause is not the chain eating speech (typical.ts talkerPaused, tooLittleSpeech): a second
// whose output speech activity fell while the chain passed the speech its input held (speech loss at
// most SPEECH_PASSED_DB) neither rolls a change back at once nor sends the speech-collapse rule backing
// off suppression, and a second with no speech-loss reading at all (too little clear speech in it) is not
// judged on. A chain that does remove speech is treated as before. Pure: no I/O.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation } from '../../../catalog/index.ts';
import { type ControllerState, initialState, scoreSnapshot } from '../../../optimizer/core/index.ts';
import { judgeChange } from '../../../optimizer/core/judge.ts';
import type { ParamChange } from '../../../optimizer/core/state.ts';
import { SPEECH_PASSED_DB, talkerPaused } from '../../../optimizer/core/typical.ts';
import { first, pendingOn, proposal, type SnapOverrides, snap } from './snapshots.ts';

const STATION = 4;
const before = defaultsForStation(STATION);
const step: ParamChange[] = [{ name: 'input_gain_db', old: 0, new: 4 }];
const after = { ...before, input_gain_db: 4 };
const talking: SnapOverrides = { audio: { speech_activity: 0.9 }, speech_loss_db: 0.2 };

function judgeOn(now: SnapOverrides, p = pendingOn(snap(STATION, talking), before, after, step)) {
  const st: ControllerState = { ...initialState(snap(STATION, talking)), iteration: 3, pending: p };
  const s = snap(STATION, { index: 1, ...now });
  return judgeChange(st, p, scoreSnapshot(s, after), s, after, 0);
}

test('talkerPaused: a small speech-loss reading, or none where the call had one; never without any reading', () => {
  assert.equal(talkerPaused(0, null), true);
  assert.equal(talkerPaused(SPEECH_PASSED_DB, null), true);
  assert.equal(talkerPaused(SPEECH_PASSED_DB + 0.5, { speech_loss_db: 0 }), false);
  assert.equal(talkerPaused(null, { speech_loss_db: 0.3 }), true);
  assert.equal(talkerPaused(null, { snr_db: 20 }), false, 'an agent that never read speech loss');
  assert.equal(talkerPaused(undefined, null), false);
});

test('activity that fell while the chain passed the speech is left out, and does not roll the step back', () => {
  const j = judgeOn({ audio: { speech_activity: 0.09 }, speech_loss_db: 0.1 });
  assert.equal(j.rollback, null, j.verdict.detail);
  assert.notEqual(j.verdict.kind, 'regressed', j.verdict.detail);
  assert.match(j.verdict.detail, /speech presence left out: speech activity fell 0\.90 -> 0\.09/);
});

test('activity that fell while the chain removed speech is rolled back at once, as before', () => {
  const j = judgeOn({ audio: { speech_activity: 0.09 }, speech_loss_db: 6 });
  assert.equal(j.verdict.kind, 'regressed', j.verdict.detail);
  assert.ok(j.rollback, 'rolled back without waiting for a second look');
  assert.doesNotMatch(j.verdict.detail, /left out/);
});

test('a second with no speech-loss reading is not judged on: the next one is, once', () => {
  const pause = { audio: { speech_activity: 0.05 }, speech_loss_db: null };
  const j = judgeOn(pause);
  assert.equal(j.waiting, true);
  assert.equal(j.rollback, null);
  assert.match(j.verdict.detail, /too little clear speech to judge it by/);
  const p = j.state.pending!;
  assert.equal(p.deferred, true);
  // A second pause in a row is judged (the change cannot wait for ever).
  const again = judgeOn(pause, p);
  assert.doesNotMatch(again.verdict.detail, /too little clear speech/);
  // An agent without the reading at all: judged at once, as before.
  const old = pendingOn(snap(STATION, { audio: { speech_activity: 0.9 } }), before, after, step);
  const j2 = judgeOn(pause, old);
  assert.doesNotMatch(j2.verdict.detail, /too little clear speech/);
});

test('the speech-collapse rule backs off only when the chain removes the speech it was given', () => {
  const strong = { ...defaultsForStation(1), noise_suppression_db: 24, noise_gate_threshold_dbfs: -50 };
  const paused = first(1, { audio: { snr_db: 12, speech_activity: 0.02 }, speech_loss_db: 0.3 }, strong);
  const back = proposal(paused, 'noise_suppression_db');
  assert.ok(!back || back.new >= back.old, paused.analysis);
  assert.doesNotMatch(paused.analysis, /eating speech/);
  const eaten = first(1, { audio: { snr_db: 12, speech_activity: 0.02 }, speech_loss_db: 4 }, strong);
  const down = proposal(eaten, 'noise_suppression_db')!;
  assert.ok(down && down.new < down.old, eaten.analysis);
  assert.match(eaten.analysis, /eating speech/);
});

test('the speech-presence guard abstains on a second whose input held no clear speech, from an agent that reads it', () => {
  // Eval seed 9 gen-9-5 station 4: RNNoise cleared the pink noise from a second of 1-10% speech, the
  // output read 0% activity and the guard scaled that second to 30% of its score.
  const paused = (o: SnapOverrides) => scoreSnapshot(snap(STATION, { audio: { speech_activity: 0 }, ...o }));
  const presence = (o: SnapOverrides) => paused(o).components.find((c) => c.name === 'speech_presence');
  assert.equal(
    presence({ speech_loss_db: null, sample_rate_hz: 8000 }),
    undefined,
    'no clear speech in: no guard',
  );
  assert.ok(
    paused({ speech_loss_db: null, sample_rate_hz: 8000 }).score >
      paused({ speech_loss_db: 0.2, sample_rate_hz: 8000 }).score + 30,
  );
  // Where the input held speech the guard stands (the speech-loss factor sees a chain that eats it too),
  // and an agent that reports no sample rate reads no speech loss either: guarded as before.
  assert.equal(presence({ speech_loss_db: 0.2, sample_rate_hz: 8000 })!.score, 0);
  assert.equal(presence({ speech_loss_db: null, sample_rate_hz: null })!.score, 0);
});
