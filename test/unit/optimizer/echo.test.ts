// The residual echo in the scorecard and the echo rule (optimizer/core/echo.ts): an echo whose path runs
// past the end of the canceller's tail asks for a longer tail, in effect at once (the canceller resizes in
// place); one whose strongest tap lies past the tail is the canceller's own to reach (its bulk delay).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation } from '../../../catalog/index.ts';
import { initialState, scoreSnapshot } from '../../../optimizer/core/index.ts';
import { judgeChange } from '../../../optimizer/core/judge.ts';
import { first, pendingOn, proposal, snap } from './snapshots.ts';

test('scorecard: the residual echo scores 1 at 30 dB down, 0 at 3 dB down; absent without a far end', () => {
  const echo = (db: number | null) =>
    scoreSnapshot(snap(1, { residual_echo_db: db, echo_delay_ms: db === null ? null : 150 })).components.find(
      (c) => c.name === 'echo',
    );
  assert.equal(echo(null), undefined);
  assert.equal(echo(-40)?.score, 1);
  assert.equal(echo(-30)?.score, 1);
  assert.ok(Math.abs((echo(-16.5)?.score as number) - 0.5) < 1e-9);
  assert.equal(echo(-2)?.score, 0);
  assert.match(
    echo(-10)?.detail as string,
    /echo of the far end holds -10\.0 dB of the output, 150 ms behind it/,
  );
  // As heavy as the level: an echo as loud as the talker costs a clean station a sixth of its score or more.
  const clean = scoreSnapshot(snap(1, { residual_echo_db: -40 })).score;
  const echoed = scoreSnapshot(snap(1, { residual_echo_db: -2, echo_delay_ms: 150 })).score;
  assert.ok(echoed < clean * 0.85, `${clean} -> ${echoed}`);
});

test('controller: an echo running past the tail lengthens it; one beyond the tail, within it or faint, no move', () => {
  const past = first(1, { residual_echo_db: -6, echo_delay_ms: 50 });
  const t = proposal(past, 'echo_canceller_tail_ms');
  assert.ok(t, past.analysis);
  // 64 -> toward 90 ms (the peak and 40 ms of path after it); hot, so it is judged within the call.
  assert.equal(t.new, 90);
  assert.match(t.reason, /50 ms behind it: past the 64 ms echo canceller tail, lengthening it$/);
  assert.doesNotMatch(past.analysis, /queued for the next call/);
  // The strongest tap past the tail by less than one step (32 ms): the tail grows over it, sooner than
  // the window would move (the demo's station 1: an 80 ms echo read at 89 ms behind a 64 ms tail).
  const near = first(1, { residual_echo_db: -5, echo_delay_ms: 89 });
  const n = proposal(near, 'echo_canceller_tail_ms');
  assert.ok(n, near.analysis);
  assert.equal(n.new, 96);
  assert.match(n.reason, /its peak past the 64 ms echo canceller tail by less than a step, lengthening it/);
  // Past it by more than a step: the canceller moves its window there itself.
  const beyond = first(1, { residual_echo_db: -6, echo_delay_ms: 150 });
  assert.equal(proposal(beyond, 'echo_canceller_tail_ms'), undefined);
  assert.match(beyond.analysis, /the canceller places its window on it/);
  assert.equal(
    proposal(first(1, { residual_echo_db: -6, echo_delay_ms: 97 }), 'echo_canceller_tail_ms'),
    undefined,
  );
  // 60 ms as read holds the canceller's 8 ms block: its peak (52 ms) is one the window reaches from zero,
  // so the path past the tail is the rule's.
  assert.ok(proposal(first(1, { residual_echo_db: -6, echo_delay_ms: 60 }), 'echo_canceller_tail_ms'));
  const within = first(1, { residual_echo_db: -6, echo_delay_ms: 20 });
  assert.equal(proposal(within, 'echo_canceller_tail_ms'), undefined);
  assert.match(within.analysis, /within the 64 ms tail/);
  assert.equal(
    proposal(first(1, { residual_echo_db: -25, echo_delay_ms: 150 }), 'echo_canceller_tail_ms'),
    undefined,
  );
  // No reading (no far end): nothing to go on.
  assert.equal(proposal(first(1, {}), 'echo_canceller_tail_ms'), undefined);
});

test("judge: a tail step is not blamed for the E-model's MOS, which it cannot move (gen-5-1 station 10)", () => {
  // A lossier second lowers the MOS under a step of the tail, the echo unchanged: the drop is the line's.
  // The jitter buffer, which does move loss and delay, is still judged on it.
  const before = defaultsForStation(10);
  const base = snap(10, { residual_echo_db: -20, echo_delay_ms: 70 });
  const now = snap(10, {
    index: 1,
    residual_echo_db: -20,
    echo_delay_ms: 70,
    network: { mos: 1.6, r_factor: 30 },
  });
  const judge = (name: string, to: number) => {
    const after = { ...before, [name]: to };
    const p = pendingOn(base, before, after, [{ name, old: before[name]!, new: to }]);
    return judgeChange(
      { ...initialState(base), iteration: 2, pending: p },
      p,
      scoreSnapshot(now, after),
      now,
      after,
      0,
    );
  };
  const tail = judge('echo_canceller_tail_ms', 96);
  assert.ok(tail.verdict.after <= tail.verdict.before - 3, tail.verdict.detail);
  assert.equal(tail.rollback, null, tail.verdict.detail);
  assert.match(tail.verdict.detail, /on components this change does not touch/);
  const buffer = judge('jitter_buffer_ms', 100);
  assert.match(buffer.verdict.detail, /looks worse, confirming on the next snapshot/);
});
