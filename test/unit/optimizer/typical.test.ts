// Judging like with like (optimizer/core/typical.ts, judge.ts): a baseline second the blind SNR
// estimator could not read is not held against a change, while what a change may have caused (noise
// let in, speech eaten) still is. Pure: no I/O.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation } from '../../../catalog/index.ts';
import { decide, markApplied, ROLLBACK_DROP_POINTS, scoreSnapshot } from '../../../optimizer/core/index.ts';
import { componentScores, judgeChange, movedOn } from '../../../optimizer/core/judge.ts';
import { digest, initialState, type PendingChange } from '../../../optimizer/core/state.ts';
import { unlike } from '../../../optimizer/core/typical.ts';
import { type SnapOverrides, snap } from './snapshots.ts';

/** Changes of these parameters (the direction does not matter to the rule tested). */
const ch = (...names: string[]) => names.map((name) => ({ name, old: 0, new: 1 }));

test('typical: a blind SNR on an estimator clamp is not compared with one off it, unless the change may have caused it', () => {
  const at = (snr_db: number, speech_activity = 0.8) => ({ snr_db, speech_activity });
  assert.equal(unlike(at(12), at(30)), null, 'two readings: like with like');
  assert.equal(unlike(at(100), at(100)), null, 'a clean line reads 100 dB on every second');
  assert.deepEqual([...unlike(at(100), at(9.9))!.components], ['noise'], 'the baseline sat on the clamp');
  assert.match(unlike(at(100), at(9.9))!.why, /blind SNR read 100\.0 dB before and 9\.9 dB after/);
  assert.deepEqual([...unlike(at(10), at(100))!.components], ['noise'], 'a clamp after flatters the change');
  assert.deepEqual([...unlike(at(-20), at(8))!.components], ['noise']);
  // Falling onto the lower clamp after a change is believed: the change may have let the noise in.
  assert.equal(unlike(at(25), at(-20)), null);
  assert.equal(unlike(at(100), at(-20)), null);
  assert.equal(unlike({}, at(-20)), null, 'no reading, nothing to compare');
});

test("typical: hum read only once the station's detector follows the input's line family is not the change's", () => {
  // Eval seed 9 gen-9-17 station 3: 192 Hz hum over a quieter talker; the output's hum reading counts the
  // family only once the detector follows it (input_hum_ratio null, so absent from the digest, until then).
  const at = (hum_ratio: number, snr_db: number, input_hum_ratio?: number): Record<string, number> =>
    input_hum_ratio === undefined ? { hum_ratio, snr_db } : { hum_ratio, snr_db, input_hum_ratio };
  const apart = unlike(at(0.007, 13.7), at(0.345, 5, 0.671), ch('agc_target_dbfs', 'rnnoise_enabled'));
  assert.deepEqual([...apart!.components].sort(), ['hum', 'noise']);
  assert.match(
    apart!.why,
    /the hum read 0\.007 -> 0\.345 of the energy while the station's hum detector had not yet settled/,
  );
  assert.equal(
    unlike(at(0.007, 13.7, 0.6), at(0.345, 5, 0.67), ch('agc_target_dbfs')),
    null,
    'settled: believed',
  );
  assert.equal(
    unlike(at(0.007, 13.7), at(0.345, 5), ch('hum_canceller_enabled')),
    null,
    'the canceller switched: its own doing',
  );
  assert.equal(
    unlike(at(0.007, 13.7), at(0.345, 5), ch('highpass_cutoff_hz')),
    null,
    'the cutoff moved: its own doing',
  );
  assert.equal(
    unlike(at(0.2, 13.7), at(0.3, 13), ch('agc_target_dbfs')),
    null,
    'under 3x: a reading that moves',
  );
  assert.equal(
    unlike(at(0.001, 13.7), at(0.03, 13), ch('agc_target_dbfs')),
    null,
    'under 0.05 of the energy',
  );
});

