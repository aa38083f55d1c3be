// API token ids (lib/auth.ts). A random id that began with '-' (one in 64) was taken by the token CLI's
// flag parser for a missing argument: `npm run token -- revoke --id -XYZ...` failed a CI run
// ("Option '--id' argument is ambiguous").
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newTokenId } from '../../../lib/auth.ts';
import { parseFlags } from '../../../lib/cli.ts';

test('a new token id is 12 random bytes in URL-safe base64 and never starts with "-"', () => {
  const ids = new Set<string>();
  // With 1 in 64 ids starting with '-', 10,000 draws without the rule would show ~156 of them.
  for (let i = 0; i < 10_000; i++) {
    const id = newTokenId();
    assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{15}$/, id);
    assert.equal(Buffer.from(id, 'base64url').length, 12, id);
    ids.add(id);
  }
  assert.equal(ids.size, 10_000, 'no id repeats');
});

test('a new token id passes as the value of "--id <id>" to the CLIs\' flag parser', () => {
  for (let i = 0; i < 1_000; i++) {
    const id = newTokenId();
    assert.equal(parseFlags(['--id', id], { id: { type: 'string' } }, 'usage').id, id);
  }
});
