// The project's module graph, read from the source: every value import (type-only imports are erased
// by the compiler and load nothing) of every .ts file outside node_modules, resolved to a file or a
// package name. Used by the architecture tests (layers, circles, who reads the environment).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');

const SKIP = new Set(['node_modules', '.git', 'bench/results', '.venv', '.stack', 'dist']);

export function sourceFiles(dir = ROOT): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const rel = relative(ROOT, p);
    if (SKIP.has(name) || SKIP.has(rel) || name.startsWith('.')) continue;
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out.sort();
}

// Static imports and re-exports (possibly over several lines), side-effect imports, dynamic imports.
const STATIC = /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/gms;
const BARE = /^\s*import\s+['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Specifiers a file loads at run time. */
export function valueImports(source: string): string[] {
  const code = source.replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  for (const m of code.matchAll(STATIC)) {
    if (m[2]) continue; // import type / export type
    const clause = m[3]!.trim();
    // `import { type A, type B } from` loads nothing either.
    const names = clause.match(/^\{([\s\S]*)\}$/);
    if (names && names[1]!.split(',').every((n) => n.trim() === '' || /^type\s/.test(n.trim()))) continue;
    out.push(m[4]!);
  }
  for (const m of code.matchAll(BARE)) out.push(m[1]!);
  for (const m of code.matchAll(DYNAMIC)) out.push(m[1]!);
  return out;
}

/** A relative specifier as a project file (relative to ROOT); anything else as its package name. */
export function resolveSpecifier(from: string, spec: string): { file?: string; pkg?: string } {
  if (spec.startsWith('.')) return { file: relative(ROOT, resolve(ROOT, dirname(from), spec)) };
  const bare = spec.replace(/^node:/, '');
  const parts = bare.split('/');
  return { pkg: bare.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]! };
}

export interface ModuleGraph {
  files: string[];
  edges: Map<string, string[]>;
  packages: Map<string, string[]>;
  source: Map<string, string>;
}

export function moduleGraph(): ModuleGraph {
  const files = sourceFiles();
  const edges = new Map<string, string[]>();
  const packages = new Map<string, string[]>();
  const source = new Map<string, string>();
  for (const f of files) {
    const text = readFileSync(join(ROOT, f), 'utf8');
    source.set(f, text);
    const deps: string[] = [];
    const pkgs: string[] = [];
    for (const spec of valueImports(text)) {
      const r = resolveSpecifier(f, spec);
      if (r.file) deps.push(r.file);
      else pkgs.push(r.pkg!);
    }
    edges.set(f, deps);
    packages.set(f, pkgs);
  }
  return { files, edges, packages, source };
}

/** Every file reachable from `start`, with the path that first reached it. */
export function reach(g: ModuleGraph, start: string): Map<string, string[]> {
  const paths = new Map<string, string[]>([[start, [start]]]);
  const queue = [start];
  while (queue.length) {
    const f = queue.shift()!;
    for (const d of g.edges.get(f) ?? []) {
      if (paths.has(d)) continue;
      paths.set(d, [...paths.get(f)!, d]);
      queue.push(d);
    }
  }
  return paths;
}

/** Import circles (strongly connected components of more than one file, or a file importing itself). */
export function circles(g: ModuleGraph): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of g.edges.get(v) ?? []) {
      if (!g.edges.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (g.edges.get(v) ?? []).includes(v)) out.push(comp.sort());
    }
  };
  for (const f of g.files) if (!idx.has(f)) visit(f);
  return out;
}

// A `/` after one of these (or after `return`, `typeof`...) starts a regular expression, not a division;
// not after a non-null assertion (`n! / 2`) nor after `x++` / `x--`.
const BEFORE_REGEX =
  /(?:^|[(,=:[&|?{};*%<>~^]|(?<![\w$)\]])!|(?<!\+)\+|(?<!-)-|\b(?:return|typeof|case|in|of|void|yield|await))\s*$/;

/** The index after the regular expression literal opening at `i` (classes `[...]` may hold a `/`). */
function regexEnd(src: string, i: number): number {
  let inClass = false;
  for (i++; i < src.length && src[i] !== '\n'; i++) {
    if (src[i] === '\\') i++;
    else if (src[i] === '[') inClass = true;
    else if (src[i] === ']') inClass = false;
    else if (src[i] === '/' && !inClass) return i + 1;
  }
  return i;
}

/** The index after the string or template literal opening at `i` (with `${...}` holding any code). */
function literalEnd(src: string, i: number): number {
  const quote = src[i];
  for (i++; i < src.length && src[i] !== quote; i++) {
    if (src[i] === '\\') i++;
    else if (quote === '`' && src[i] === '$' && src[i + 1] === '{') i = substitutionEnd(src, i + 2) - 1;
  }
  return i + 1;
}

/** The index after the `}` closing a template's `${` substitution whose code starts at `i`. */
function substitutionEnd(src: string, i: number): number {
  let depth = 1;
  for (; i < src.length; i++) {
    const c = src[i]!;
    if (c === "'" || c === '"' || c === '`') i = literalEnd(src, i) - 1;
    else if (c === '/' && BEFORE_REGEX.test(src.slice(Math.max(0, i - 200), i))) i = regexEnd(src, i) - 1;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i + 1;
  }
  return i;
}

/**
 * Code with strings, template literals, regular expressions and comments blanked out (newlines kept), for
 * brace and bracket counting.
 */
export function stripNonCode(src: string): string {
  let out = '';
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    const next = src[i + 1];
    if (c === '/' && next !== '/' && next !== '*' && BEFORE_REGEX.test(out.slice(-200))) {
      i = regexEnd(src, i);
      out += '""';
    } else if (c === '/' && next === '/') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      i += 2;
      while (i < src.length && !(src[i] === '*' && src[i + 1] === '/')) out += src[i++] === '\n' ? '\n' : '';
      i += 2;
    } else if (c === "'" || c === '"' || c === '`') {
      const end = literalEnd(src, i);
      out += `${src.slice(i, end).replace(/[^\n]/g, '')}""`;
      i = end;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
