// Issue 13, per-tenant retention and erasure, against the running stack: an admin erases one call of
// one tenant — its rows, its PCM, its call-scoped config (a tombstone on the compacted topic) — and
// the audit says what and by whom; the same call id of another tenant and the tenant's other calls
// stay. A tenant's retention can be set shorter (never longer) than the deployment's, audited.
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { callScope, configKey } from '../../config/keys.ts';
import { startApp } from '../../runtime/app.ts';
import { pcmTone, snapshotInput } from '../helpers/fixtures.ts';
import {
  cleanupTopics,
  defer,
  readToEnd,
  testSettings,
  token,
  uniqueId,
  waitFor,
} from '../helpers/runtime.ts';

const STATION = 2;

async function setup(t: TestContext) {
  const cfg = testSettings('erase');
  cleanupTopics(t, cfg);
  const app = await startApp(cfg, ['api', 'persister', 'relay'], { listen: false });
  defer(t, () => app.stop());
  const req = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, auth: string, payload?: unknown) =>
    app.api!.inject({ method, url, headers: { authorization: auth }, ...(payload ? { payload } : {}) });
  const rows = async (sql: string, args: unknown[]) =>
    (await app.rt.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, args)).rows[0]!.n;
  return { cfg, app, req, rows };
}

test('erasure: DELETE /v1/tenants/{id}/calls/{call_id} erases rows, PCM and call config, audited; nothing else', async (t) => {
  const { cfg, app, req, rows } = await setup(t);
  const [tenant, other, call, call2] = [uniqueId('te'), uniqueId('to'), uniqueId('c'), uniqueId('c2')];
  const send = async (tn: string, c: string, i: number) => {
    const res = await req('POST', '/v1/stations/snapshot', token(cfg, 'station', tn), {
      ...snapshotInput({ tenant: tn, call: c, index: i, station: STATION }),
      audio: { pcm_base64: pcmTone(0.25, 16000, 300 + i, 0.1, i + 7).toString('base64'), sample_rate: 16000 },
    });
    assert.equal(res.statusCode, 202, res.body);
    return (res.json() as { storage_key: string }).storage_key;
  };
  const erasedKeys = [await send(tenant, call, 0), await send(tenant, call, 1)];
  const keptKeys = [await send(tenant, call2, 2), await send(other, call, 3)];
  const set = await req('POST', '/v1/config/update', token(cfg, 'operator', tenant), {
    station_id: STATION,
    scope: callScope(tenant, call),
    parameters: { jitter_buffer_ms: 80 },
    reason: 'call-scoped change to erase',
  });
  assert.equal(set.statusCode, 200, set.body);
  await waitFor(
    'four snapshots persisted',
    async () =>
      (await rows('station_snapshots WHERE tenant_id = ANY($1)', [[tenant, other]])) === 4 || undefined,
    60_000,
  );
  await app.relay!.drain();

  // Only an admin may erase.
  const path = `/v1/tenants/${tenant}/calls/${call}`;
  assert.equal((await req('DELETE', path, token(cfg, 'operator', tenant))).statusCode, 403);
  const res = await req('DELETE', path, token(cfg, 'admin', '*'));
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  assert.equal(body.erased.snapshots, 2);
  assert.equal(body.erased.calls, 1);
  assert.equal(body.erased.config_keys, 1);
  assert.equal(body.erased.parameter_changes, 1);
  assert.equal(body.erased.audio_objects, 2);
  assert.equal(body.audio_deleted, 2);

  // Gone: rows, objects, config state; the config topic's last record at the key is a tombstone.
  assert.equal(await rows('station_snapshots WHERE tenant_id = $1 AND call_id = $2', [tenant, call]), 0);
  assert.equal(
    await rows(
      'snapshot_keys k WHERE tenant_id = $1 AND NOT EXISTS (SELECT 1 FROM station_snapshots s WHERE s.tenant_id = k.tenant_id AND s.snapshot_id = k.snapshot_id)',
      [tenant],
    ),
    0,
  );
  assert.equal(await rows('calls WHERE tenant_id = $1 AND call_id = $2', [tenant, call]), 0);
  assert.equal(await rows('segments WHERE tenant_id = $1 AND call_id = $2', [tenant, call]), 0);
  assert.equal(await rows('config_state WHERE tenant_id = $1 AND call_id = $2', [tenant, call]), 0);
  assert.equal(await rows('parameter_changes WHERE tenant_id = $1 AND call_id = $2', [tenant, call]), 0);
  for (const k of erasedKeys) assert.equal(await app.rt.audio.exists(k), false, k);
  await app.relay!.drain();
  const key = configKey(STATION, callScope(tenant, call));
  const records = (await readToEnd(app.rt.kafka, cfg.topics.config, (v) => v)).filter((r) => r.key === key);
  assert.ok(records.length >= 2, 'the record, then its tombstone');
  assert.equal(records.at(-1)!.value, null, 'last record at the key is a tombstone');
  const eff = await req(
    'GET',
    `/v1/config?station_id=${STATION}&tenant_id=${tenant}&call_id=${call}`,
    token(cfg, 'viewer', tenant),
  );
  assert.equal(eff.statusCode, 200, eff.body);
  assert.notEqual(eff.json().parameters.jitter_buffer_ms.scope, 'call');

  // Kept: the tenant's other call and the other tenant's call of the same id, with their audio.
  assert.equal(await rows('station_snapshots WHERE tenant_id = $1 AND call_id = $2', [tenant, call2]), 1);
  assert.equal(await rows('station_snapshots WHERE tenant_id = $1 AND call_id = $2', [other, call]), 1);
  for (const k of keptKeys) assert.equal(await app.rt.audio.exists(k), true, k);

  // Audited: what and by whom; a second erasure finds nothing (404, not audited again).
  const audit = await req('GET', `/v1/tenants/${tenant}/audit`, token(cfg, 'viewer', tenant));
  assert.equal(audit.statusCode, 200, audit.body);
  const [entry, ...rest] = audit.json().rows;
  assert.equal(rest.length, 0);
  assert.equal(entry.action, 'erase_call');
  assert.equal(entry.actor, 'user:test-admin');
  assert.equal(entry.subject, call);
  assert.equal(entry.details.erased.snapshots, 2);
  assert.deepEqual([...entry.details.audio_keys].sort(), [...erasedKeys].sort());
  assert.equal(entry.id, body.audit_id);
  const again = await req('DELETE', path, token(cfg, 'admin', '*'));
  assert.equal(again.statusCode, 404, again.body);
  assert.match(again.json().message ?? again.body, /nothing to erase/);
});

