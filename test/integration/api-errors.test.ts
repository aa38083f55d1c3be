// Issue 9, defects 3, 5, 6 and 7, each pinned against the real stack: permanent errors are 4xx naming
// the field (never 503 or 500), captured_at outside its window is refused, token claims are strict,
// and /openapi.json is a valid OpenAPI document.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { startApp } from '../../runtime/app.ts';
import { snapshotInput } from '../helpers/fixtures.ts';
import { cleanupTopics, defer, testSettings, token, uniqueId } from '../helpers/runtime.ts';

type Call = (
  method: 'GET' | 'POST',
  url: string,
  auth: string,
  payload?: unknown,
) => Promise<{ statusCode: number; body: string; json(): { message: string } }>;

/** Defect 6: strict claims, each refusal naming the claim. */
async function strictClaims(secret: string, tenant: string, call: Call) {
  const forge = (claims: Record<string, unknown>) => {
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const sig = createHmac('sha256', secret).update(`v1.${payload}`).digest('base64url');
    return `Bearer v1.${payload}.${sig}`;
  };
  const exp = Math.floor(Date.now() / 1000) + 600;
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['exp as a string', { sub: 's', role: 'viewer', tenant, exp: 'never', jti: 'j1' }, /exp/],
    ['no exp', { sub: 's', role: 'viewer', tenant, jti: 'j1' }, /exp/],
    ['viewer of "*"', { sub: 's', role: 'viewer', tenant: '*', exp, jti: 'j1' }, /admin/],
    ['operator of "*"', { sub: 's', role: 'operator', tenant: '*', exp, jti: 'j1' }, /admin/],
    ['expired', { sub: 's', role: 'viewer', tenant, exp: 1000, jti: 'j1' }, /expired/],
    // Without an id a token could never be revoked.
    ['no jti', { sub: 's', role: 'viewer', tenant, exp }, /jti/],
    ['an unknown claim', { sub: 's', role: 'viewer', tenant, exp, jti: 'j1', scope: '*' }, /unknown claim/],
  ];
  for (const [name, claims, why] of cases) {
    const res = await call('GET', `/v1/config?station_id=2&tenant_id=${tenant}`, forge(claims));
    assert.equal(res.statusCode, 401, `${name}: ${res.body}`);
    assert.match(res.json().message, why, name);
  }
  const good = await call(
    'GET',
    `/v1/config?station_id=2&tenant_id=${tenant}`,
    forge({ sub: 's', role: 'viewer', tenant, exp, jti: 'j1' }),
  );
  assert.equal(good.statusCode, 200, good.body);
  const admin = await call(
    'GET',
    `/v1/config?station_id=2&tenant_id=${tenant}`,
    forge({ sub: 'a', role: 'admin', tenant: '*', exp, jti: 'j2' }),
  );
  assert.equal(admin.statusCode, 200, admin.body);
}

