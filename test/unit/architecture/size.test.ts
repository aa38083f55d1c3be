// House rules on size: no source file over 500 lines, no function over 120 lines (the demo's summary
// printer, once excepted, is 99 lines since it was split: there are no exceptions). Functions are measured from their header to the brace
// closing the body that follows their parameter list and return type (test/helpers/functions.ts), braces
// counted outside strings, template literals, regular expressions and comments.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { functionLengths } from '../../helpers/functions.ts';
import { moduleGraph } from '../../helpers/imports.ts';

const MAX_FILE_LINES = 500;
const MAX_FUNCTION_LINES = 120;

/**
 * Functions over the limit that are not split yet: the test fails on any function not listed here, and on
 * a listed one that is no longer long (remove it from the list then).
 */
const NOT_YET_SPLIT = new Set<string>([]);

const graph = moduleGraph();

test(`no source file over ${MAX_FILE_LINES} lines`, () => {
  const long = graph.files
    .map((f) => [f, graph.source.get(f)!.split('\n').length] as const)
    .filter(([f, n]) => n > MAX_FILE_LINES && !f.endsWith('generated.ts'))
    .map(([f, n]) => `${f}: ${n} lines`);
  assert.deepEqual(long, []);
});

test(`no function over ${MAX_FUNCTION_LINES} lines`, () => {
  const long: string[] = [];
  const stillLong = new Set<string>();
  for (const f of graph.files) {
    for (const [name, line, n] of functionLengths(graph.source.get(f)!)) {
      const id = `${f}:${name}`;
      if (n <= MAX_FUNCTION_LINES) continue;
      if (NOT_YET_SPLIT.has(id)) stillLong.add(id);
      else long.push(`${f}:${line} ${name}: ${n} lines`);
    }
  }
  assert.deepEqual(long, []);
  assert.deepEqual(
    [...NOT_YET_SPLIT].filter((id) => !stillLong.has(id)),
    [],
    'split since: remove from NOT_YET_SPLIT',
  );
});

const body = (n: number) => Array.from({ length: n }, (_, k) => `  const v${k} = { k: ${k} };`);

test('the measure finds functions and their ends', () => {
  const src = [
    'export async function a(x: string) {',
    "  const s = '}';",
    '  if (x) {',
    "    return '{' + x;",
    '  }',
    '}',
    'const b = async (y: number): Promise<void> => {',
    '  // }',
    '};',
  ].join('\n');
  assert.deepEqual(functionLengths(src), [
    ['a', 1, 6],
    ['b', 7, 3],
  ]);

  // Braces in parameter and return types (and object literal defaults) are not the body.
  const types = [
    'export function f(opts: { a: number; b?: { c: string } }, d = { e: 1 }) {',
    ...body(5),
    '}',
    'function g<T extends { id: string }>(x: T): { ok: boolean; x: T } {',
    ...body(4),
    '  return { ok: true, x };',
    '}',
    'const h = async (o: { n: number }): Promise<{ n: number }> => {',
    ...body(3),
    '  return o;',
    '};',
    'class K {',
    '  method(',
    '    cb: (r: { rows: number[] }) => void,',
    '  ): Record<string, { v: number }> | undefined {',
    ...body(2),
    '    return undefined;',
    '  }',
    '}',
    'function j(x: unknown): x is { y: number } {',
    '  return true;',
    '}',
    'function overload(x: { a: number }): void;',
  ].join('\n');
  assert.deepEqual(functionLengths(types), [
    ['f', 1, 7],
    ['g', 8, 7],
    ['h', 15, 6],
    ['method', 22, 7],
    ['cb', 23, 1], // a parameter's function type reads as a one-line arrow function: harmless
    ['j', 30, 3],
  ]);

  // Neither do regular expressions, nested template literals, nor callbacks passed to a call.
  const tricky = [
    'function r(s: string) {',
    "  const p = s.replace(/^\\//, '').replace(/[{\"']/g, '(');",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of nested template literals
    '  const t = `${s.split("").map((c) => `${c}}`).join(\'{\')}`;',
    '  return p + t;',
    '}',
    "test('a test', async (t) => {",
    ...body(3),
    '});',
    'const one = (x: number) => x + 1;',
    'function d(xs: number[]) {',
    '  const m = xs[0]! / xs.length;',
    '  return { m };',
    '}',
    'const server = createServer((req, res) => {',
    ...body(2),
    '});',
  ].join('\n');
  assert.deepEqual(functionLengths(tricky), [
    ['r', 1, 5],
    ['test', 6, 5],
    ['one', 11, 1],
    ['d', 12, 4], // a non-null assertion before a division, not a regular expression
    ['server', 16, 4], // the callback of the call a variable is set to
  ]);

  // Arrow functions with a declared type, over several lines, as class fields and as object properties.
  const arrows = [
    'export const routes: Plugin<{ a: (x: number) => void }> = async (app, opts) => {',
    ...body(3),
    '};',
    'const wrapped = async (',
    '  first: string,',
    '  second: { n: number },',
    '): Promise<void> => {',
    ...body(2),
    '};',
    'class C {',
    '  private handler = (e: { type: string }) => {',
    ...body(2),
    '  };',
    '}',
    'const hooks = {',
    '  onLearn: (n: number) =>',
    '    update((p) => {',
    '      p.n = n;',
    '    }),',
    '  onDone: () => {',
    '    finish();',
    '  },',
    '};',
    '  total = (a + b) * 2;',
  ].join('\n');
  assert.deepEqual(functionLengths(arrows), [
    ['routes', 1, 5],
    ['wrapped', 6, 7],
    ['handler', 14, 4],
    ['onLearn', 20, 4],
    ['update', 21, 3], // the callback passed to update()
    ['onDone', 24, 3],
  ]);
});