test('tenant retention: shorter than the deployment only, by the tenant operator, audited', async (t) => {
  const { cfg, req } = await setup(t);
  const tenant = uniqueId('tr');
  const path = `/v1/tenants/${tenant}/retention`;
  const before = await req('GET', path, token(cfg, 'viewer', tenant));
  assert.equal(before.statusCode, 200, before.body);
  assert.deepEqual(before.json().effective, { snapshot_days: 14, audio_days: 30 });
  assert.equal(before.json().snapshot_days, null);

  assert.equal(
    (await req('PUT', path, token(cfg, 'viewer', tenant), { snapshot_days: 3, audio_days: null })).statusCode,
    403,
  );
  assert.equal(
    (await req('PUT', path, token(cfg, 'operator', uniqueId('x')), { snapshot_days: 3, audio_days: null }))
      .statusCode,
    403,
  );
  const longer = await req('PUT', path, token(cfg, 'operator', tenant), {
    snapshot_days: 30,
    audio_days: null,
  });
  assert.equal(longer.statusCode, 422, longer.body);
  assert.match(longer.body, /snapshot_days/);
  assert.match(longer.body, /SNAPSHOT_RETENTION_DAYS=14/);
  const bad = await req('PUT', path, token(cfg, 'operator', tenant), { snapshot_days: 0, audio_days: null });
  assert.equal(bad.statusCode, 400, bad.body);

  const ok = await req('PUT', path, token(cfg, 'operator', tenant), { snapshot_days: 3, audio_days: 7 });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.deepEqual(ok.json().effective, { snapshot_days: 3, audio_days: 7 });
  assert.equal(ok.json().updated_by, 'user:test-operator');
  const after = await req('GET', path, token(cfg, 'viewer', tenant));
  assert.deepEqual(after.json().effective, { snapshot_days: 3, audio_days: 7 });

  const audit = (await req('GET', `/v1/tenants/${tenant}/audit`, token(cfg, 'viewer', tenant))).json().rows;
  assert.equal(audit.length, 1, 'refused requests change nothing and are not audited as changes');
  assert.equal(audit[0].action, 'retention_set');
  assert.equal(audit[0].actor, 'user:test-operator');
  assert.deepEqual(audit[0].details, { before: null, after: { snapshot_days: 3, audio_days: 7 } });
});
