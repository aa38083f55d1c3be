// Issue 12, point 1: the read API against the real stack (snapshots published through the API, stored
// by the persister, a change through the safe path), with two tenants: a token only ever sees its own.
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { startApp } from '../../runtime/app.ts';
import { pcmTone, snapshotInput } from '../helpers/fixtures.ts';
import { cleanupTopics, defer, testSettings, token, uniqueId, waitFor } from '../helpers/runtime.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies and errors of the code under test
type J = any;

async function setup(t: TestContext) {
  const cfg = testSettings('reads');
  cleanupTopics(t, cfg);
  const app = await startApp(cfg, ['api', 'persister', 'relay'], { listen: false });
  defer(t, () => app.stop());
  const a = uniqueId('ra');
  const b = uniqueId('rb');
  const callA1 = uniqueId('c1');
  const callA2 = uniqueId('c2');
  const shared = uniqueId('cs'); // both tenants use this id
  const get = async (url: string, auth: string) => {
    const res = await app.api!.inject({ method: 'GET', url, headers: { authorization: auth } });
    return { status: res.statusCode, body: res.json() as Record<string, J>, raw: res };
  };
  const post = async (url: string, auth: string, payload: unknown) =>
    app.api!.inject({ method: 'POST', url, headers: { authorization: auth }, payload: payload as object });
  const publish = async (tenant: string, call: string, index: number, station: number, extra = {}) => {
    const res = await post('/v1/stations/snapshot', token(cfg, 'station', tenant), {
      ...snapshotInput({ tenant, call, index, station }),
      ...extra,
    });
    assert.equal(res.statusCode, 202, res.body);
    return res.json().snapshot_id as string;
  };
  const opA = token(cfg, 'operator', a);
  const viewA = token(cfg, 'viewer', a);
  const opB = token(cfg, 'operator', b);
  const admin = token(cfg, 'admin', '*');

  const withAudio = await publish(a, callA1, 0, 1, {
    audio: { pcm_base64: pcmTone(0.2, 8000).toString('base64'), sample_rate: 8000 },
  });
  for (const station of [2, 3]) await publish(a, callA1, 0, station);
  await publish(a, callA2, 0, 2);
  await publish(a, shared, 0, 2);
  await publish(b, shared, 0, 2);
  await waitFor('six calls persisted', async () => {
    const { rows } = await app.rt.pool.query(
      'SELECT count(*)::int AS n FROM station_snapshots WHERE tenant_id = ANY($1::text[])',
      [[a, b]],
    );
    return rows[0].n >= 6 || undefined;
  });

  return { cfg, app, a, b, callA1, callA2, shared, get, post, publish, opA, viewA, opB, admin, withAudio };
}

type Ctx = Awaited<ReturnType<typeof setup>>;

async function changeAndSegment(x: Ctx) {
  const { a, callA1, get, post, publish, opA, viewA } = x;
  // A call-scoped change at station 2 of call A1, then a segment that runs it.
  const change = await post('/v1/config/update', opA, {
    station_id: 2,
    scope: { level: 'call', tenant_id: a, call_id: callA1 },
    parameters: { input_gain_db: 3 },
    reason: 'louder for the read API test',
  });
  assert.equal(change.statusCode, 200, change.body);
  const { change_id, version } = change.json();
  await publish(a, callA1, 1, 2, { applied_config_version: version });
  await waitFor('segment 1 persisted', async () => {
    const d = await get(`/v1/calls/${callA1}`, viewA);
    return d.body.stations?.find((s: J) => s.station_id === 2)?.segments.length === 2 || undefined;
  });
  return change_id as string;
}

