// Where each function of a source file starts and ends, for the size rule (test/unit/architecture/size.test.ts).
// Works on the code with strings, template literals and comments blanked (stripNonCode), so braces in them
// count for nothing. A function's body is the brace block after its parameter list and return type; those
// may hold braces of their own (`opts: { a: number }`, `): { ok: boolean } {`, `= { a: 1 }` defaults,
// generics, arrow types), which are skipped as types, never taken for the body.
import { stripNonCode } from './imports.ts';

// A line that starts a function: `function f(` / `f<T>(` (a method, or a call such as `test('x', () => {`:
// told apart below) / `const f: T = (...) =>` / a class field `f = (...) =>` / an object property
// `f: (...) =>` / `const x = call(` (whose callbacks are functions). The `d` flag gives where the name is; what follows it is parsed, so a line that only
// looks like one (`x = (a + b) * 2`) counts for nothing.
const ARROW_START = String.raw`(?:async\s*)?(?:[(<]|[A-Za-z0-9_$]+\s*=>)`;
const TYPE_THEN_EQUALS = String.raw`\s*[?!]?\s*(?::(?:[^=]|=>)+?)?=\s*`;
const HEADER = new RegExp(
  [
    String.raw`^\s*(?:export\s+)?(?:default\s+)?(?:async\s+)?(?:function\s*\*?\s*([A-Za-z0-9_$]+)\s*[<(]`,
    String.raw`(?:(?:private|public|protected|static|readonly|override|get|set|async)\s+)*([A-Za-z0-9_$]+)\s*(?:<[^>]*>)?\s*\([^;]*$`,
    String.raw`(?:const|let|var)\s+([A-Za-z0-9_$]+)${TYPE_THEN_EQUALS}${ARROW_START}`,
    String.raw`(?:(?:private|public|protected|static|readonly|override)\s+)*([A-Za-z0-9_$]+)${TYPE_THEN_EQUALS}${ARROW_START}`,
    String.raw`([A-Za-z0-9_$]+)\s*\??\s*:\s*${ARROW_START}`,
    String.raw`(?:const|let|var)\s+([A-Za-z0-9_$]+)${TYPE_THEN_EQUALS}(?:await\s+)?(?:new\s+)?[A-Za-z0-9_$.]+\s*(?:<[^>]*>)?\()`,
  ].join('|'),
  'd',
);
const KEYWORDS = new Set([
  'if',
  'for',
  'while',
  'switch',
  'catch',
  'return',
  'await',
  'new',
  'typeof',
  'function',
]);
/** Words after which a type follows (so a `{` there opens an object type, not the body). */
const TYPE_OPERATORS = new Set([
  'keyof',
  'typeof',
  'is',
  'extends',
  'infer',
  'readonly',
  'new',
  'unique',
  'asserts',
]);
const CLOSER: Record<string, string> = { '(': ')', '[': ']', '{': '}' };

