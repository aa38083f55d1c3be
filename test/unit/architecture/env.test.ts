// One reader of the environment (issue 16): lib/settings.ts reads process.env and hands out validated
// values (the program's settings, the stack's overrides, the benches' and tests' knobs, a child's
// environment). Any other file that touches process.env, in code, fails here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { moduleGraph, stripNonCode } from '../../helpers/imports.ts';

const READER = 'lib/settings.ts';
const TOUCHES_ENV = /\bprocess\s*(?:\.\s*env\b|\[\s*""\s*\])|\{\s*env\s*\}\s*=\s*process\b/;

test('lib/settings.ts is the only reader of the environment', () => {
  const graph = moduleGraph();
  const readers = graph.files.filter((f) => TOUCHES_ENV.test(stripNonCode(graph.source.get(f)!)));
  assert.deepEqual(readers, [READER]);
});

test('the check sees the ways code reaches the environment, and not the words in a comment', () => {
  for (const code of ['const a = process.env.X;', "const b = process['env'];", 'const { env } = process;'])
    assert.ok(TOUCHES_ENV.test(stripNonCode(code)), code);
  assert.ok(!TOUCHES_ENV.test(stripNonCode('// reads process.env\nconst s = "process.env";')));
});