async function lists(x: Ctx) {
  const { cfg, a, b, callA1, callA2, shared, get, viewA } = x;
  // The list: A sees its three calls with scores, B only its one; newest first with a cursor.
  const listA = await get('/v1/calls', viewA);
  assert.equal(listA.status, 200, listA.raw.body);
  assert.deepEqual(new Set(listA.body.items.map((c: J) => c.call_id)), new Set([callA1, callA2, shared]));
  for (const c of listA.body.items) {
    assert.equal(c.tenant_id, a);
    assert.ok(c.score > 0 && c.score <= 100, `score ${c.score}`);
  }
  const listB = await get('/v1/calls', token(cfg, 'viewer', b));
  assert.deepEqual(
    listB.body.items.map((c: J) => [c.tenant_id, c.call_id]),
    [[b, shared]],
  );
  const page1 = await get('/v1/calls?limit=2', viewA);
  assert.equal(page1.body.items.length, 2);
  assert.ok(page1.body.next_cursor);
  const page2 = await get(`/v1/calls?limit=2&cursor=${page1.body.next_cursor}`, viewA);
  assert.equal(page2.body.items.length, 1);
  const paged = [...page1.body.items, ...page2.body.items].map((c: J) => c.call_id);
  assert.deepEqual(new Set(paged), new Set([callA1, callA2, shared]));
  const atStation1 = await get('/v1/calls?station_id=1', viewA);
  assert.deepEqual(
    atStation1.body.items.map((c: J) => c.call_id),
    [callA1],
  );
  const below = await get('/v1/calls?score_below=0.5', viewA);
  assert.deepEqual(below.body.items, [], 'no call scores below 0.5');
  const future = await get('/v1/calls?from=2099-01-01T00:00:00Z', viewA);
  assert.deepEqual(future.body.items, []);
}

async function tenancy(x: Ctx) {
  const { a, b, callA1, shared, get, opB, admin } = x;
  // Tenancy: B cannot read A's call, name A as its tenant, or see A's changes; an admin can.
  assert.equal((await get(`/v1/calls/${callA1}`, opB)).status, 404);
  assert.equal((await get(`/v1/calls?tenant_id=${a}`, opB)).status, 403);
  const sharedB = await get(`/v1/calls/${shared}`, opB);
  assert.equal(sharedB.body.tenant_id, b);
  assert.deepEqual(
    sharedB.body.stations.map((s: J) => s.segments.length),
    [1],
    "B's shared call holds B's snapshot only",
  );
  assert.equal((await get(`/v1/calls/${shared}`, admin)).status, 400, 'ambiguous for an admin');
  assert.equal((await get(`/v1/calls/${shared}?tenant_id=${a}`, admin)).body.tenant_id, a);
  const changesB = await get('/v1/changes', opB);
  assert.deepEqual(changesB.body.items, []);
}

async function callDetail(x: Ctx, changeId: string) {
  const { callA1, get, viewA } = x;
  // One call: scores per segment, the parameters each segment ran with, the change with its fields.
  const detail = await get(`/v1/calls/${callA1}`, viewA);
  assert.equal(detail.status, 200);
  assert.deepEqual(
    detail.body.stations.map((s: J) => s.station_id),
    [1, 2, 3],
  );
  const st2 = detail.body.stations.find((s: J) => s.station_id === 2);
  assert.equal(st2.segments[0].parameters.input_gain_db, 0, 'segment 0 ran the defaults');
  assert.equal(st2.segments[1].parameters.input_gain_db, 3, 'segment 1 ran the change');
  for (const g of st2.segments) assert.ok(g.score > 0 && g.components.length > 0);
  const [ch] = detail.body.changes;
  assert.equal(ch.change_id, changeId);
  assert.equal(ch.actor, 'user:test-operator');
  assert.equal(ch.actor_kind, 'user');
  assert.equal(ch.reason, 'louder for the read API test');
  assert.deepEqual(ch.changed, [{ name: 'input_gain_db', before: 0, after: 3 }]);
  assert.equal(ch.status, 'applied');
}

async function auditLog(x: Ctx, changeId: string) {
  const { callA1, get, post, opA, viewA } = x;
  // The audit log, and a rollback through the safe path linked both ways.
  const rb = await post('/v1/config/rollback', opA, { change_id: changeId, reason: 'undo for the test' });
  assert.equal(rb.statusCode, 200, rb.body);
  const log = await get(`/v1/changes?call_id=${callA1}`, viewA);
  assert.equal(log.body.items.length, 2);
  const [newest, first] = log.body.items;
  assert.equal(newest.rollback_of, changeId);
  assert.equal(first.status, 'rolled_back');
  assert.equal(first.rolled_back_by, newest.change_id);
  assert.equal((await get('/v1/changes?status=rolled_back', viewA)).body.items.length, 1);
  assert.equal((await get('/v1/changes?actor_kind=optimizer', viewA)).body.items.length, 0);
}

