// Issue 6, item 4 against the real stack: A/B rollouts whose treatments are truly better, truly worse
// and truly equal, with the scores coming out of the real pipeline — simulated calls through a
// StationAgent (station 4, a quiet or a hot feed to STT, scored on the blind metrics), snapshots on Kafka, persisted to PostgreSQL with the
// PCM in S3, the treatment delivered as call-scoped config on the compacted topic. The recorded
// numbers in optimizer_runs are checked against the persisted snapshots they came from.
//
// The assignment is made the same on every run: call i's audio depends only on i, and its id (unique
// per run, since a call id belongs to one tenant for good) is picked so that it hashes into the same
// arm as the fixed name `ab-<tag>-<i>` under the given salt. Every number of each experiment is then
// the same on every run; arbitrary per-run arms would make the equal-treatment case end in a (false)
// verdict alpha of the time by design. Each run has its own tenants, topics and config stream.
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { mean, sampleStandardDeviation } from 'simple-statistics';
import { parameterByName } from '../../catalog/index.ts';
import type { StationSnapshot } from '../../contracts/generated.ts';
import { assignArm, type ExperimentView, type VerdictRecord, welchTest } from '../../optimizer/ab/index.ts';
import { scoreSnapshot } from '../../optimizer/core/index.ts';
import { startApp } from '../../runtime/app.ts';
import { startStationAgent } from '../../stations/agent/index.ts';
import { parseImpairments, type SimulatedCall, simulateCall } from '../../stations/sim/index.ts';
import { cleanupTopics, defer, testSettings, token, uniqueId, waitFor } from '../helpers/runtime.ts';

const STATION = 4;
// Segment 0 enrolls the call; segments 1-4 are its observation. One observation averages 4 s of
// speech: with fewer, which prompts a call happens to hold dominates the spread of the scores.
const SEGMENTS = 5;
const SALT = 'ab-test-salt-1';
const RUN = uniqueId('run');

/** A per-run call id that lands in the same arm as `name` (see the header). */
function stableArmId(name: string): string {
  const want = assignArm(SALT, name, DESIGN.treatment_share);
  for (let k = 0; ; k++) {
    const id = `${name}-${RUN}-${k}`;
    if (assignArm(SALT, id, DESIGN.treatment_share) === want) return id;
  }
}
/** Station 4's feed: speech `levelDb` under full scale over faint white noise. */
const feed = (name: string, levelDb: number) =>
  parseImpairments({
    name,
    tenants: ['t'],
    sample_rates: { [STATION]: 16000 },
    stations: { [STATION]: { level_db: levelDb, noise: { type: 'white', snr_db: 35 } } },
  });
// Speech 30 dB under full scale, about 8 LU under the loudness target the recognizer is fed at: inside
// the scorecard's level ramp, so 3 dB more gain is better for it (the better and the equal arms). (This
// test once fed -47 dBov and relied on a modelled STT confidence; station 4's confidence now comes from
// the recognizer, an agent stage engine this test does not run.) 3 dB is within input_gain_db's max step.
const QUIET = feed('ab-quiet-feed', -30);
// Speech 12 dB under full scale, already above the target: 6 dB more gain (input_gain_db's max step)
// drives its peaks into the -1 dBFS limiter, which flattens them. That is worse by the listener's
// measures, not only by the level: offline on this feed's calls 0-11 (the pipeline as the agent runs
// it), PESQ-WB fell on 12 of 12 calls (mean 1.77 -> 1.67) and STOI 0.990 -> 0.945. This arm used to
// be 3 dB less gain into the quiet feed, which PESQ and STOI do not hear at all (both identical to
// three decimals on the same calls): only the level target made it "worse", and the scorecard fitted
// to PESQ rightly weighs the level less, so the guardrail could not tell it from noise.
const HOT = feed('ab-hot-feed', -12);
const DESIGN = {
  treatment_share: 0.5,
  min_sample_per_arm: 12,
  max_sample_per_arm: 24,
  looks: 2,
  alpha: 0.05,
  segments_per_call: 4,
  // Guardrail looks at 4, 7, 10, ... calls per arm: three chances to stop before the first main look.
  guardrail: { alpha: 0.01, min_sample_per_arm: 4, every: 3, min_drop_points: 1 },
};
const MAX_CALLS = 90;

