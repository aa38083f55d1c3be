// Issue 9, defect 6 "tokens can be minted only from test code, and none can be revoked": the token CLI
// against the real database and a running API. A created token works, is stored only as a hash, is
// listed, and once revoked is refused within seconds; bad flags and weak secrets are refused by name.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { envWith, loadSettings } from '../../lib/settings.ts';
import { startApp } from '../../runtime/app.ts';
import { defer, testSettings, token, uniqueId, waitFor } from '../helpers/runtime.ts';

const root = join(import.meta.dirname, '..', '..');

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(root, 'bin', 'token.ts'), ...args], {
      cwd: root,
      env: envWith({ LOG_LEVEL: 'error' }),
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('npm run token: create, use, list, revoke (refused within seconds), bad flags named', async (t) => {
  const cfg = testSettings('tokens');
  const app = await startApp(cfg, ['api'], { listen: false });
  defer(t, () => app.stop());
  const tenant = uniqueId('tn');
  const name = uniqueId('ci-');

  const created = await cli([
    'create',
    '--tenant',
    tenant,
    '--role',
    'viewer',
    '--name',
    name,
    '--expires',
    '1h',
  ]);
  assert.equal(created.code, 0, created.stderr);
  const tok = created.stdout.trim();
  const id = /token (\S+) /.exec(created.stderr)?.[1];
  assert.ok(id, created.stderr);
  const get = () =>
    app.api!.inject({
      method: 'GET',
      url: `/v1/config?station_id=2&tenant_id=${tenant}`,
      headers: { authorization: `Bearer ${tok}` },
    });
  assert.equal((await get()).statusCode, 200);

  // Stored as a hash only.
  const { rows } = await app.rt.pool.query('SELECT * FROM api_tokens WHERE token_id = $1', [id]);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].token_sha256, createHash('sha256').update(tok).digest('hex'));
  assert.ok(!JSON.stringify(rows[0]).includes(tok.split('.')[2]!), 'the token itself is not stored');

  const listed = await cli(['list', '--tenant', tenant]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, new RegExp(`${id}\\t${tenant}\\tviewer\\t${name}\\t.*\\tactive`));

  const revoked = await cli(['revoke', '--id', id]);
  assert.equal(revoked.code, 0, revoked.stderr);
  const refused = await waitFor(
    'the API to refuse the revoked token',
    async () => {
      const res = await get();
      return res.statusCode === 401 ? res : undefined;
    },
    5_000,
  );
  assert.match(refused.json().message, /revoked/);
  assert.match((await cli(['list', '--tenant', tenant])).stdout, /\trevoked /);

  // A token minted elsewhere with the same secret (a deployment script, test code) carries an id too
  // and is revoked by value: before, such a token had no id and could not be revoked at all.
  const other = token(cfg, 'viewer', tenant);
  const getWith = (auth: string) =>
    app.api!.inject({
      method: 'GET',
      url: `/v1/config?station_id=2&tenant_id=${tenant}`,
      headers: { authorization: auth },
    });
  assert.equal((await getWith(other)).statusCode, 200);
  const byValue = await cli(['revoke', '--token', other]);
  assert.equal(byValue.code, 0, byValue.stderr);
  const refusedToo = await waitFor(
    'the API to refuse the token revoked by value',
    async () => {
      const res = await getWith(other);
      return res.statusCode === 401 ? res : undefined;
    },
    5_000,
  );
  assert.match(refusedToo.json().message, /revoked/);

  for (const [args, why] of [
    [['create', '--tenant', tenant, '--role', 'king', '--name', 'x'], /--role must be one of/],
    [['create', '--tenant', tenant, '--role', 'viewer', '--name', 'x', '--expires', '10x'], /--expires/],
    [['create', '--tenant', '*', '--role', 'operator', '--name', 'x'], /only an admin may hold tenant "\*"/],
    [['create', '--role', 'viewer', '--name', 'x'], /--tenant is required/],
    [['revoke'], /--id is required/],
    [['revoke', '--token', 'v1.e30.forged'], /signature/],
    [['mint'], /unknown command/],
  ] as const) {
    const res = await cli([...args]);
    assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr, why, args.join(' '));
  }
  assert.equal((await cli(['revoke', '--id', 'no-such-token'])).code, 1);
});

test('a weak token secret is refused at start, naming the variable', () => {
  for (const s of ['short-secret', 'a'.repeat(40)]) {
    assert.throws(() => loadSettings(envWith({ API_TOKEN_SECRET: s })), /API_TOKEN_SECRET must/);
  }
  assert.ok(loadSettings(envWith({ API_TOKEN_SECRET: 'k3J9-pQ7_xZ2mW8vB5nR1tY6uE4oA0sD' })));
});
