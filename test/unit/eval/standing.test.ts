// The eval's standing set (eval/loop.ts LoopRun.standing): the set the controller stood by when the call
// ended, beside the set its last second ran. Pure: the station chain and controller in process.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation } from '../../../catalog/index.ts';
import { runCallLoop } from '../../../eval/loop.ts';
import type { StationRecord } from '../../../eval/profile.ts';
import { renderSummary, summarize } from '../../../eval/summary.ts';
import { generateProfile } from '../../../stations/sim/generate.ts';
import { simulateCall } from '../../../stations/sim/index.ts';

const same = (a: Record<string, number>, b: Record<string, number>) =>
  Object.keys({ ...a, ...b }).every((k) => Math.abs((a[k] ?? 0) - (b[k] ?? 0)) < 1e-9);

test('eval standing set: a set the call ran; the one before where the last verdict took a step back', () => {
  // Generated profile gen-9-15 (seed 9), station 4: a hot clipped talker with hum. Its call ends on an
  // exploratory step (RNNoise on) that the last second ran and the last verdict took back.
  const set = generateProfile(9, 15);
  const call = simulateCall({ impairments: set, callIndex: 0, seed: 9, segments: 8 });
  const inputs = call.segments.map((s) => s.inputs.get(4)!);
  const run = runCallLoop(4, set.tenants[0] ?? 't', 'c', inputs, { params: defaultsForStation(4) });
  const last = run.params.at(-1)!;
  assert.ok(run.rollbacks > 0);
  assert.ok(!same(run.standing, last), 'the call ended on a step taken back');
  assert.ok(
    run.params.some((p) => same(p, run.standing)),
    `the standing set ran in the call: ${JSON.stringify(run.standing)}`,
  );
  // A call of one second: nothing judged yet, the standing set is the set the call ran.
  const one = runCallLoop(4, 't', 'c1', inputs.slice(0, 1), { params: defaultsForStation(4) });
  assert.ok(same(one.standing, one.params[0]!));
});

test('eval summary: the standing set over the best, and how many stations it differs on', () => {
  const rec = (final: number, standing: number): StationRecord =>
    ({
      profile: 'p',
      station_id: 1,
      final_score: final,
      best_score: 100,
      default_score: 50,
      ratio_to_best: final / 100,
      standing_score: standing,
      standing_over_best: standing / 100,
      reached_at: [2],
      changes: 1,
      rejected: 0,
      rollbacks: 0,
      rank_points: [],
      pesq_default: null,
      pesq_final: null,
      pesq_best: null,
      stoi_default: null,
      stoi_final: null,
      stoi_best: null,
    }) as unknown as StationRecord;
  const s = summarize([rec(90, 90), rec(80, 95), rec(99, 99), rec(70, 60)]);
  assert.equal(s.standing_not_final, 2);
  assert.equal(s.standing_over_best.worst, 0.6);
  assert.equal(s.standing_over_best.n, 4);
  assert.match(
    renderSummary(s),
    /standing\/best: +median 92\.5%.*scores otherwise than the last second's on 2 stations/,
  );
});