async function stations(x: Ctx) {
  const { a, get, viewA } = x;
  // Stations: all seven, scores where snapshots arrived, the summary of one.
  const stations = await get('/v1/stations', viewA);
  assert.equal(stations.status, 200);
  assert.deepEqual(
    stations.body.stations.map((s: J) => s.station_id),
    [1, 2, 3, 4, 9, 10, 11],
  );
  const scored = stations.body.stations.filter((s: J) => s.score !== null).map((s: J) => s.station_id);
  assert.deepEqual(scored, [1, 2, 3]);
  const shares = stations.body.stations.filter((s: J) => s.loss_share !== null);
  assert.ok(Math.abs(shares.reduce((x: number, s: J) => x + s.loss_share, 0) - 1) < 0.01);
  const summary = await get('/v1/stations/2/summary?window_minutes=30', viewA);
  assert.equal(summary.status, 200);
  assert.equal(summary.body.distribution.count, 4);
  assert.equal(
    summary.body.distribution.histogram.reduce((x: number, h: J) => x + h.count, 0),
    4,
  );
  assert.ok(summary.body.worst_calls.length >= 3);
  assert.ok(summary.body.worst_calls.every((c: J) => c.tenant_id === a));
}

async function snapshots(x: Ctx) {
  const { app, get, opA, viewA, opB, withAudio } = x;
  // A snapshot; its PCM for an operator, not for a viewer.
  const snapView = await get(`/v1/snapshots/${withAudio}`, viewA);
  assert.equal(snapView.status, 200);
  assert.equal(snapView.body.audio_url, null);
  const snapOp = await get(`/v1/snapshots/${withAudio}`, opA);
  assert.ok(snapOp.body.audio_url);
  const wav = await app.api!.inject({
    method: 'GET',
    url: snapOp.body.audio_url,
    headers: { authorization: opA },
  });
  assert.equal(wav.statusCode, 200);
  assert.equal(wav.headers['content-type'], 'audio/wav');
  assert.equal(wav.rawPayload.subarray(0, 4).toString('ascii'), 'RIFF');
  assert.equal(wav.rawPayload.length, 44 + 0.2 * 8000 * 2);
  assert.equal((await get(`${snapOp.body.audio_url}`, viewA)).status, 403);
  assert.equal((await get(`/v1/snapshots/${withAudio}`, opB)).status, 404);
}

async function badInput(x: Ctx) {
  const { cfg, a, get, viewA } = x;
  // Bad query parameters: 400 naming the field.
  for (const [url, field] of [
    ['/v1/calls?limit=0', 'limit'],
    ['/v1/calls?limit=abc', 'limit'],
    ['/v1/calls?from=yesterday', 'from'],
    ['/v1/calls?station_id=5', 'station_id'],
    ['/v1/calls?score_below=101', 'score_below'],
    ['/v1/calls?cursor=bm90LWEtY3Vyc29y', 'cursor'],
    ['/v1/calls?colour=red', 'colour'],
    ['/v1/changes?status=maybe', 'status'],
    ['/v1/stations?window_minutes=0', 'window_minutes'],
    ['/v1/stations/7/summary', 'id'],
  ] as const) {
    const r = await get(url, viewA);
    assert.equal(r.status, 400, `${url}: ${r.raw.body}`);
    assert.ok(
      r.body.details.some((d: J) => d.field === field),
      `${url} names ${field}: ${r.raw.body}`,
    );
  }
  assert.equal((await get('/v1/calls', '')).status, 401);
  assert.equal((await get('/v1/calls', token(cfg, 'station', a))).status, 403);
}

test('read API: calls, stations, changes and snapshots, each token within its tenant', async (t) => {
  const x = await setup(t);
  const changeId = await changeAndSegment(x);
  await lists(x);
  await tenancy(x);
  await callDetail(x, changeId);
  await auditLog(x, changeId);
  await stations(x);
  await snapshots(x);
  await badInput(x);
});