const sims = new Map<string, SimulatedCall>();
function sim(impairments: typeof QUIET, i: number): SimulatedCall {
  const key = `${impairments.name}/${i}`;
  let c = sims.get(key);
  if (!c) {
    c = simulateCall({ impairments, callIndex: i, seed: 2024, segments: SEGMENTS });
    sims.set(key, c);
  }
  return c;
}

interface CallRow {
  call_id: string;
  arm: 'control' | 'treatment';
  status: string;
  bucket: number;
  enrolled_segment: number;
  change_id: string | null;
  config_version: string | null;
  score: number | null;
  snapshot_ids: string[] | null;
  observation_seq: string | null;
}

/** The roles, one station agent, and the API as an operator calls it. */
async function setUp(t: TestContext) {
  const cfg = testSettings('ab');
  cleanupTopics(t, cfg);
  const app = await startApp(cfg, ['api', 'persister', 'relay', 'experiments'], { listen: false });
  defer(t, () => app.stop());
  const agents = await startStationAgent(app.rt, {
    topics: cfg.topics,
    agentId: uniqueId('ab-agent'),
    stations: [STATION],
  });
  defer(t, () => agents.stop());
  return {
    cfg,
    app,
    agent: agents.station(STATION),
    pool: app.rt.pool,
    api: (method: 'GET' | 'POST', url: string, auth: string, payload?: object) =>
      app.api!.inject({ method, url, headers: { authorization: auth }, ...(payload ? { payload } : {}) }),
    reports: {} as Record<string, unknown>,
  };
}

type Ab = Awaited<ReturnType<typeof setUp>>;

const status = async ({ pool }: Ab, id: string) =>
  (await pool.query('SELECT status FROM ab_experiments WHERE experiment_id = $1', [id])).rows[0]
    ?.status as string;

/** Drives simulated calls of a tenant through the agent until the experiment ends. */
async function drive(ab: Ab, tenant: string, id: string, tag: string, feedOf = QUIET): Promise<number> {
  const { agent, pool } = ab;
  let calls = 0;
  for (let i = 0; i < MAX_CALLS && (await status(ab, id)) === 'running'; i++) {
    const callId = stableArmId(`ab-${tag}-${String(i).padStart(3, '0')}`);
    for (const seg of sim(feedOf, i).segments) {
      const input = seg.inputs.get(STATION)!;
      await agent.processSegment(
        { tenantId: tenant, callId, channel: 'A', codec: 'pcmu', labels: input.labels },
        { index: seg.index, startMs: seg.startMs, endMs: seg.endMs },
        input,
      );
      if (seg.index > 0) continue;
      // A live call's next segment comes a second later; here the test waits for the enrollment
      // (and a treatment's config at the agent) instead, so every call is scored on segments 1-4.
      const row = await waitFor(
        `enrollment of ${callId}`,
        async () =>
          (
            await pool.query<CallRow>('SELECT * FROM ab_calls WHERE experiment_id = $1 AND call_id = $2', [
              id,
              callId,
            ])
          ).rows[0] ?? ((await status(ab, id)) !== 'running' ? ({ status: 'closed' } as CallRow) : undefined),
        15_000,
        10,
      );
      if (row.status === 'enrolled' && row.arm === 'treatment') {
        await waitFor(
          `treatment config at the agent for ${callId}`,
          async () => agent.effective(tenant, callId).version >= Number(row.config_version),
          15_000,
          5,
        );
      }
    }
    agent.endCall(tenant, callId);
    calls++;
  }
  await waitFor('the verdict', async () => (await status(ab, id)) !== 'running', 30_000, 100);
  return calls;
}

async function start(ab: Ab, tenant: string, treatment: Record<string, number>, reason: string) {
  const { cfg, app, api } = ab;
  const res = await api('POST', '/v1/experiments', token(cfg, 'operator', tenant), {
    station_id: STATION,
    scope: { level: 'tenant', tenant_id: tenant },
    treatment,
    ...DESIGN,
    salt: SALT,
    reason,
  });
  assert.equal(res.statusCode, 201, res.body);
  const view = res.json() as ExperimentView;
  assert.equal(view.status, 'running');
  assert.deepEqual(view.control, (await app.changes.effective(STATION, view.scope)).params);
  return view;
}