/** [name, first line, length in lines] of every function-like block. */
export function functionLengths(src: string): [string, number, number][] {
  const code = stripNonCode(src);
  const lineStarts = [0];
  for (let k = 0; k < code.length; k++) if (code[k] === '\n') lineStarts.push(k + 1);
  const lineOf = (pos: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const out: [string, number, number][] = [];
  for (let i = 0; i < lineStarts.length; i++) {
    const line = code.slice(lineStarts[i], lineStarts[i + 1] ?? code.length);
    const m = line.match(HEADER);
    const group = m && [1, 2, 3, 4, 5, 6].find((g) => m[g] !== undefined);
    if (!m || !group || KEYWORDS.has(m[group]!)) continue;
    const afterName = lineStarts[i]! + m.indices![group]![1];
    // `const server = createServer((req, res) => {`: the callbacks of the call that gives the value.
    const callAt = group === 6 ? lineStarts[i]! + m.index! + m[0].length - 1 : -1;
    const found =
      group === 6
        ? 'call'
        : group <= 2
          ? declarationBody(code, afterName)
          : arrowBody(code, afterName, group === 5);
    if (found === 'call') {
      // `name(...)` called, not declared: the functions are the callbacks among its arguments.
      for (const [at, end] of callbacks(code, callAt >= 0 ? callAt : afterName)) {
        out.push([m[group]!, lineOf(at) + 1, lineOf(end) - lineOf(at) + 1]);
      }
    } else if (found) out.push([m[group]!, i + 1, lineOf(found) - i + 1]);
  }
  return out;
}

const skipSpace = (code: string, k: number) => {
  while (k < code.length && /\s/.test(code[k]!)) k++;
  return k;
};

/**
 * Past the bracket group opening at `k` (one of `( [ {`): the index after its closer, or -1 if the code
 * ends first or a closer does not match. Angle brackets are not counted: a generic's `<...>` holds only
 * balanced brackets of the other kinds, and `<` is also a comparison.
 */
function skipGroup(code: string, k: number): number {
  const stack: string[] = [];
  for (; k < code.length; k++) {
    const c = code[k]!;
    if (c in CLOSER) stack.push(CLOSER[c]!);
    else if (c === ')' || c === ']' || c === '}') {
      if (stack.pop() !== c) return -1;
      if (stack.length === 0) return k + 1;
    }
  }
  return -1;
}

/** Past a generic parameter list `<...>` opening at `k` (the `>` of `=>` in it closes nothing). */
function skipAngles(code: string, k: number): number {
  let depth = 0;
  for (; k < code.length; k++) {
    if (code[k] === '=' && code[k + 1] === '>') k++;
    else if (code[k] === '<') depth++;
    else if (code[k] === '>' && --depth === 0) return k + 1;
  }
  return -1;
}

/**
 * A return type starting at `k` (after the `:`): the index of what follows it, the body's `{` (or `=>`
 * for an arrow function), or -1 if it is followed by neither (an overload, an interface's signature).
 * A `{` where a type is expected opens an object type; after a complete type it opens the body.
 */
function skipReturnType(code: string, k: number, arrow: boolean): number {
  let expectType = true;
  let afterParens = false;
  while (k < code.length) {
    k = skipSpace(code, k);
    const c = code[k]!;
    if (c === '=' && code[k + 1] === '>') {
      // After `(...)` in a type, `=>` is a function type's arrow; after a complete type, the function's.
      if (arrow && !afterParens && !expectType) return k;
      expectType = true;
      afterParens = false;
      k += 2;
      continue;
    }
    if (c === '{' && !expectType) return arrow ? -1 : k;
    if (c in CLOSER) {
      const next = skipGroup(code, k);
      if (next < 0) return -1;
      afterParens = c === '(';
      expectType = false;
      k = next;
      continue;
    }
    afterParens = false;
    const word = code.slice(k).match(/^(?:[A-Za-z0-9_$.]+|"")/)?.[0];
    if (word) {
      expectType = TYPE_OPERATORS.has(word) || word.endsWith('.');
      k += word.length;
    } else if ('|&?:.,-<'.includes(c)) {
      expectType = true;
      k++;
    } else if (c === '>') {
      expectType = false;
      k++;
    } else return -1;
  }
  return -1;
}

/** The end of the brace block opening at `k`, or undefined if there is none. */
function blockEnd(code: string, k: number): number | undefined {
  if (code[k] !== '{') return undefined;
  const next = skipGroup(code, k);
  return next < 0 ? undefined : next - 1;
}

/**
 * After a declared name (`function f`, method `f`): the index of the body's closing brace; 'call' if the
 * parentheses are a call's arguments (nothing but `;`, `,`, `)`, `.` after them); undefined for a
 * signature without body.
 */
function declarationBody(code: string, k: number): number | 'call' | undefined {
  k = skipSpace(code, k);
  if (code[k] === '<') k = skipSpace(code, skipAngles(code, k));
  if (k < 0 || code[k] !== '(') return undefined;
  const afterParams = skipGroup(code, k);
  if (afterParams < 0) return undefined;
  k = skipSpace(code, afterParams);
  if (code[k] === ':') k = skipReturnType(code, k + 1, false);
  if (k >= 0 && code[k] === '{') return blockEnd(code, k);
  return k >= 0 && ';,).'.includes(code[k]!) ? 'call' : undefined;
}

/**
 * After `const f` (or a class field `f`, or with `property` an object's `f`): the end of the arrow
 * function's block body, or of its expression body; undefined if what is assigned is no arrow function.
 */
function arrowBody(code: string, k: number, property: boolean): number | undefined {
  k = skipSpace(code, k);
  if (code[k] === '?' || code[k] === '!') k = skipSpace(code, k + 1);
  if (property) {
    if (code[k] !== ':') return undefined;
  } else {
    if (code[k] === ':') k = declaredTypeEnd(code, k + 1);
    if (k < 0 || code[k] !== '=') return undefined;
  }
  k = skipSpace(code, k + 1);
  if (code.startsWith('async', k) && !/[A-Za-z0-9_$]/.test(code[k + 5] ?? '')) k = skipSpace(code, k + 5);
  if (code[k] === '<') k = skipSpace(code, skipAngles(code, k));
  if (k < 0) return undefined;
  if (code[k] === '(') k = skipGroup(code, k);
  else k += code.slice(k).match(/^[A-Za-z0-9_$]*/)![0].length;
  if (k < 0) return undefined;
  k = skipSpace(code, k);
  if (code[k] === ':') k = skipReturnType(code, k + 1, true);
  if (k < 0 || !code.startsWith('=>', k)) return undefined;
  k = skipSpace(code, k + 2);
  return code[k] === '{' ? blockEnd(code, k) : expressionEnd(code, k);
}

/** The index of the `=` after a declared type starting at `k` (`: Map<K, () => V> =`), or -1. */
function declaredTypeEnd(code: string, k: number): number {
  let depth = 0;
  for (; k < code.length; k++) {
    const c = code[k]!;
    if (c === '=' && (code[k + 1] === '>' || code[k + 1] === '=')) k++;
    else if (c === '=' && depth === 0) return k;
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === ';' && depth === 0) return -1;
    if (depth < 0) return -1;
  }
  return -1;
}

