// Summarises a V8 CPU profile (`node --cpu-prof`): the functions with the most self time, and the
// project functions with the most inclusive time (self + callees).
//
//   npx tsx bench/profile-top.ts FILE.cpuprofile [--top 25] [--filter SUBSTRING] [--callers FUNCTION]
//
// --callers prints the heaviest call stacks that end in FUNCTION (e.g. writev: who writes to sockets).
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const file = args.find(
  (a, i) => !a.startsWith('--') && !['--top', '--filter', '--callers'].includes(args[i - 1] ?? ''),
);
if (!file) {
  console.error(
    'usage: tsx bench/profile-top.ts FILE.cpuprofile [--top N] [--filter SUBSTRING] [--callers FUNCTION]',
  );
  process.exit(2);
}
const top = Number(opt('--top') ?? 25) || 25;
const filter = opt('--filter');
const callers = opt('--callers');
const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;

// Self time per node from the samples and their time deltas (µs), else from hit counts.
const selfUs = new Map<number, number>();
if (prof.samples && prof.timeDeltas) {
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, prof.timeDeltas[i] ?? 0));
  }
} else {
  const per =
    (prof.endTime - prof.startTime) /
    Math.max(
      1,
      prof.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0),
    );
  for (const n of prof.nodes) selfUs.set(n.id, (n.hitCount ?? 0) * per);
}
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const root = (() => {
  const cwd = process.cwd();
  return (url: string) => url.replace(/^file:\/\//, '').replace(`${cwd}/`, '');
})();
const label = (n: Node) =>
  `${n.callFrame.functionName || '(anonymous)'} ${root(n.callFrame.url)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
for (const n of prof.nodes) {
  const us = selfUs.get(n.id) ?? 0;
  if (us === 0) continue;
  total += us;
  const l = label(n);
  self.set(l, (self.get(l) ?? 0) + us);
  // Inclusive: credit each distinct function on the stack once.
  const seen = new Set<string>();
  for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
    const x = byId.get(id)!;
    const lx = label(x);
    if (seen.has(lx)) continue;
    seen.add(lx);
    inclusive.set(lx, (inclusive.get(lx) ?? 0) + us);
  }
}

const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled`);
console.log(`\ntop ${top} by self time${filter ? ` (matching ${filter})` : ''}:`);
for (const [l, us] of [...self]
  .filter(([l]) => !filter || l.includes(filter))
  .sort((a, b) => b[1] - a[1])
  .slice(0, top))
  console.log(`${ms(us)} ${pct(us)}  ${l}`);
console.log(`\ntop ${top} project functions by inclusive time:`);
for (const [l, us] of [...inclusive]
  .filter(
    ([l]) =>
      !l.includes('node_modules') && !l.startsWith('(') && /\.ts:/.test(l) && (!filter || l.includes(filter)),
  )
  .sort((a, b) => b[1] - a[1])
  .slice(0, top))
  console.log(`${ms(us)} ${pct(us)}  ${l}`);

if (callers) {
  const stacks = new Map<string, number>();
  for (const n of prof.nodes) {
    if (n.callFrame.functionName !== callers) continue;
    const us = selfUs.get(n.id) ?? 0;
    const path: string[] = [];
    for (let id = parent.get(n.id), k = 0; id !== undefined && k < 16; id = parent.get(id), k++)
      path.push(label(byId.get(id)!));
    const key = path.join('\n    < ');
    stacks.set(key, (stacks.get(key) ?? 0) + us);
  }
  console.log(`\nheaviest stacks ending in ${callers}:`);
  for (const [k, us] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 5))
    console.log(`${ms(us)} ${pct(us)}\n    < ${k}\n`);
}