test("typical: packet loss that moved the way the change cannot move it is the network's, not the change's", () => {
  // Eval seed 9 gen-9-3 station 2: a burst of loss in the judged second read as the step's regression.
  const at = (packet_loss_ratio: number) => ({ snr_db: 20, packet_loss_ratio });
  const jb = (from: number, to: number) => [{ name: 'jitter_buffer_ms', old: from, new: to }];
  const gain = [{ name: 'input_gain_db', old: 0, new: 6 }];
  const apart = unlike(at(0.12), at(0.42), [...gain, ...jb(60, 100)]);
  assert.deepEqual([...apart!.components], ['network']);
  assert.match(
    apart!.why,
    /packet loss went 12\.0% -> 42\.0% between the two seconds, which a longer jitter buffer cannot have done/,
  );
  assert.deepEqual([...unlike(at(0.12), at(0.42), gain)!.components], ['network'], 'the buffer untouched');
  assert.deepEqual(
    [...unlike(at(0.42), at(0.12), gain)!.components],
    ['network'],
    'a fall flatters the change',
  );
  assert.equal(unlike(at(0.12), at(0.42), jb(100, 60)), null, 'a shorter buffer may discard more');
  assert.equal(unlike(at(0.42), at(0.12), jb(60, 100)), null, 'a longer buffer may discard less');
  assert.equal(unlike(at(0.1), at(0.14), gain), null, 'under 5 points: the line as it is');
  assert.equal(unlike(at(0.3), at(0.38), gain), null, 'under 1.5x');
  assert.equal(unlike({ snr_db: 20 }, { snr_db: 20 }, gain), null, 'no network');
});

