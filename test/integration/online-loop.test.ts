// Issue 4 against the real stack, with the online role running as in the demo: the loop closes call
// by call (a simulated quiet feed to STT gets louder and scores better, segment by segment, through
// changes the agent applies); a bad change an operator forces through the API is rolled back by the
// online optimizer on the first snapshot that runs it, with the evidence in the audit; and a rollback
// through the API restores the previous values at the agent.
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { defaultsForStation, parameterByName, parametersForStation } from '../../catalog/index.ts';
import type { StationSnapshot } from '../../contracts/generated.ts';
import { callAudio } from '../../demo/offline.ts';
import { EVAL_SEGMENTS, judgeSets } from '../../demo/yardstick.ts';
import { openQualityJudge } from '../../quality/index.ts';
import type { StationInput } from '../../stations/pipeline.ts';
import { parseImpairments, simulateCall } from '../../stations/sim/index.ts';
import { startLoop } from '../helpers/loop.ts';
import { token, uniqueId, waitFor } from '../helpers/runtime.ts';

const STATION = 4;
const SEGMENT_MS = 2000;
// The safety layer's call-scope cool-down is 200 ms; the simulated call runs faster than real time, so
// the loop's clock (injected into the change path and the online optimizer) moves this far ahead per
// segment instead of the test sleeping through the cool-down.
const PACE_MS = 300;

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Station 4's input for a call with one profile: `level_db` of speech over white noise 45 dB down. */
function station4Call(levelDb: number, segments: number, seed: number): StationInput[] {
  const impairments = parseImpairments({
    name: 'online-loop-test',
    tenants: ['t'],
    sample_rates: { [STATION]: 16000 },
    stations: { [STATION]: { level_db: levelDb, noise: { type: 'white', snr_db: 45 } } },
  });
  const call = simulateCall({ impairments, callIndex: 0, seed, segments, segmentMs: SEGMENT_MS });
  return call.segments.map((s) => s.inputs.get(STATION)!);
}

/** The roles as the demo runs them, one station agent, and one iteration of the loop. */
async function setUp(t: TestContext) {
  const { cfg, app, agent, tenant, advance, segment } = await startLoop(t, {
    label: 'online',
    roles: ['api', 'relay', 'online'],
    station: STATION,
  });
  const op = token(cfg, 'operator', tenant);
  const api = (url: string, payload: object) =>
    app.api!.inject({ method: 'POST', url, headers: { authorization: op }, payload });
  const applied = (callId: string, version: number) =>
    waitFor(
      `the agent to apply version ${version}`,
      async () => agent.effective(tenant, callId).version >= version,
    );

  /** One iteration: the agent processes a segment, the online optimizer decides, the agent applies. */
  const iterate = async (callId: string, index: number, input: StationInput) => {
    const { res, out } = await segment(callId, index, SEGMENT_MS, input);
    if (out.change?.status === 'applied') await applied(callId, out.change.record!.version);
    advance(PACE_MS);
    return { snapshot: res.snapshot as StationSnapshot, params: res.params, out };
  };
  return { app, agent, tenant, api, applied, iterate, gain: parameterByName('input_gain_db')! };
}

type Loop = Awaited<ReturnType<typeof setUp>>;