/**
 * The recorded verdict against the data: the first n scored calls of each arm (in scoring order)
 * are re-scored from their persisted snapshots, checked to belong to the arm, and the test is re-run.
 */
async function checkNumbers(ab: Ab, tenant: string, id: string, treatment: Record<string, number>) {
  const { pool } = ab;
  const run = (await pool.query('SELECT * FROM optimizer_runs WHERE run_id = $1', [id])).rows[0];
  assert.equal(run.mode, 'experiment');
  const v = run.verdict;
  const calls = (
    await pool.query<CallRow>('SELECT * FROM ab_calls WHERE experiment_id = $1 ORDER BY observation_seq', [
      id,
    ])
  ).rows;
  for (const c of calls) assert.equal(c.arm, assignArm(SALT, c.call_id, DESIGN.treatment_share), c.call_id);
  const arms = { control: [] as number[], treatment: [] as number[] };
  for (const arm of ['control', 'treatment'] as const) {
    const firstN = calls.filter((c) => c.arm === arm && c.status === 'scored').slice(0, v.look.n);
    assert.equal(firstN.length, v.look.n, `${arm} has ${firstN.length} scored calls`);
    for (const c of firstN) {
      const { rows } = await pool.query<{
        tenant_id: string;
        call_id: string;
        station_id: number;
        segment_index: number;
        applied_config_version: string;
        metrics: StationSnapshot['metrics'];
        targets: StationSnapshot['targets'];
        audio_key: string | null;
      }>('SELECT * FROM station_snapshots WHERE snapshot_id = ANY($1) ORDER BY segment_index', [
        c.snapshot_ids,
      ]);
      assert.equal(rows.length, DESIGN.segments_per_call);
      const scores = rows.map((r) => {
        assert.equal(r.tenant_id, tenant);
        assert.equal(r.call_id, c.call_id);
        assert.equal(r.station_id, STATION);
        assert.ok(r.segment_index > c.enrolled_segment, 'the enrolling segment is not scored');
        assert.ok(r.audio_key, 'the PCM went to S3');
        if (arm === 'treatment')
          assert.ok(Number(r.applied_config_version) >= Number(c.config_version), 'ran the treatment');
        else assert.equal(Number(r.applied_config_version), 0, 'control ran the defaults');
        // The arms are judged by the chain's score (without the input's factors, as the optimizers judge).
        const snap = { ...r, segment: { index: r.segment_index } } as unknown as StationSnapshot;
        return scoreSnapshot(snap, undefined, { input: false }).score;
      });
      assert.ok(Math.abs(mean(scores) - c.score!) < 1e-9, `${c.call_id}: ${mean(scores)} vs ${c.score}`);
      arms[arm].push(mean(scores));
    }
  }
  const close = (a: number, b: number, what: string) =>
    assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);
  close(v.control.mean, mean(arms.control), 'control mean');
  close(v.treatment.mean, mean(arms.treatment), 'treatment mean');
  close(v.control.sd, sampleStandardDeviation(arms.control), 'control sd');
  close(v.treatment.sd, sampleStandardDeviation(arms.treatment), 'treatment sd');
  assert.equal(v.control.n, v.look.n);
  assert.equal(v.treatment.n, v.look.n);
  const again = welchTest(arms.control, arms.treatment, v.alternative, v.alpha_per_look);
  close(v.statistic, again.statistic, 't');
  close(v.df, again.df, 'df');
  close(v.p_value, again.p_value, 'p');
  close(v.effect_size.hedges_g, again.hedges_g, 'g');
  assert.equal(v.test.startsWith("Welch's"), true);
  assert.match(run.analysis, new RegExp(Object.keys(treatment)[0]!));
  assert.ok(run.finished_at);
  assert.equal(run.scorecard.control.stations[0].station_id, STATION);
  return { run, v, calls };
}

