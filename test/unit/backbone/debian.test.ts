import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commandNeed, ensureDebianPackages, onPath, pathNeed } from '../../../stack/debian.ts';

test('debian needs: a path or a command that exists counts as present, one that does not as missing', () => {
  assert.equal(pathNeed('x', '/bin/sh', 'shell').present(), true);
  assert.equal(pathNeed('x', '/no/such/file/anywhere', 'nothing').present(), false);
  assert.equal(onPath('sh'), true);
  assert.equal(commandNeed('x', 'no-such-command-voiceloop', 'nothing').present(), false);
});

test('debian needs: nothing is installed (and nothing logged) when every need is present', async () => {
  const lines: string[] = [];
  await ensureDebianPackages([pathNeed('coreutils', '/bin/sh', 'shell')], (l) => lines.push(l));
  assert.deepEqual(lines, []);
});
