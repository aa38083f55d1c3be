// The optimizer API (DESIGN §9, issue 4) against the real stack: `POST /v1/optimizer/run` in mode
// online, for one call and for a station's recent calls, decides from the persisted snapshots and
// records the run (published as an OptimizerResult); `GET /v1/optimizer/runs/:id` reads it back. Every
// bad request to either endpoint gets a 4xx that names what is wrong, and writes nothing.
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import type { OptimizerResult } from '../../contracts/generated.ts';
import { startApp } from '../../runtime/app.ts';
import { startStationAgent } from '../../stations/agent/index.ts';
import { parseImpairments, simulateCall } from '../../stations/sim/index.ts';
import {
  cleanupTopics,
  defer,
  readTopic,
  testSettings,
  token,
  uniqueId,
  waitFor,
} from '../helpers/runtime.ts';

const STATION = 4;

interface RunAnswer {
  mode: string;
  station_id: number;
  runs: {
    run_id: string | null;
    call_id: string;
    score: number;
    analysis: string;
    change: { status: string; change_id: string; version: number | null; reasons: string[] } | null;
  }[];
}

/** The API, persister and relay; two calls' real snapshots of a quiet STT feed, persisted. */
async function setUp(t: TestContext) {
  const cfg = testSettings('optapi');
  cleanupTopics(t, cfg);
  const app = await startApp(cfg, ['api', 'persister', 'relay'], { listen: false });
  defer(t, () => app.stop());
  const tenant = uniqueId('tn');
  const other = uniqueId('tn');
  const call1 = uniqueId('call');
  const call2 = uniqueId('call');
  const op = token(cfg, 'operator', tenant);
  const inject = (method: 'GET' | 'POST', url: string, payload?: object, auth: string | null = op) =>
    app.api!.inject({
      method,
      url,
      headers: auth === null ? {} : { authorization: auth },
      ...(payload ? { payload } : {}),
    });

  // Real snapshots of a quiet STT feed, from a station agent, persisted by the persister.
  const agents = await startStationAgent(app.rt, {
    topics: cfg.topics,
    agentId: uniqueId('agent'),
    stations: [STATION],
  });
  defer(t, () => agents.stop());
  const agent = agents.station(STATION);
  const impairments = parseImpairments({
    name: 'optimizer-api-test',
    tenants: [tenant],
    sample_rates: { [STATION]: 16000 },
    stations: { [STATION]: { level_db: -38, noise: { type: 'white', snr_db: 40 } } },
  });
  const sim = simulateCall({ impairments, callIndex: 0, seed: 5, segments: 2, segmentMs: 1000 });
  for (const callId of [call1, call2]) {
    for (const seg of sim.segments) {
      await agent.processSegment(
        { tenantId: tenant, callId, channel: 'A' },
        { index: seg.index, startMs: seg.startMs, endMs: seg.endMs },
        seg.inputs.get(STATION)!,
      );
    }
  }
  await waitFor('4 persisted snapshots', async () => {
    const { rows } = await app.rt.pool.query(
      'SELECT count(*)::int AS n FROM station_snapshots WHERE tenant_id = $1',
      [tenant],
    );
    return rows[0].n === 4;
  });

  const counts = async () => {
    const { rows } = await app.rt.pool.query(
      `SELECT (SELECT count(*)::int FROM optimizer_runs WHERE stream = $1) AS runs,
              (SELECT count(*)::int FROM parameter_changes WHERE stream = $1) AS changes`,
      [cfg.topics.prefix],
    );
    return rows[0] as { runs: number; changes: number };
  };
  const ok = { mode: 'online', station_id: STATION, tenant_id: tenant, call_id: call1 };
  return { cfg, app, tenant, other, call1, call2, op, inject, counts, ok };
}

type Scenario = Awaited<ReturnType<typeof setUp>>;

/** Bad requests first, while nothing exists: each a 4xx with the reason, and not one row written. */
async function badRequestsWriteNothing({ cfg, tenant, other, op, inject, counts, ok }: Scenario) {
  const before = await counts();
  assert.deepEqual(before, { runs: 0, changes: 0 });
  const { mode: _omit, ...noMode } = ok;
  const { tenant_id: _omitTenant, ...noTenant } = ok;
  const badRuns: [string, object, string | null, number, RegExp][] = [
    ['missing mode', noMode, op, 400, /mode/],
    ['unknown mode', { ...ok, mode: 'turbo' }, op, 400, /mode.*(allowed|equal)/],
    ['unknown station', { ...ok, station_id: 5 }, op, 400, /unknown station 5/],
    ['station id not a number', { ...ok, station_id: 'four' }, op, 400, /station_id/],
    ['missing tenant', noTenant, op, 400, /tenant_id/],
    ['empty call id', { ...ok, call_id: '' }, op, 400, /call_id/],
    ['unknown field', { ...ok, turbo: true }, op, 400, /turbo/],
    [
      'call without snapshots',
      { ...ok, call_id: 'no-such-call' },
      op,
      404,
      /no snapshot of station 4 for call no-such-call/,
    ],
    ['another tenant', { ...ok, tenant_id: other }, op, 403, /may not access tenant/],
    ['no token', ok, null, 401, /missing Authorization/],
    ['malformed token', ok, 'Bearer nonsense', 401, /Authorization must be/],
    [
      'forged token',
      ok,
      token({ ...cfg, api: { ...cfg.api, tokenSecret: 'some-other-secret-of-16+' } }, 'operator', tenant),
      401,
      /signature is invalid/,
    ],
    ['viewer may not run', ok, token(cfg, 'viewer', tenant), 403, /role viewer may not POST/],
    ['station may not run', ok, token(cfg, 'station', tenant), 403, /role station may not POST/],
  ];
  for (const [what, body, auth, status, reason] of badRuns) {
    const res = await inject('POST', '/v1/optimizer/run', body, auth);
    assert.equal(res.statusCode, status, `${what}: ${res.body}`);
    assert.match(res.json().message, reason, `${what}: ${res.body}`);
  }
  const badGets: [string, string, string | null, number, RegExp][] = [
    ['id not a uuid', 'not-a-run', op, 400, /id.*uuid/],
    ['unknown id', '00000000-0000-4000-8000-000000000000', op, 404, /does not exist/],
    ['no token', '00000000-0000-4000-8000-000000000000', null, 401, /missing Authorization/],
    [
      'station may not read',
      '00000000-0000-4000-8000-000000000000',
      token(cfg, 'station', tenant),
      403,
      /role station/,
    ],
  ];
  for (const [what, id, auth, status, reason] of badGets) {
    const res = await inject('GET', `/v1/optimizer/runs/${id}`, undefined, auth);
    assert.equal(res.statusCode, status, `${what}: ${res.body}`);
    assert.match(res.json().message, reason, `${what}: ${res.body}`);
  }
  assert.deepEqual(await counts(), before, 'bad requests wrote nothing');
}