const summary = (v: VerdictRecord) => ({
  kind: v.kind,
  look: `${v.look?.kind} ${v.look?.index} at n = ${v.look?.n} per arm`,
  control: `${v.control?.mean.toFixed(2)} (sd ${v.control?.sd.toFixed(2)})`,
  treatment: `${v.treatment?.mean.toFixed(2)} (sd ${v.treatment?.sd.toFixed(2)})`,
  difference: v.difference?.toFixed(2),
  t: v.statistic?.toFixed(3),
  df: v.df?.toFixed(1),
  p: v.p_value?.toExponential(3),
  alpha_per_look: v.alpha_per_look,
  hedges_g: v.effect_size?.hedges_g.toFixed(2),
});

/** Bad requests are refused with the field named, and nothing starts; a running experiment excludes a second. */
async function badRequests(ab: Ab) {
  const { cfg, app, pool, api } = ab;
  const tenant = uniqueId('abbad');
  const op = token(cfg, 'operator', tenant);
  const base = {
    station_id: STATION,
    scope: { level: 'tenant', tenant_id: tenant },
    treatment: { input_gain_db: 3 },
    reason: 'bad input test',
  };
  const cases: [object, number, string][] = [
    [{ ...base, station_id: 99 }, 400, 'station_id'],
    [{ ...base, treatment: { volume_knob: 1 } }, 400, 'treatment.volume_knob'],
    [{ ...base, treatment: { jitter_buffer_ms: 80 } }, 400, 'treatment.jitter_buffer_ms'],
    [{ ...base, treatment: { input_gain_db: '3' } }, 400, 'treatment.input_gain_db'],
    [{ ...base, treatment_share: 1.5 }, 400, 'treatment_share'],
    [{ ...base, min_sample_per_arm: 20, max_sample_per_arm: 10 }, 400, 'max_sample_per_arm'],
    [{ ...base, guardrail: { alpha: 0.2 } }, 400, 'guardrail.alpha'],
    [{ ...base, scope: { level: 'tenant' } }, 400, 'scope.tenant_id'],
    [{ ...base, scope: { level: 'call', tenant_id: tenant } }, 400, 'scope.level'],
    [{ ...base, colour: 'red' }, 400, 'colour'],
    [
      { ...base, treatment: { input_gain_db: 3 + 2 * parameterByName('input_gain_db')!.max_step } },
      422,
      'treatment.input_gain_db',
    ],
    [{ ...base, treatment: { input_gain_db: 0 } }, 422, 'treatment'],
  ];
  for (const [body, code, field] of cases) {
    const res = await api('POST', '/v1/experiments', op, body);
    assert.equal(res.statusCode, code, `${JSON.stringify(body)} -> ${res.body}`);
    assert.ok(
      res.json().details.some((d: { field?: string }) => d.field === field),
      `${res.body} does not name ${field}`,
    );
  }
  const other = await api('POST', '/v1/experiments', token(cfg, 'operator', 'someone-else'), base);
  assert.equal(other.statusCode, 403);
  const global = await api('POST', '/v1/experiments', op, { ...base, scope: { level: 'global' } });
  assert.equal(global.statusCode, 403, 'a tenant operator may not experiment on the global defaults');
  const n = await pool.query(
    'SELECT count(*)::int AS n FROM ab_experiments e JOIN optimizer_runs r ON r.run_id = e.experiment_id WHERE e.tenant_id = $1',
    [tenant],
  );
  assert.equal(n.rows[0].n, 0);

  // A running experiment excludes a second one at the same station and scope; a stop ends it.
  const first = await start(ab, tenant, { input_gain_db: 3 }, 'conflict test');
  const second = await api('POST', '/v1/experiments', op, base);
  assert.equal(second.statusCode, 409, second.body);
  assert.match(second.json().message, new RegExp(first.experiment_id));
  const viewer = await api(
    'GET',
    `/v1/experiments/${first.experiment_id}`,
    token(cfg, 'viewer', 'someone-else'),
  );
  assert.equal(viewer.statusCode, 403);
  const badId = await api('GET', '/v1/experiments/not-a-uuid', op);
  assert.equal(badId.statusCode, 400);
  const stopped = await api('POST', `/v1/experiments/${first.experiment_id}/stop`, op, {
    reason: 'test: manual stop',
  });
  assert.equal(stopped.statusCode, 200, stopped.body);
  assert.equal(stopped.json().status, 'stopped');
  assert.equal(stopped.json().verdict.kind, 'stopped');
  assert.equal(stopped.json().run.status, 'stopped');
  const again = await api('POST', `/v1/experiments/${first.experiment_id}/stop`, op, {
    reason: 'test: twice',
  });
  assert.equal(again.statusCode, 409);
  const doc = (await app.api!.inject({ method: 'GET', url: '/openapi.json' })).json();
  for (const path of ['/v1/experiments', '/v1/experiments/{id}', '/v1/experiments/{id}/stop'])
    assert.ok(doc.paths[path], `${path} is in the OpenAPI document`);
}