test("typical: the level is not compared across a 6 dB swing of the talker's own level at the input", () => {
  const at = (input_speech_level_dbov?: number): Record<string, number> =>
    input_speech_level_dbov === undefined ? { snr_db: 20 } : { snr_db: 20, input_speech_level_dbov };
  assert.equal(unlike(at(-27.8), at(-32.2)), null, '4.4 dB: the speech varies that much');
  // The hum share and the blind SNR are shares of the talker's energy: left out with it (gen-5-1 station 10).
  const apart = unlike(at(-27.8), at(-39.9));
  assert.deepEqual([...apart!.components], ['level', 'hum', 'noise']);
  assert.match(apart!.why, /the talker's own level at the input moved -27\.8 -> -39\.9 dBov/);
  assert.match(apart!.why, /hum and noise with it/);
  assert.deepEqual(
    [...unlike(at(-39.9), at(-27.8))!.components],
    ['level', 'hum', 'noise'],
    'a louder talker flatters the change',
  );
  // Unless the change acts on them itself.
  const step = (name: string) => [{ name, old: 0, new: 1 }];
  assert.deepEqual(
    [...unlike(at(-27.8), at(-39.9), step('input_gain_db'))!.components],
    ['level', 'hum', 'noise'],
  );
  assert.deepEqual(
    [...unlike(at(-27.8), at(-39.9), step('hum_canceller_enabled'))!.components],
    ['level', 'noise'],
  );
  assert.deepEqual([...unlike(at(-27.8), at(-39.9), step('rnnoise_enabled'))!.components], ['level', 'hum']);
  assert.deepEqual(
    [
      ...unlike(at(-27.8), at(-39.9), [...step('highpass_cutoff_hz'), ...step('noise_suppression_db')])!
        .components,
    ],
    ['level'],
  );
  assert.equal(unlike(at(), at(-39.9)), null, 'no reading before (no speech, or an older agent)');
  // With the SNR on a clamp as well, both are left out.
  const both = unlike(
    { snr_db: 100, input_speech_level_dbov: -20 },
    { snr_db: 12, input_speech_level_dbov: -30 },
  );
  assert.deepEqual([...both!.components].sort(), ['hum', 'level', 'noise']);
  // The digest carries the input's level when the snapshot has one.
  assert.equal(digest(snap(4, { input_speech_level_dbov: -31 }))['input_speech_level_dbov'], -31);
  assert.equal(digest(snap(4, {}))['input_speech_level_dbov'], undefined);
});

test('typical: a raised input gain is kept when the talker fell quiet in the second that judges it', () => {
  // Eval seed 9 gen-9-17 station 10: +6 dB of input gain, the talker -27.8 -> -39.9 dBov at the input.
  const params = defaultsForStation(10);
  const before = snap(10, {
    audio: { loudness_lufs: -29.5, active_speech_level_dbov: -27.8 },
    input_speech_level_dbov: -27.8,
  });
  const d0 = decide({ snapshot: before, current: params, state: null, now: 0 });
  const gain = d0.proposals.find((p) => p.name === 'input_gain_db');
  assert.ok(gain, d0.analysis);
  const after = { ...params, input_gain_db: gain!.new as number };
  const st = markApplied(d0.state, 2);
  const quiet = (index: number) =>
    snap(10, {
      index,
      version: 2,
      audio: { loudness_lufs: -38.7, active_speech_level_dbov: -33.9 },
      input_speech_level_dbov: -39.9,
    });
  const d1 = decide({ snapshot: quiet(1), current: after, state: st, now: 1 });
  const d2 = d1.state.pending?.suspect
    ? decide({ snapshot: quiet(2), current: after, state: d1.state, now: 2 })
    : null;
  const verdict = d2 ?? d1;
  assert.equal(verdict.rollback, null, verdict.analysis);
  assert.match(
    verdict.analysis,
    /level left out: the talker's own level at the input moved -27\.8 -> -39\.9 dBov/,
  );
  assert.match(verdict.analysis, /kept/);
});

test('typical: movedOn is exactly the score a component moved, the guard factor included', () => {
  // Without the parameters: the settings guards (suppression_need reads the SNR too) stay out.
  const a = scoreSnapshot(snap(3, { audio: { snr_db: 100, crest_factor_db: 7 } }));
  const b = scoreSnapshot(snap(3, { audio: { snr_db: 9.9, crest_factor_db: 7 } }));
  assert.ok(
    a.score <
      100 *
        (a.components.reduce((x, c) => x + c.weight * c.score, 0) /
          a.components.reduce((x, c) => x + c.weight, 0)) -
        1,
    'a guard factor under 1',
  );
  const noise = (s: typeof a) => s.components.find((c) => c.name === 'noise')!.score;
  assert.ok(noise(a) - noise(b) > 0.5, 'the clamp scores the noise as gone');
  // Only the noise moved: taking its move off leaves the baseline's score.
  const moved = movedOn(componentScores(a), b, new Set(['noise']));
  assert.ok(Math.abs(b.score - moved - a.score) < 1e-9, `${b.score} - ${moved} vs ${a.score}`);
  assert.equal(movedOn(componentScores(a), b, new Set()), 0);
  assert.equal(movedOn(componentScores(a), b, new Set(['hum'])), 0, 'hum did not move');
  // With a speech loss read (a factor on the score, not in the mean) it is just as exact.
  const lossy = (snr_db: number) =>
    scoreSnapshot(snap(3, { audio: { snr_db, crest_factor_db: 7 }, speech_loss_db: 6 }));
  const [la, lb] = [lossy(100), lossy(9.9)];
  assert.ok(
    la.components.some((c) => c.name === 'speech_loss' && c.score < 1),
    'the speech loss factor applies',
  );
  const lmoved = movedOn(componentScores(la), lb, new Set(['noise']));
  assert.ok(Math.abs(lb.score - lmoved - la.score) < 1e-9, `${lb.score} - ${lmoved} vs ${la.score}`);
});

/** A first snapshot that proposes, then the change judged on `after` (and on `again` if it waits). */
function judgeAfter(first: SnapOverrides, after: SnapOverrides, again: SnapOverrides = after) {
  const current = defaultsForStation(3);
  const d1 = decide({ snapshot: snap(3, first), current, state: null, now: 0 });
  assert.ok(d1.proposals.length > 0, d1.analysis);
  const applied = { ...current };
  for (const p of d1.proposals) applied[p.name] = p.new;
  const d2 = decide({
    snapshot: snap(3, { ...after, version: 1, index: 1 }),
    current: applied,
    state: markApplied(d1.state, 1),
    now: 3000,
  });
  const d3 = d2.state.pending?.suspect
    ? decide({
        snapshot: snap(3, { ...again, version: 1, index: 2 }),
        current: applied,
        state: d2.state,
        now: 6000,
      })
    : null;
  return { d1, d2, d3, last: d3 ?? d2 };
}

test('typical: a change is not rolled back for a baseline second whose blind SNR sat on the clamp (gen-5-2 station 3)', () => {
  // The call's first second reads 100 dB, every later one about 10 dB, at any suppression.
  const { d1, d2, last } = judgeAfter({ audio: { snr_db: 100 } }, { audio: { snr_db: 9.9 } });
  assert.ok(
    d1.proposals.some((p) => p.name === 'noise_suppression_db'),
    d1.analysis,
  );
  const live = scoreSnapshot(snap(3, { audio: { snr_db: 9.9 } }), d2.state.known_good?.params);
  assert.ok(
    live.score < d1.score.score - ROLLBACK_DROP_POINTS,
    'the raw scores fell by more than a rollback',
  );
  assert.equal(last.rollback, null, last.analysis);
  assert.notEqual(last.verdict?.kind, 'regressed');
  assert.match(last.analysis, /noise left out: the blind SNR read 100\.0 dB before and 9\.9 dB after/);
  // The same fall between two readings off the clamp is the change's doing: confirmed, rolled back.
  const real = judgeAfter({ audio: { snr_db: 60 } }, { audio: { snr_db: 9.9 } });
  assert.ok(
    real.d1.proposals.some((p) => p.name === 'noise_suppression_db'),
    real.d1.analysis,
  );
  assert.match(real.d2.analysis, /looks worse, confirming on the next snapshot/);
  assert.equal(real.last.verdict?.kind, 'regressed', real.last.analysis);
  assert.ok(real.last.rollback);
});

test('typical: what a change may have caused is still rolled back after an unreadable baseline', () => {
  // Speech eaten: the guard collapses and the rollback does not wait, clamp or not.
  const eaten = judgeAfter({ audio: { snr_db: 100 } }, { audio: { snr_db: 9.9, speech_activity: 0.03 } });
  assert.equal(eaten.d3, null, 'no second look when a guard collapsed');
  assert.equal(eaten.last.verdict?.kind, 'regressed', eaten.last.analysis);
  assert.match(eaten.last.rollback?.reason ?? '', /speech_activity dropped/);
  // Noise let in down to the lower clamp: compared, confirmed and rolled back.
  const noisy = { snr_db: 12, noise_floor_dbfs: -45, speech_activity: 0.62 };
  const drowned = judgeAfter({ audio: noisy }, { audio: { ...noisy, snr_db: -20 } });
  assert.equal(drowned.last.verdict?.kind, 'regressed', drowned.last.analysis);
  assert.doesNotMatch(drowned.last.analysis, /left out/);
  assert.ok(drowned.last.rollback);
});

test('typical: an exploratory step is not credited with a blind SNR that jumped onto the clamp', () => {
  const current = defaultsForStation(3);
  const base = snap(3, { audio: { snr_db: 10 } });
  const baseScore = scoreSnapshot(base, current);
  const after = { ...current, noise_suppression_db: 15 };
  const pending: PendingChange = {
    kind: 'change',
    before: current,
    after,
    changes: [{ name: 'noise_suppression_db', old: 12, new: 15 }],
    score_before: baseScore.score,
    metrics_before: digest(base),
    components_before: componentScores(baseScore),
    proposed_at: 0,
    version: 1,
    exploratory: true,
    rule: 'explore',
  };
  const st = { ...initialState(base), pending };
  const judge = (snr_db: number) => {
    const s = snap(3, { audio: { snr_db }, version: 1, index: 1 });
    return judgeChange(st, pending, scoreSnapshot(s, after), s, after, 1000);
  };
  // A real reading that rose: the step gained on what it moves, and is kept.
  assert.equal(judge(25).verdict.kind, 'improved');
  // The estimator gave up on the next second: nothing to credit, back to the known-good set.
  const clamp = judge(100);
  assert.equal(clamp.verdict.kind, 'regressed');
  assert.match(clamp.rollback?.reason ?? '', /gained nothing/);
  assert.match(clamp.verdict.detail, /noise left out/);
});

test('typical: a like-with-like verdict does not count toward convergence; the snapshot’s own score does', () => {
  const current = defaultsForStation(3);
  // Scored without the parameters: only the noise differs between the two seconds.
  const base = snap(3, { audio: { snr_db: 100 } });
  const a = scoreSnapshot(base);
  const pending: PendingChange = {
    kind: 'change',
    before: current,
    after: { ...current, noise_suppression_db: 15 },
    changes: [{ name: 'noise_suppression_db', old: 12, new: 15 }],
    score_before: a.score,
    metrics_before: digest(base),
    components_before: componentScores(a),
    proposed_at: 0,
    version: 1,
    exploratory: false,
    rule: 'noise',
  };
  const st = { ...initialState(base), pending, best_score: a.score, stalled: 1 };
  const now = snap(3, { audio: { snr_db: 9.9 }, version: 1, index: 1 });
  const b = scoreSnapshot(now);
  const j = judgeChange(st, pending, b, now, pending.after, 1000);
  assert.ok(Math.abs(j.verdict.after - a.score) < 1e-9, 'like with like: the noise move taken off');
  assert.equal(j.verdict.kind, 'neutral');
  assert.equal(j.rollback, null);
  // The second scored far under the best: not "judged at the best", so no step toward converging.
  assert.ok(b.score < a.score - 5);
  assert.equal(j.state.stalled, 1);
  assert.equal(j.state.best_score, a.score);
  assert.equal(j.state.known_good?.score, b.score);
});

test('typical: a blind SNR that fell after the hum canceller came on is not the canceller', () => {
  // Eval seed 9 gen-9-18 station 11 (white noise 4 dB over the talker): the canceller on with the AGC's
  // max gain (+3.4 dB) rolled back on 13.5 -> 5.0 dB; over 65 hum stations it never lowered the mean blind SNR.
  const on = [{ name: 'hum_canceller_enabled', old: 0, new: 1 }];
  const gain = [{ name: 'agc_max_gain_db', old: 20, new: 23.4 }];
  const apart = unlike({ snr_db: 13.5 }, { snr_db: 5 }, [...on, ...gain]);
  assert.deepEqual([...apart!.components], ['noise']);
  assert.match(apart!.why, /13\.5 -> 5\.0 dB after the hum canceller came on/);
  assert.equal(unlike({ snr_db: 5 }, { snr_db: 13.5 }, on), null, 'a rise is the canceller’s to keep');
  assert.equal(unlike({ snr_db: 13.5 }, { snr_db: 5 }, gain), null, 'no canceller');
  assert.equal(
    unlike({ snr_db: 13.5 }, { snr_db: 5 }, [...on, ...ch('rnnoise_enabled')]),
    null,
    'RNNoise rode along',
  );
  assert.equal(
    unlike({ snr_db: 13.5 }, { snr_db: 11 }, [...on, ...gain]),
    null,
    'a fall the 3.4 dB AGC step could have made is judged',
  );
  const input = [{ name: 'input_gain_db', old: 0, new: 6 }];
  assert.ok(unlike({ snr_db: 13.5 }, { snr_db: 11 }, [...on, ...input]), 'a static gain moves both alike');
  const off = [{ name: 'hum_canceller_enabled', old: 1, new: 0 }];
  assert.equal(unlike({ snr_db: 13.5 }, { snr_db: 5 }, off), null, 'switched off: judged');
});
