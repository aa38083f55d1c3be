// The online decision's plan without I/O (consumers/online/plan.ts): what acts and what only updates the
// controller's memory, how someone else's call-scoped change is noted for judging, and how an outcome
// settles into the memory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation } from '../../../catalog/index.ts';
import type { ChangeOutcome } from '../../../config/changes.ts';
import {
  type CallMemory,
  type Current,
  noteCallChange,
  planController,
  planExternal,
  settle,
  unknownCallChange,
} from '../../../consumers/online/plan.ts';
import { buildSnapshot } from '../../../domain/snapshot.ts';
import { snapshotInput } from '../../helpers/fixtures.ts';

const ctx = { now: 1_000_000, explore: false, actor: 'optimizer:online', callTtlMs: 60_000 };

function quiet(call: string, version = 0) {
  const input = snapshotInput({ tenant: 't', call, index: 0, station: 4 });
  input.applied_config_version = version;
  const a = input.metrics.audio;
  a.loudness_lufs = -45;
  a.active_speech_level_dbov = -44;
  a.rms_dbfs = -46;
  return buildSnapshot(input);
}

const defaults = (): Current => ({
  params: defaultsForStation(4),
  version: 0,
  callChangeId: null,
  callVersion: 0,
});

test('a quiet feed: the controller plans a change with its run; the applied outcome settles into memory', () => {
  const snap = quiet('c1');
  const mem: CallMemory = { state: null, lastChangeId: null };
  const plan = planController(snap, mem, defaults(), ctx, 'run-1');
  assert.equal(plan.kind, 'act');
  if (plan.kind !== 'act') return;
  assert.ok(plan.req, 'a change request');
  assert.ok((plan.req.set.input_gain_db ?? 0) > 0, `gain raised: ${JSON.stringify(plan.req.set)}`);
  assert.equal(plan.req.runId, 'run-1');
  assert.deepEqual(plan.run.source_snapshot_ids, [snap.snapshot_id]);
  assert.equal(plan.rollbackOf, null);
  assert.equal(mem.state, null, 'planning leaves the memory alone');
  const change = {
    status: 'applied',
    change: { change_id: 'ch-1', after: { ...defaultsForStation(4), ...plan.req.set } },
    record: { version: 7 },
    reasons: [],
    coldParams: [],
  } as unknown as ChangeOutcome;
  const out = settle(snap, mem, plan, change, ctx.now);
  assert.equal(mem.lastChangeId, 'ch-1');
  assert.equal(out.runId, 'run-1');
  assert.equal(mem.recent?.length, 1);
  assert.ok(mem.state, 'the controller state is kept');
});

test("someone else's call change is noted for judging once the controller has a baseline; an A/B arm's is not", () => {
  const cur: Current = { ...defaults(), callChangeId: 'op-1', callVersion: 9 };
  const fresh: CallMemory = { state: null, lastChangeId: null };
  assert.equal(unknownCallChange(fresh, cur), null, 'no baseline yet: nothing to judge against');
  const mem: CallMemory = { state: null, lastChangeId: null, recent: [80, 82], lastComponents: {} };
  assert.equal(unknownCallChange(mem, cur), 'op-1');
  const before = defaultsForStation(4);
  noteCallChange(mem, cur, {
    actor: 'user:op',
    reason: 'turn it down',
    rollback_of: null,
    before,
    after: { ...before, input_gain_db: -6 },
  });
  assert.equal(mem.external?.changeId, 'op-1');
  assert.equal(mem.external?.version, 9);
  assert.equal(mem.external?.scoreBefore, 81);
  assert.deepEqual(mem.external?.changed, ['input_gain_db']);
  assert.deepEqual(mem.external?.before, before);
  assert.equal(unknownCallChange(mem, cur), null, 'noted once');
  // A snapshot still running the version before it is not judged yet.
  assert.equal(planExternal(quiet('c2', 8), mem, cur, ctx, 'r'), null);
  assert.ok(mem.external, 'still waiting');

  const arm: CallMemory = { state: null, lastChangeId: null, recent: [80] };
  noteCallChange(arm, cur, { actor: 'ab:exp-1', reason: 'arm', rollback_of: null, before, after: before });
  assert.equal(arm.external, undefined);
  assert.equal(arm.lastChangeId, 'op-1', "an experiment's change is taken as known");
});