/** A truly better treatment (+3 dB into a quiet STT feed) is promoted to the tenant default. */
async function betterPromoted(ab: Ab) {
  const { cfg, agent, pool, api, reports } = ab;
  const tenant = uniqueId('abup');
  const treatment = { input_gain_db: 3 };
  const exp = await start(ab, tenant, treatment, 'test: louder STT feed');
  const calls = await drive(ab, tenant, exp.experiment_id, 'up');
  const { run, v } = await checkNumbers(ab, tenant, exp.experiment_id, treatment);
  reports['better'] = { calls_driven: calls, ...summary(v) };
  assert.equal(v.kind, 'promote');
  assert.equal(v.look.kind, 'main');
  assert.ok(v.p_value < v.alpha_per_look && v.alpha_per_look === DESIGN.alpha / DESIGN.looks);
  assert.ok(v.difference > 0 && v.treatment.mean > v.control.mean);
  assert.equal(run.status, 'completed');
  assert.equal(v.action.kind, 'promoted');
  assert.deepEqual(
    run.new_parameters.map((p: { name: string; old: number; new: number }) => [p.name, p.old, p.new]),
    [['input_gain_db', 0, 3]],
  );
  // The promotion went through the safe path: a tenant-scoped change by the experiment, in effect.
  const ch = (await pool.query('SELECT * FROM parameter_changes WHERE change_id = $1', [v.action.change_id]))
    .rows[0];
  assert.equal(ch.actor, `ab:${exp.experiment_id}`);
  assert.equal(ch.run_id, exp.experiment_id);
  assert.equal(ch.scope_level, 'tenant');
  assert.equal(ch.status, 'applied');
  const eff = await api(
    'GET',
    `/v1/config?station_id=${STATION}&tenant_id=${tenant}`,
    token(cfg, 'viewer', tenant),
  );
  assert.deepEqual(eff.json().parameters.input_gain_db, {
    value: 3,
    unit: 'dB',
    scope: 'tenant',
    change_id: v.action.change_id,
    version: v.action.version,
  });
  // And it reaches the agent: a new call of the tenant starts with the new default.
  await waitFor(
    'the promoted default at the agent',
    async () => agent.effective(tenant, `ab-up-next-${RUN}`).params['input_gain_db'] === 3,
  );
  const got = await api('GET', `/v1/experiments/${exp.experiment_id}`, token(cfg, 'viewer', tenant));
  assert.equal(got.json().status, 'promoted');
}