/** The last index of an expression starting at `k`: before a `;`, `,` or unmatched closer at its level. */
function expressionEnd(code: string, k: number): number {
  const stack: string[] = [];
  for (; k < code.length; k++) {
    const c = code[k]!;
    if (c === '(' || c === '[' || c === '{') stack.push(CLOSER[c]!);
    else if (c === ')' || c === ']' || c === '}') {
      if (stack.pop() !== c) return k - 1;
    } else if ((c === ';' || c === ',') && stack.length === 0) return k - 1;
  }
  return code.length - 1;
}

/**
 * The callbacks in the statement calling the function whose `(` follows `k` (its arguments, and those of
 * calls chained to it): [start, end] of each arrow function or function expression with a block body
 * (nested ones are inside it and not listed apart).
 */
function callbacks(code: string, k: number): [number, number][] {
  const open = code.indexOf('(', k);
  const close = expressionEnd(code, open);
  const out: [number, number][] = [];
  for (let p = open + 1; p < close; p++) {
    let body = -1;
    if (code.startsWith('=>', p)) body = skipSpace(code, p + 2);
    else if (/^function\b/.test(code.slice(p, p + 9)) && !/[A-Za-z0-9_$]/.test(code[p - 1]!)) {
      const paren = code.indexOf('(', p);
      const end = declarationBody(code, paren);
      if (typeof end === 'number') {
        out.push([p, end]);
        p = end;
      }
      continue;
    }
    const end = body >= 0 ? blockEnd(code, body) : undefined;
    if (end !== undefined) {
      out.push([p, end]);
      p = end;
    }
  }
  return out;
}