/** A run for one call: decided from its latest snapshot, recorded, its change through the safe path. */
async function runForOneCall({ cfg, app, tenant, other, call1, inject, ok }: Scenario) {
  const res = await inject('POST', '/v1/optimizer/run', ok);
  assert.equal(res.statusCode, 200, res.body);
  const one = res.json() as RunAnswer;
  assert.equal(one.mode, 'online');
  assert.equal(one.runs.length, 1);
  const run = one.runs[0]!;
  assert.equal(run.call_id, call1);
  assert.ok(run.run_id, `a quiet feed calls for a change: ${run.analysis}`);
  assert.equal(run.change?.status, 'applied', JSON.stringify(run.change));
  assert.match(run.analysis, /input_gain_db/);

  const got = await inject('GET', `/v1/optimizer/runs/${run.run_id}`);
  assert.equal(got.statusCode, 200, got.body);
  const row = got.json();
  assert.equal(row.run_id, run.run_id);
  assert.equal(row.mode, 'online');
  assert.equal(row.status, 'completed');
  assert.deepEqual([row.tenant_id, row.call_id, row.station_id], [tenant, call1, STATION]);
  assert.equal(row.requested_by, 'user:test-operator:online');
  assert.equal(row.scorecard.overall, run.score);
  assert.equal(row.scorecard.stations[0].station_id, STATION);
  assert.ok(row.scorecard.stations[0].components.length > 0, 'the score lists its components');
  assert.equal(row.analysis, run.analysis);
  assert.ok(row.next_iteration.evaluate_after_snapshots >= 1);
  assert.deepEqual(
    row.changes.map((c: { change_id: string; status: string }) => [c.change_id, c.status]),
    [[run.change!.change_id, 'applied']],
  );
  assert.ok(row.new_parameters.some((p: { name: string }) => p.name === 'input_gain_db'));
  // A viewer of the tenant may read it; another tenant may not.
  const viewer = await inject(
    'GET',
    `/v1/optimizer/runs/${run.run_id}`,
    undefined,
    token(cfg, 'viewer', tenant),
  );
  assert.equal(viewer.statusCode, 200, viewer.body);
  const foreign = await inject(
    'GET',
    `/v1/optimizer/runs/${run.run_id}`,
    undefined,
    token(cfg, 'operator', other),
  );
  assert.equal(foreign.statusCode, 403, foreign.body);
  assert.match(foreign.json().message, /may not access tenant/);

  // The run is published as an OptimizerResult (through the outbox, after commit).
  const results = await readTopic(
    app.rt.kafka,
    cfg.topics.results,
    (v) => app.rt.registry.codec('OptimizerResult').decode(v),
    (items) => items.some((i) => (i.value as OptimizerResult).run_id === run.run_id),
  );
  const published = results.find((i) => (i.value as OptimizerResult).run_id === run.run_id)!;
  assert.equal(published.key, call1);
  assert.equal((published.value as OptimizerResult).mode, 'online');
}

/** A run for the station: every recent call of the tenant at that station. */
async function runForStation({ tenant, call1, call2, inject, counts }: Scenario) {
  const st = await inject('POST', '/v1/optimizer/run', {
    mode: 'online',
    station_id: STATION,
    tenant_id: tenant,
  });
  assert.equal(st.statusCode, 200, st.body);
  const station = st.json() as RunAnswer;
  assert.deepEqual(station.runs.map((r) => r.call_id).sort(), [call1, call2].sort());
  for (const r of station.runs.filter((x) => x.run_id)) {
    const g = await inject('GET', `/v1/optimizer/runs/${r.run_id}`);
    assert.equal(g.statusCode, 200, g.body);
    assert.equal(g.json().call_id, r.call_id);
  }
  const n = station.runs.filter((r) => r.run_id).length;
  const after = await counts();
  assert.equal(after.runs, 1 + n, 'one row per run that acted');
}

test('optimizer API: online runs for a call and for a station, read back; bad requests refused, nothing written', async (t) => {
  const sc = await setUp(t);
  await t.test('bad requests get a 4xx naming what is wrong and write nothing', () =>
    badRequestsWriteNothing(sc),
  );
  await t.test('a run for one call is recorded, read back and published', () => runForOneCall(sc));
  await t.test('a run for the station covers its recent calls', () => runForStation(sc));
});
