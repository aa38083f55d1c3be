// What a judged step bars afterwards (judge.ts judgeChange, moves.ts isTabu): a step that regressed
// bars its direction to everyone for a few iterations; an exploratory step that only gained nothing
// bars exploration, not a rule that reads a reason for the same move. Pure: no I/O.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation, parametersForStation } from '../../../catalog/index.ts';
import {
  type ControllerState,
  componentScores,
  initialState,
  scoreSnapshot,
} from '../../../optimizer/core/index.ts';
import { judgeChange } from '../../../optimizer/core/judge.ts';
import { choose, exploreMove, isTabu } from '../../../optimizer/core/moves.ts';
import type { Finding } from '../../../optimizer/core/rules.ts';
import { digest, type PendingChange } from '../../../optimizer/core/state.ts';
import { snap } from './snapshots.ts';

const STATION = 3;
const before = defaultsForStation(STATION);
const after = { ...before, hum_canceller_enabled: 1 };
const base = snap(STATION, {});

function pending(exploratory: boolean): PendingChange {
  const score = scoreSnapshot(base, before);
  return {
    kind: 'change',
    before,
    after,
    changes: [{ name: 'hum_canceller_enabled', old: 0, new: 1 }],
    score_before: score.score,
    metrics_before: digest(base),
    components_before: componentScores(score),
    proposed_at: 0,
    version: 2,
    exploratory,
    rule: exploratory ? 'explore' : 'hum',
  };
}

/** The state after judging the step on a snapshot like the one before it (no gain, no loss). */
function judged(exploratory: boolean): ControllerState {
  const p = pending(exploratory);
  const st: ControllerState = { ...initialState(base), iteration: 3, pending: p };
  const now = snap(STATION, { index: 1 });
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
