// What a judged step bars afterwards (judge.ts judgeChange, moves.ts isTabu): a step that regressed
// bars its direction to everyone for a few iterations; an exploratory step that only gained nothing
// bars exploration, not a rule that reads a reason for the same move. Pure: no I/O.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation, parametersForStation } from '../../../catalog/index.ts';
import {
  type ControllerState,
  decide,
  initialState,
  markApplied,
  scoreSnapshot,
} from '../../../optimizer/core/index.ts';
import { judgeChange } from '../../../optimizer/core/judge.ts';
import {
  againstWish,
  choose,
  exploreMove,
  isTabu,
  KEPT_SWITCH_ITERATIONS,
  keepSwitches,
} from '../../../optimizer/core/moves.ts';
import type { Finding } from '../../../optimizer/core/rules.ts';
import type { PendingChange } from '../../../optimizer/core/state.ts';
import { pendingOn, snap } from './snapshots.ts';

const STATION = 3;
const before = defaultsForStation(STATION);
const after = { ...before, hum_canceller_enabled: 1 };
const base = snap(STATION, {});
// A second without a hum reading: an explored canceller over one that read hum stays on (hum.ts
// cancellerKeptNeutral), so the fruitless exploration here is one over no hum.
const humless = snap(STATION, { audio: { hum_ratio: 0 } });

function pending(exploratory: boolean): PendingChange {
  const changes = [{ name: 'hum_canceller_enabled', old: 0, new: 1 }];
  return pendingOn(humless, before, after, changes, { exploratory, rule: exploratory ? 'explore' : 'hum' });
}

/** The state after judging the step on a snapshot like the one before it (no gain, no loss). */
function judged(exploratory: boolean): ControllerState {
  const p = pending(exploratory);
  const st: ControllerState = { ...initialState(humless), iteration: 3, pending: p };
  const now = snap(STATION, { index: 1, audio: { hum_ratio: 0 } });
  return judgeChange(st, p, scoreSnapshot(now, after), now, after, 0).state;
}

const humFinding: Finding = {
  rule: 'hum',
  priority: 1,
  observation: 'the input holds a steady hum',
  moves: [{ name: 'hum_canceller_enabled', desired: 1, reason: 'hum' }],
};

test('tabu: an exploratory step that gained nothing bars exploration, not a rule with a reason', () => {
  const st = judged(true);
  const entry = st.tabu.find((t) => t.name === 'hum_canceller_enabled');
  assert.ok(entry, 'the fruitless step is remembered');
  assert.equal(entry.fruitless, true);
  assert.equal(entry.direction, 1);
  // Exploration and the model step do not repeat it...
  assert.equal(isTabu(st, 'hum_canceller_enabled', 1), true);
  const specs = parametersForStation(STATION);
  for (let rng = 1; rng < 40; rng++) {
    const ex = exploreMove({ ...st, rng }, specs, before, base);
    assert.notEqual(ex.chosen?.change.name === 'hum_canceller_enabled' && ex.chosen.change.new, 1);
  }
  // ...but the hum rule, reading a hum, may switch the canceller on.
  const notes: string[] = [];
  const chosen = choose([humFinding], st, new Map(specs.map((p) => [p.name, p])), before, base, notes);
  assert.deepEqual(
    chosen.map((c) => [c.change.name, c.change.new]),
    [['hum_canceller_enabled', 1]],
    notes.join(' '),
  );
});

test('tabu: a step that regressed bars a rule too', () => {
  const st: ControllerState = {
    ...initialState(base),
    tabu: [{ name: 'hum_canceller_enabled', direction: 1, until_iteration: 9 }],
  };
  const specs = new Map(parametersForStation(STATION).map((p) => [p.name, p]));
  const notes: string[] = [];
  assert.deepEqual(choose([humFinding], st, specs, before, base, notes), []);
  assert.match(notes.join(' '), /Not repeating hum_canceller_enabled up: that regressed recently/);
  // A rule's own step, judged no better, is kept (not rolled back), so it bars nothing.
  assert.deepEqual(judged(false).tabu, []);
});

test('tabu: a switch a rule threw and the judge kept is not explored back for the rest of the call', () => {
  const specs = parametersForStation(STATION);
  const byName = new Map(specs.map((p) => [p.name, p]));
  const explored = (st: ControllerState) =>
    Array.from({ length: 60 }, (_, rng) => exploreMove({ ...st, rng: rng + 1 }, specs, after, base).chosen)
      .filter((c) => c?.change.name === 'hum_canceller_enabled')
      .map((c) => c!.change.new);
  // Without the wish, exploration does try the canceller off (so the check below is not vacuous).
  assert.ok(explored(initialState(base)).includes(0));
  const st = keepSwitches(
    { ...initialState(base), iteration: 3 },
    [
      { name: 'hum_canceller_enabled', old: 0, new: 1 },
      { name: 'input_gain_db', old: 0, new: 3 },
    ],
    byName,
  );
  assert.deepEqual(explored(st), []);
  assert.equal(againstWish(st, 'hum_canceller_enabled', -1), true);
  assert.equal(
    againstWish({ ...st, iteration: 3 + KEPT_SWITCH_ITERATIONS - 1 }, 'hum_canceller_enabled', -1),
    true,
  );
  // Only switches: a continuous parameter's step teaches its radius (trust.ts), no wish.
  assert.equal(againstWish(st, 'input_gain_db', -1), false);
  // A rule may still switch it back (the hum stopped): wishes bar only model and exploratory steps.
  const off: Finding = {
    rule: 'hum',
    priority: 1,
    observation: 'no hum left',
    moves: [{ name: 'hum_canceller_enabled', desired: 0, reason: 'no hum' }],
  };
  const chosen = choose([off], st, byName, after, base, []);
  assert.deepEqual(
    chosen.map((c) => [c.change.name, c.change.new]),
    [['hum_canceller_enabled', 0]],
  );
});

test('tabu: the controller remembers a switch its rule threw once the judge keeps it', () => {
  const hum = { hum_ratio: 0.12 };
  const d1 = decide({ snapshot: snap(STATION, { audio: hum }), current: before, state: null, now: 0 });
  const on = d1.proposals.find((p) => p.name === 'hum_canceller_enabled');
  assert.equal(on?.new, 1, d1.analysis);
  const running = { ...before, ...Object.fromEntries(d1.proposals.map((p) => [p.name, p.new])) };
  const d2 = decide({
    snapshot: snap(STATION, { audio: { hum_ratio: 0.001 }, version: 1, index: 1 }),
    current: running,
    state: markApplied(d1.state, 1),
    now: 1000,
  });
  assert.match(d2.analysis, /improved; kept/);
  assert.equal(againstWish(d2.state, 'hum_canceller_enabled', -1), true, d2.analysis);
});
