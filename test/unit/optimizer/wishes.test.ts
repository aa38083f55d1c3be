// A rule's standing wish (Finding.wants, moves.ts rememberWishes): where the network rule reads late loss
// but may not grow the buffer (the latency budget is spent), or loss the buffer already covers, model and
// exploratory steps stay off a smaller buffer for a few iterations, through seconds whose bursty loss
// happens to read 0. Pure: no I/O.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation, parametersForStation } from '../../../catalog/index.ts';
import { type ControllerState, decide, markApplied, TABU_ITERATIONS } from '../../../optimizer/core/index.ts';
import { exploreMove } from '../../../optimizer/core/moves.ts';
import { first, proposal, snap } from './snapshots.ts';

test('wishes: late loss held at the latency budget keeps model and exploratory steps off a smaller buffer for a few iterations', () => {
  // Station 10 at 120 ms of buffer, 40 ms of jitter (the rule wants 4x), 3% loss, 400 ms latency:
  // late loss, and the 300 ms budget spent, so the rule grows nothing and says so.
  const current = { ...defaultsForStation(10), jitter_buffer_ms: 120 };
  const held = first(10, { network: { packet_loss_ratio: 0.03, jitter_ms: 40, latency_ms: 400 } }, current);
  assert.match(held.analysis, /late loss\), but the 300 ms latency budget is spent/);
  assert.equal(proposal(held, 'jitter_buffer_ms'), undefined);
  assert.deepEqual(
    held.state.wishes?.map((w) => [w.name, w.direction]),
    [['jitter_buffer_ms', -1]],
  );
  const jb = parametersForStation(10).filter((p) => p.name === 'jitter_buffer_ms');
  const quiet = snap(10, { network: { packet_loss_ratio: 0, jitter_ms: 40, latency_ms: 400 } });
  const explored = (st: ControllerState) =>
    Array.from({ length: 24 }, (_, seed) => exploreMove({ ...st, rng: seed + 1 }, jb, current, quiet).chosen)
      .filter((c) => c !== null)
      .map((c) => Math.sign(c.change.new - c.change.old));
  // The next seconds lose nothing: exploration may still try a bigger buffer, never a smaller one.
  const withWish = explored(held.state);
  assert.ok(withWish.length > 0 && withWish.every((d) => d > 0), `${withWish}`);
  // Without the remembered wish (or once it has run out) both ways are tried.
  assert.ok(explored({ ...held.state, wishes: [] }).includes(-1));
  assert.ok(explored({ ...held.state, iteration: held.state.iteration + TABU_ITERATIONS }).includes(-1));
});

test('wishes: loss the buffer already covers keeps exploratory steps off a smaller buffer too', () => {
  // Station 10 at the default 60 ms, 12 ms of jitter (4x is 48 ms: covered), 6% loss in this second.
  const current = defaultsForStation(10);
  const lossy = first(
    10,
    { network: { packet_loss_ratio: 0.06, jitter_ms: 12, latency_ms: 200, r_factor: 57, mos: 2.94 } },
    current,
  );
  assert.match(lossy.analysis, /the loss is in the network and no buffer size fixes it/);
  assert.deepEqual(
    lossy.state.wishes?.map((w) => [w.name, w.direction]),
    [['jitter_buffer_ms', -1]],
  );
  const jb = parametersForStation(10).filter((p) => p.name === 'jitter_buffer_ms');
  const quiet = snap(10, { network: { packet_loss_ratio: 0, jitter_ms: 12, latency_ms: 200 } });
  const dirs = Array.from(
    { length: 24 },
    (_, seed) => exploreMove({ ...lossy.state, rng: seed + 1 }, jb, current, quiet).chosen,
  )
    .filter((c) => c !== null)
    .map((c) => Math.sign(c.change.new - c.change.old));
  assert.ok(dirs.length > 0 && dirs.every((d) => d > 0), `${dirs}`);
});

test('wishes: a lossy second read while a change is being judged is remembered too', () => {
  // Held-out gen-8-3 station 10: the second that lost 6% was the one judging an input-gain step, and the
  // wish was only read in steps that propose, so the next, loss-free second explored 60 -> 40 ms.
  const loud = first(10, { audio: { loudness_lufs: -17, active_speech_level_dbov: -16 } });
  const step = proposal(loud, 'input_gain_db');
  assert.ok(step, loud.analysis);
  const current = { ...defaultsForStation(10), input_gain_db: step.new };
  const judged = decide({
    snapshot: snap(10, {
      index: 1,
      version: 1,
      // The step overshot: the level now as far under the target as it was over.
      audio: { loudness_lufs: -31, active_speech_level_dbov: -30 },
      network: { packet_loss_ratio: 0.06, jitter_ms: 12, latency_ms: 200, r_factor: 57, mos: 2.94 },
    }),
    current,
    state: markApplied(loud.state, 1),
    now: 3000,
  });
  // Judging ends this step (no rule runs in it): the drop waits for the next second to confirm it.
  assert.match(judged.analysis, /looks worse, confirming on the next snapshot/);
  assert.equal(judged.proposals.length, 0);
  assert.deepEqual(
    judged.state.wishes?.map((w) => [w.name, w.direction]),
    [['jitter_buffer_ms', -1]],
  );
});