/** (a) A quiet feed to STT: the online optimizer raises the score. Returns the call. */
async function scoreRises({ app, iterate, gain }: Loop): Promise<string> {
  const loopCall = uniqueId('loop');
  const inputs = station4Call(-36, 6, 8);
  const runs = [];
  for (const [i, input] of inputs.entries()) runs.push(await iterate(loopCall, i, input));
  const scores = runs.map((r) => r.out.decision.score.score);
  const changes = runs.filter((r) => r.out.change?.status === 'applied' && r.out.rolledBack === null);
  assert.ok(changes.length >= 2, `the optimizer made ${changes.length} change(s); scores ${scores}`);
  const final = mean(scores.slice(-2));
  assert.ok(
    final >= scores[0]! + 8,
    `score rose from ${scores[0]!.toFixed(1)} to ${final.toFixed(1)} (per segment: ${scores.map((s) => s.toFixed(1))})`,
  );
  const lastGain = runs.at(-1)!.params.input_gain_db!;
  assert.ok(lastGain >= 2 * Math.min(3, gain.max_step), `input gain raised to ${lastGain} dB`);
  // The score is not fooling itself: judged by PESQ against the clean speech (the yardstick's audio: the
  // call's last segments through the catalog defaults and through the final set), the quality did not
  // fall with it. (Until 2026-12-04 this read the snapshots' segmental SNR, which is not the field's
  // measure: with RNNoise at this station it fell 3.5 dB where PESQ rose 2.40 -> 3.04.)
  const ref = runs.map((r) => r.snapshot.metrics.reference_seg_snr_db!);
  const judge = await openQualityJudge({ log: () => {} });
  try {
    const q = await judgeSets(judge, STATION, [callAudio(inputs, EVAL_SEGMENTS)], {
      defaults: [defaultsForStation(STATION)],
      final: [runs.at(-1)!.params],
    });
    assert.ok(
      q.final!.pesq !== null && q.defaults!.pesq !== null && q.final!.pesq >= q.defaults!.pesq - 0.02,
      `PESQ ${q.defaults!.pesq} at the defaults, ${q.final!.pesq} with the final set (seg-SNR per segment ${ref.map((x) => x.toFixed(1))})`,
    );
  } finally {
    await judge.close();
  }
  // What ran stayed inside the catalog bounds, and no step between segments exceeded max_step.
  for (const [i, r] of runs.entries()) {
    for (const spec of parametersForStation(STATION)) {
      const v = r.params[spec.name]!;
      assert.ok(v >= spec.min && v <= spec.max, `${spec.name}=${v} within bounds`);
      if (i > 0) {
        const d = Math.abs(v - runs[i - 1]!.params[spec.name]!);
        assert.ok(d <= spec.max_step + 1e-9, `${spec.name} stepped ${d} > ${spec.max_step}`);
      }
    }
  }
  const persisted = await app.rt.pool.query(
    "SELECT count(*)::int AS n FROM optimizer_runs WHERE call_id = $1 AND mode = 'online' AND scorecard IS NOT NULL",
    [loopCall],
  );
  assert.ok(persisted.rows[0].n >= changes.length, 'every acting decision is a persisted run');
  return loopCall;
}

/** (b) A bad change forced through the API is rolled back within one evaluation window. */
async function forcedChangeRolledBack({ app, agent, tenant, api, applied, iterate, gain }: Loop) {
  // A steady talker on the loudness target: the same 2 s of speech in every segment, so the only
  // thing that moves the score is the forced change (segment-to-segment content is held fixed). Speech
  // at -22.7 dB measures about -23 LUFS at the station, inside the level rule's 1.5 LU deadband. (It
  // was -24.9 dB, which measures -25.2 LUFS: 2.2 LU under the target, outside the deadband. The
  // controller left it alone only because every component scored >= 0.95 there and it stopped; under
  // the scorecard fitted to PESQ, which credits the SNR further, it did not stop, and the level rule
  // rightly raised the gain.)
  // The white noise 45 dB under the speech reads about 51 dB under its peaks once the input's margin has
  // settled (the third second), and the noise rule then switches RNNoise on for it (weak noise gained
  // PESQ with it on: optimizer/core/inputNoise.ts); that is the only step the loop may take here. It
  // then asks for nothing for three segments: the station is at rest before the forced change.
  const call = uniqueId('bad');
  const [steady] = station4Call(-22.7, 1, 7);
  let index = 0;
  let quiet = 0;
  for (; index < 8 && quiet < 3; index++) {
    const r = await iterate(call, index, steady!);
    if (r.out.change === null) {
      quiet++;
      continue;
    }
    quiet = 0;
    const asked = r.out.decision.proposals.map((p) => `${p.name}=${p.new}`);
    assert.deepEqual(asked, ['rnnoise_enabled=1'], `on target only RNNoise: ${r.out.decision.analysis}`);
  }
  assert.equal(quiet, 3, 'the loop comes to rest on a steady talker on the loudness target');
  const step = Math.min(6, gain.max_step);
  const forced = await api('/v1/config/update', {
    station_id: STATION,
    scope: { level: 'call', tenant_id: tenant, call_id: call },
    parameters: { input_gain_db: -step },
    reason: 'test: operator turns the STT feed down',
  });
  assert.equal(forced.statusCode, 200, forced.body);
  const bad = forced.json() as { change_id: string; version: number; before: Record<string, number> };
  await applied(call, bad.version);

  const judged = await iterate(call, index++, steady!);
  assert.equal(judged.snapshot.applied_config_version, bad.version, 'this snapshot runs the forced change');
  assert.equal(judged.params.input_gain_db, -step);
  assert.equal(
    judged.out.rolledBack,
    bad.change_id,
    `rolled back on the first snapshot running it: ${judged.out.decision.analysis}`,
  );
  const rb = judged.out.change!;
  assert.equal(rb.status, 'applied');

  const { rows } = await app.rt.pool.query(
    'SELECT change_id, actor, status, reason, rollback_of, after, run_id FROM parameter_changes WHERE call_id = $1 ORDER BY created_at',
    [call],
  );
  const orig = rows.find((r) => r.change_id === bad.change_id);
  assert.equal(orig?.status, 'rolled_back', 'the forced change is marked rolled back');
  const back = rows.find((r) => r.rollback_of === bad.change_id);
  assert.ok(back, `a rollback change linked to ${bad.change_id}: ${JSON.stringify(rows)}`);
  assert.equal(back.status, 'applied');
  assert.match(back.actor, /auto-rollback/);
  assert.match(back.reason, /automatic rollback: score fell from \d+(\.\d+)? to \d+(\.\d+)?/);
  assert.match(back.reason, /user:test-operator/, 'names whose change it undid');
  assert.match(back.reason, /level/, 'the evidence: the level component that fell');
  assert.equal(back.after.input_gain_db, bad.before.input_gain_db);
  const run = await app.rt.pool.query('SELECT verdict FROM optimizer_runs WHERE run_id = $1', [back.run_id]);
  assert.equal(run.rows[0]?.verdict?.kind, 'regressed');

  await applied(call, rb.record!.version);
  assert.deepEqual(agent.effective(tenant, call).params, bad.before, 'the agent runs the set from before');
  const recovered = await iterate(call, index++, steady!);
  assert.ok(
    recovered.out.decision.score.score > judged.out.decision.score.score + 3,
    `score back from ${judged.out.decision.score.score.toFixed(1)} to ${recovered.out.decision.score.score.toFixed(1)}`,
  );
}

