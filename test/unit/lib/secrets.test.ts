// Issue 13: credentials from NAME or NAME_FILE (the Docker/Kubernetes secrets convention), never both;
// a file that cannot be read or is empty is an error naming the variable.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadSettings, SECRET_VARS, withFileSecrets } from '../../../lib/settings.ts';

const files: Record<string, string> = {
  '/run/secrets/token': 'a-secret-of-enough-length-0123456789abc\n',
  '/run/secrets/empty': '\n',
};
const read = (p: string) => {
  const v = files[p];
  if (v === undefined) throw new Error(`ENOENT: no such file, open '${p}'`);
  return v;
};

test('NAME_FILE gives NAME the file content without its trailing newline', () => {
  const env = withFileSecrets({ API_TOKEN_SECRET_FILE: '/run/secrets/token' }, read);
  assert.equal(env.API_TOKEN_SECRET, 'a-secret-of-enough-length-0123456789abc');
});

test('NAME and NAME_FILE both set, an unreadable or empty file: errors naming the variable', () => {
  assert.throws(
    () =>
      withFileSecrets({ S3_SECRET_ACCESS_KEY: 'x', S3_SECRET_ACCESS_KEY_FILE: '/run/secrets/token' }, read),
    /S3_SECRET_ACCESS_KEY and S3_SECRET_ACCESS_KEY_FILE are both set/,
  );
  assert.throws(
    () => withFileSecrets({ DATABASE_URL_FILE: '/nope' }, read),
    /DATABASE_URL_FILE=\/nope cannot be read: ENOENT/,
  );
  assert.throws(
    () => withFileSecrets({ HUME_API_KEY_FILE: '/run/secrets/empty' }, read),
    /HUME_API_KEY_FILE=\/run\/secrets\/empty is empty/,
  );
});

test('only the listed credentials are read from files', () => {
  assert.ok(SECRET_VARS.includes('API_TOKEN_SECRET') && SECRET_VARS.includes('S3_SECRET_ACCESS_KEY'));
  assert.equal(withFileSecrets({ PORT_FILE: '/run/secrets/token' }, read).PORT, undefined);
});

test('loadSettings takes the token secret and the database URL from files', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'voiceloop-secrets-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'secret'), 'file-secret-with-enough-length-0123456789xyz\n');
  writeFileSync(join(dir, 'db'), 'postgres://u:p@db.example:5432/voiceloop');
  const s = loadSettings({ API_TOKEN_SECRET_FILE: join(dir, 'secret'), DATABASE_URL_FILE: join(dir, 'db') });
  assert.equal(s.api.tokenSecret, 'file-secret-with-enough-length-0123456789xyz');
  assert.equal(s.database.url, 'postgres://u:p@db.example:5432/voiceloop');
});