test('issue 9: permanent errors are 4xx naming the field, tokens are strict, the OpenAPI document is valid', async (t) => {
  const cfg = testSettings('apierr');
  cleanupTopics(t, cfg);
  const app = await startApp(cfg, ['api'], { listen: false });
  defer(t, () => app.stop());
  const tenant = uniqueId('tn');
  const op = token(cfg, 'operator', tenant);
  const call = (method: 'GET' | 'POST', url: string, auth: string, payload?: unknown) =>
    app.api!.inject({ method, url, headers: { authorization: auth }, ...(payload ? { payload } : {}) });

  await t.test(
    'defect 3: unknown station, out-of-range ids and a NUL byte are 400 naming the field',
    async () => {
      const scope = { level: 'tenant', tenant_id: tenant };
      const cases: { name: string; url: string; body: unknown; field: RegExp }[] = [
        {
          name: 'unknown station on config update (was 503)',
          url: '/v1/config/update',
          body: { station_id: 99, scope, parameters: { input_gain_db: 1 }, reason: 'probe' },
          field: /station_id/,
        },
        {
          name: 'station id beyond integer range on rollback (was 503)',
          url: '/v1/config/rollback',
          body: { station_id: 2 ** 40, scope, to_version: 1, reason: 'probe' },
          field: /station_id/,
        },
        {
          name: 'version beyond bigint-safe range on rollback (was 503)',
          url: '/v1/config/rollback',
          body: { station_id: 2, scope, to_version: 2 ** 63, reason: 'probe' },
          field: /to_version/,
        },
        {
          name: 'NUL byte in call_id on optimizer run (was 500)',
          url: '/v1/optimizer/run',
          body: { mode: 'online', station_id: 2, tenant_id: tenant, call_id: 'a\u0000b' },
          field: /call_id/,
        },
        {
          name: 'NUL byte in a reason',
          url: '/v1/config/update',
          body: { station_id: 2, scope, parameters: { input_gain_db: 1 }, reason: 'bad\u0000reason' },
          field: /reason/,
        },
      ];
      for (const c of cases) {
        const res = await call('POST', c.url, op, c.body);
        assert.equal(res.statusCode, 400, `${c.name}: ${res.statusCode} ${res.body}`);
        assert.equal(res.headers['retry-after'], undefined, c.name);
        assert.match(res.json().message, c.field, `${c.name}: ${res.body}`);
      }
    },
  );

  await t.test('defect 5: captured_at outside retention .. now + 5 min is a 400', async () => {
    const station = token(cfg, 'station', tenant);
    for (const [name, at] of [
      ['1970', 1000],
      ['120 days ago', Date.now() - 120 * 86_400_000],
      ['an hour ahead', Date.now() + 3_600_000],
    ] as const) {
      const body = { ...snapshotInput({ tenant, call: `${tenant}-c1` }), captured_at: at };
      const res = await call('POST', '/v1/stations/snapshot', station, body);
      assert.equal(res.statusCode, 400, `${name}: ${res.body}`);
      assert.match(res.json().message, /captured_at/, name);
    }
    const ok = await call('POST', '/v1/stations/snapshot', station, {
      ...snapshotInput({ tenant, call: `${tenant}-c1` }),
      captured_at: Date.now() - 60_000,
    });
    assert.equal(ok.statusCode, 202, ok.body);
  });

  await t.test('defect 6: non-numeric or missing exp, "*" for a non-admin, no token id, are refused', () =>
    strictClaims(cfg.api.tokenSecret, tenant, call),
  );
  await t.test('defect 7: /openapi.json validates against the OpenAPI schema', async () => {
    const res = await app.api!.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(res.statusCode, 200);
    const doc = res.json();
    const result = await new Validator().validate(doc);
    assert.ok(
      result.valid,
      `invalid OpenAPI document: ${JSON.stringify(result.errors ?? null).slice(0, 2000)}`,
    );
    assert.ok(doc.paths['/v1/experiments'], 'the experiments route is in the document');
    // The event stream and the console are routes like the others (issue 12: every route).
    const events = doc.paths['/v1/events']?.get;
    assert.ok(events, '/v1/events is in the document');
    assert.equal(events.operationId, 'streamChangeEvents');
    assert.ok(events.responses['200'].content['text/event-stream'], 'documented as text/event-stream');
    assert.match(events.description, /`hello`[\s\S]*`change`/, 'its event types are described');
    assert.ok(doc.paths['/console/']?.get.responses['200'].content['text/html'], 'the console page');
    assert.ok(doc.paths['/console/app.js']?.get, "the console's script");
    assert.deepEqual(doc.paths['/console/']?.get.security, [], 'the page itself is public');
    assert.ok(doc.paths['/metrics']?.get.responses['200'].content['text/plain'], '/metrics');
    assert.ok(doc.paths['/openapi.json']?.get, 'the document names itself');
    // Served as itself, not cut down by its response schema (an object schema without properties).
    assert.ok(Object.keys(doc.paths).length > 20, 'the whole document');
  });
});