/** (c) POST /v1/config/rollback restores the previous values at the agent. */
async function apiRollbackReachesAgent({ app, agent, tenant, api, applied }: Loop, loopCall: string) {
  assert.ok(loopCall, 'needs the call of (a)');
  const { rows } = await app.rt.pool.query(
    "SELECT change_id, before, after, config_version FROM parameter_changes WHERE call_id = $1 AND status = 'applied' ORDER BY created_at DESC LIMIT 1",
    [loopCall],
  );
  const last = rows[0];
  assert.ok(last, 'the loop made at least one change');
  assert.deepEqual(agent.effective(tenant, loopCall).params, last.after, 'the agent runs the last change');
  assert.notDeepEqual(last.before, last.after);
  const res = await api('/v1/config/rollback', {
    change_id: last.change_id,
    reason: 'test: undo the last step',
  });
  assert.equal(res.statusCode, 200, res.body);
  const rb = res.json() as { change_id: string; version: number; after: Record<string, number> };
  assert.deepEqual(rb.after, last.before);
  await applied(loopCall, rb.version);
  const eff = agent.effective(tenant, loopCall);
  assert.deepEqual(eff.params, last.before, 'the agent runs the values from before the change');
  assert.equal(eff.sources.input_gain_db?.change_id, rb.change_id);
  const marked = await app.rt.pool.query(
    'SELECT (SELECT status FROM parameter_changes WHERE change_id = $1) AS orig, (SELECT rollback_of FROM parameter_changes WHERE change_id = $2) AS link',
    [last.change_id, rb.change_id],
  );
  assert.deepEqual(marked.rows[0], { orig: 'rolled_back', link: last.change_id });
}

test('online loop: the score rises, a bad forced change is rolled back, an API rollback reaches the agent', async (t) => {
  const loop = await setUp(t);
  let loopCall = '';
  await t.test('(a) a quiet feed to STT: the online optimizer raises the score', async () => {
    loopCall = await scoreRises(loop);
  });
  await t.test('(b) a bad change forced through the API is rolled back within one evaluation window', () =>
    forcedChangeRolledBack(loop),
  );
  await t.test('(c) POST /v1/config/rollback restores the previous values at the agent', () =>
    apiRollbackReachesAgent(loop, loopCall),
  );
});