/** A truly worse treatment (+6 dB into a hot feed: the limiter flattens it) is stopped early and rolled back. */
async function worseRolledBack(ab: Ab) {
  const { app, pool, reports } = ab;
  const tenant = uniqueId('abhot');
  const treatment = { input_gain_db: 6 };
  const exp = await start(ab, tenant, treatment, 'test: hot STT feed driven into the limiter');
  const calls = await drive(ab, tenant, exp.experiment_id, 'hot', HOT);
  const { run, v, calls: rows } = await checkNumbers(ab, tenant, exp.experiment_id, treatment);
  reports['worse'] = { calls_driven: calls, ...summary(v) };
  assert.equal(v.kind, 'guardrail_stop');
  assert.equal(v.look.kind, 'guardrail');
  assert.equal(v.alternative, 'less');
  assert.ok(v.look.n < DESIGN.min_sample_per_arm, `stopped at ${v.look.n} calls per arm, not early`);
  assert.ok(v.p_value < DESIGN.guardrail.alpha && v.difference <= -DESIGN.guardrail.min_drop_points);
  assert.equal(run.status, 'stopped');
  assert.equal(await status(ab, exp.experiment_id), 'rolled_back');
  // Every treatment call was rolled back through the safe path; the tenant default never moved.
  const treated = rows.filter((r) => r.arm === 'treatment' && r.change_id && r.status !== 'excluded');
  assert.ok(treated.length >= v.look.n);
  assert.equal(v.action.kind, 'rolled_back');
  assert.equal(v.action.calls, treated.length);
  for (const r of treated) {
    const orig = (
      await pool.query('SELECT status FROM parameter_changes WHERE change_id = $1', [r.change_id])
    ).rows[0];
    assert.equal(orig.status, 'rolled_back', r.call_id);
    const back = (await pool.query('SELECT * FROM parameter_changes WHERE rollback_of = $1', [r.change_id]))
      .rows;
    assert.equal(back.length, 1);
    assert.equal(back[0].actor, `ab:${exp.experiment_id}`);
    assert.equal(back[0].after.input_gain_db, 0);
    const state = await app.changes.effective(STATION, {
      level: 'call',
      tenant_id: tenant,
      call_id: r.call_id,
    });
    assert.equal(state.params['input_gain_db'], 0, `${r.call_id} still runs the treatment`);
  }
  const tenantChanges = await pool.query(
    "SELECT count(*)::int AS n FROM parameter_changes WHERE tenant_id = $1 AND scope_level = 'tenant'",
    [tenant],
  );
  assert.equal(tenantChanges.rows[0].n, 0);
  assert.deepEqual(run.new_parameters, []);
}

/** An equal treatment (a limiter ceiling the quiet feed never reaches) ends with no verdict. */
async function equalNoVerdict(ab: Ab) {
  const { pool, reports } = ab;
  const tenant = uniqueId('abeq');
  const treatment = { limiter_ceiling_dbfs: -2 };
  const exp = await start(ab, tenant, treatment, 'test: lower limiter ceiling');
  const calls = await drive(ab, tenant, exp.experiment_id, 'eq');
  const { run, v, calls: rows } = await checkNumbers(ab, tenant, exp.experiment_id, treatment);
  reports['equal'] = { calls_driven: calls, ...summary(v) };
  assert.equal(v.kind, 'no_verdict');
  assert.equal(v.look.kind, 'main');
  assert.equal(v.look.n, DESIGN.max_sample_per_arm);
  assert.ok(v.p_value >= v.alpha_per_look);
  assert.equal(v.action.kind, 'none');
  assert.equal(run.status, 'completed');
  assert.deepEqual(run.new_parameters, []);
  // Nothing changed: no tenant default, and the treatment calls' own changes were left as they were.
  const tenantChanges = await pool.query(
    "SELECT count(*)::int AS n FROM parameter_changes WHERE tenant_id = $1 AND scope_level = 'tenant'",
    [tenant],
  );
  assert.equal(tenantChanges.rows[0].n, 0);
  const treated = rows
    .filter((r) => r.arm === 'treatment' && r.change_id && r.status !== 'excluded')
    .map((r) => r.change_id);
  const st = await pool.query('SELECT DISTINCT status FROM parameter_changes WHERE change_id = ANY($1)', [
    treated,
  ]);
  assert.deepEqual(st.rows, [{ status: 'applied' }]);
}

test('A/B rollout: better promoted, worse stopped early and rolled back, equal ends with no verdict', async (t) => {
  const ab = await setUp(t);
  await t.test('bad requests are refused with the field named, and nothing starts', () => badRequests(ab));
  await t.test(
    'a truly better treatment (+3 dB into a quiet STT feed) is promoted to the tenant default',
    () => betterPromoted(ab),
  );
  await t.test(
    'a truly worse treatment (+6 dB into a hot feed, into the limiter) is stopped early by the guardrail and rolled back',
    () => worseRolledBack(ab),
  );
  await t.test(
    'an equal treatment (a limiter ceiling the quiet feed never reaches) ends with no verdict',
    () => equalNoVerdict(ab),
  );
  console.log('A/B experiments:', JSON.stringify(ab.reports, null, 2));
});
