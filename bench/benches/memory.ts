// 10. Memory per role with volume (issue 5): the persister role and the online optimizer role, each
// started as runtime/app.ts starts it in its own process (bench/child.ts app persister | app online, with
// --expose-gc), both consuming the run's snapshot topic in their own groups. Snapshots are loaded in
// chunks; at each checkpoint (quick: 2k, 4k, 6k, 8k, 10k; full: 10k, 50k, 100k) once both groups have
// caught up (or a time limit passed), each process runs a full GC and reports process.memoryUsage() and
// V8's heap statistics, against the snapshots it had consumed. The figures are the slopes, MB per 10k
// snapshots, between successive checkpoints (after a warm-up point; the row shows their median): RSS,
// V8 heap committed (live objects and the free space V8 keeps for them; 2026-12-03 most of the online
// role's RSS growth) and heap used; the notes add least-squares slopes of heap pages touched, V8's own
// malloc and external memory. No growth with volume means slopes near 0. No baseline: the warm-up point
// is the reference.
import type { Message } from 'kafkajs';
import type { Runtime } from '../../runtime/bootstrap.ts';
import { type Child, startChild } from '../lib/child.ts';
import { groupLag, load, rawKafka, rawProducer } from '../lib/kafka.ts';
import { realisticSnapshot } from '../lib/snapshots.ts';
import { sleep } from '../lib/stats.ts';
import type { Bench, BenchContext, Figure } from '../lib/types.ts';

const MB = 2 ** 20;
const r1 = (x: number) => Math.round(x * 10) / 10;
const CHUNK = 2000;

interface Point {
  loaded: number;
  consumed: number;
  /** After a full GC (bench/child.ts), MB. */
  rss_mb: number;
  heap_used_mb: number;
  /** Committed by V8 for its heap (live objects and the free space it keeps), and of that the pages touched. */
  heap_total_mb: number;
  heap_physical_mb: number;
  /** V8's own malloc outside the heap (compiler zones). */
  v8_malloced_mb: number;
  /** Memory outside the heap held by JS objects (Buffers, wasm memories), and of it Node's ArrayBuffers. */
  external_mb: number;
  array_buffers_mb: number;
  /** V8 heap spaces: [committed MB, live MB]. */
  spaces: Record<string, [number, number]>;
  gc: boolean;
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

interface RoleChild {
  role: string;
  group: string;
  child: Child;
}

/** The persister and the online role, each in its own process (with --expose-gc), in their own groups. */
async function startRoles(ctx: BenchContext): Promise<RoleChild[]> {
  const roles: RoleChild[] = [];
  ctx.defer(() => Promise.all(roles.map((r) => r.child.stop())));
  for (const [role, group] of [
    ['persister', ctx.cfg.groups.persister],
    ['online', ctx.cfg.groups.online],
  ] as const) {
    const child = await startChild(ctx.cfg, ['app', role], { nodeArgs: ['--expose-gc'], timeoutMs: 90_000 });
    roles.push({ role, group, child });
  }
  return roles;
}

interface GroupEvent {
  role: string;
  at_s: number;
  state: string;
  members: number;
  output: string;
}

/**
 * Watches each role's consumer group once a second while the run lasts: a group that leaves Stable
 * while its process lives (a consumer evicted or crashed; a persister's group once went Empty for good
 * in a full run, issue 11) is logged with the process's last output and kept in the details.
 */
function watchGroups(ctx: BenchContext, rt: Runtime, roles: RoleChild[]) {
  const events: GroupEvent[] = [];
  const last = new Map<string, string>();
  const t0 = performance.now();
  const admin = rt.kafka.admin();
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const { groups } = await admin.describeGroups(roles.map((r) => r.group));
      for (const g of groups) {
        const r = roles.find((x) => x.group === g.groupId)!;
        const prev = last.get(r.role);
        last.set(r.role, g.state);
        if (prev === undefined || prev === g.state) continue;
        const output = r.child.output().trim().split('\n').slice(-5).join('\n').slice(-1500);
        const at = Math.round((performance.now() - t0) / 1000);
        events.push({ role: r.role, at_s: at, state: g.state, members: g.members.length, output });
        ctx.log(
          `memory: ${r.role}'s group ${prev} -> ${g.state} at ${at} s; its last output: ${output || '(none)'}`,
        );
      }
    } catch {
      // the broker busy: the next tick asks again
    } finally {
      busy = false;
    }
  }, 1000);
  return {
    events,
    ready: admin.connect(),
    async stop() {
      clearInterval(timer);
      await admin.disconnect().catch(() => {});
    },
  };
}

/** Loads realistic snapshots onto the run's topic in chunks; `loaded` counts them. */
async function snapshotLoader(ctx: BenchContext, rt: Runtime) {
  const codec = rt.registry.codec('StationSnapshot');
  const kafka = rawKafka(ctx.cfg, `${ctx.runId}-raw-mem`);
  const producer = rawProducer(kafka);
  await producer.connect();
  ctx.defer(() => producer.disconnect());
  const tenant = ctx.tenant('memory');
  let seq = 0;
  const loader = {
    loaded: 0,
    async loadMore(count: number) {
      for (let done = 0; done < count; done += CHUNK) {
        const m = Math.min(CHUNK, count - done);
        const msgs: Message[] = Array.from({ length: m }, () => {
          const s = realisticSnapshot(ctx.runId, tenant, seq++);
          return { key: s.call_id, value: codec.encode(s) };
        });
        await load(producer, ctx.cfg.topics.snapshots, msgs);
        loader.loaded += m;
      }
    },
  };
  return loader;
}

interface Sampling {
  ctx: BenchContext;
  rt: Runtime;
  roles: RoleChild[];
  waitMs: number;
  points: Record<string, Point[]>;
  stalls: { role: string; at: string; lag: number; output: string }[];
}

/** Waits until both groups have caught up (or the wait ends), then has each process GC and report. */
async function sample(sm: Sampling, loaded: number, label: string): Promise<void> {
  const { ctx, roles, points } = sm;
  const topic = ctx.cfg.topics.snapshots;
  const deadline = performance.now() + sm.waitMs;
  const lags: Record<string, number> = {};
  for (;;) {
    for (const r of roles) lags[r.role] = await groupLag(sm.rt.kafka, r.group, topic);
    if (Object.values(lags).every((l) => l === 0) || performance.now() > deadline) break;
    await sleep(500);
  }
  for (const r of roles) {
    if (lags[r.role]! > 0) {
      const tail = r.child.output().trim().split('\n').slice(-5).join('\n').slice(-1500);
      ctx.log(
        `memory: ${r.role} still ${lags[r.role]} behind at ${label}; its last output: ${tail || '(none)'}`,
      );
      sm.stalls.push({ role: r.role, at: label, lag: lags[r.role]!, output: tail });
    }
    const m = await r.child.memory();
    const mb = (bytes: number) => r1(bytes / MB);
    points[r.role]!.push({
      loaded,
      consumed: loaded - lags[r.role]!,
      rss_mb: mb(m.memory.rss),
      heap_used_mb: mb(m.memory.heapUsed),
      heap_total_mb: mb(m.memory.heapTotal),
      heap_physical_mb: mb(m.memory.heapPhysical),
      v8_malloced_mb: mb(m.memory.v8Malloced),
      external_mb: mb(m.memory.external),
      array_buffers_mb: mb(m.memory.arrayBuffers),
      spaces: Object.fromEntries(
        Object.entries(m.spaces).map(([k, [size, used]]) => [k, [mb(size), mb(used)]]),
      ),
      gc: m.gc,
    });
  }
  ctx.log(
    `memory: ${label}: ${roles
      .map((r) => {
        const p = points[r.role]!.at(-1)!;
        return `${r.role} consumed ${p.consumed} rss ${p.rss_mb} MB heap used ${p.heap_used_mb} committed ${p.heap_total_mb} touched ${p.heap_physical_mb} MB external ${p.external_mb} MB`;
      })
      .join('; ')}`,
  );
}

const KEYS = [
  'rss_mb',
  'heap_used_mb',
  'heap_total_mb',
  'heap_physical_mb',
  'v8_malloced_mb',
  'external_mb',
  'array_buffers_mb',
] as const;
type Key = (typeof KEYS)[number];

/** A role's figures (RSS, V8 heap committed, heap used: growth per 10k snapshots) and least-squares fits. */
function roleFigures(role: string, ps: Point[]): { figures: Figure[]; fit: Record<string, number> } {
  const per10k = (key: Key) =>
    ps.slice(1).map((p, i) => {
      const q = ps[i]!;
      const dx = p.consumed - q.consumed;
      return dx > 0 ? ((p[key] - q[key]) / dx) * 10000 : Number.NaN;
    });
  const fit = (key: Key) =>
    r1(
      slope(
        ps.map((p) => p.consumed),
        ps.map((p) => p[key]),
      ) * 10000,
    );
  const at = (key: Key) => ps.map((p) => `${p[key]} MB @${(p.consumed / 1000).toFixed(1)}k`).join(', ');
  const lagging = ps.some((p) => p.consumed < p.loaded)
    ? `; consumed < loaded at some checkpoints (${ps.map((p) => `${p.consumed}/${p.loaded}`).join(', ')})`
    : '';
  const figure = (name: string, key: Key, note: string): Figure => ({
    bench: 'memory',
    name: `memory ${role} ${name}`,
    metric: 'MB/10k snapshots',
    higherIsBetter: false,
    samples: per10k(key),
    note: `${note} ${at(key)}; least-squares slope ${fit(key)} MB/10k`,
  });
  const others = `least-squares MB/10k: heap pages touched ${fit('heap_physical_mb')}, V8 malloc ${fit('v8_malloced_mb')}, external ${fit('external_mb')} (array buffers ${fit('array_buffers_mb')})`;
  return {
    fit: Object.fromEntries(KEYS.map((k) => [`${k}_per_10k`, fit(k)])),
    figures: [
      figure('RSS growth', 'rss_mb', `${others}${lagging}; RSS after GC`),
      figure('heap committed growth', 'heap_total_mb', 'V8 heap committed after GC'),
      figure('heap used growth', 'heap_used_mb', 'heap used after GC'),
    ],
  };
}

export const memoryBench: Bench = {
  name: 'memory',
  title: 'memory of the persister and online roles (own processes) after 2k-100k snapshots',
  stack: true,
  async run(ctx) {
    const rt = await ctx.runtime();
    const checkpoints = ctx.quick ? [2000, 4000, 6000, 8000, 10000] : [10000, 50000, 100000];
    const loader = await snapshotLoader(ctx, rt);
    const roles = await startRoles(ctx);
    const sm: Sampling = {
      ctx,
      rt,
      roles,
      // The online role decides every snapshot (~100-150/s on 2 loaded cores), so it may not
      // catch up within the wait (quick: 40 s, to stay under 5 minutes): it is then sampled at what it
      // has consumed (the x of its slope).
      waitMs: (ctx.quick ? 40 : 180) * 1000,
      points: Object.fromEntries(roles.map((r) => [r.role, []])),
      stalls: [],
    };
    const watch = watchGroups(ctx, rt, roles);
    await watch.ready;
    ctx.defer(() => watch.stop());
    // Warm-up point: JIT, pools, group joins, the first calls' state.
    await loader.loadMore(500);
    await sample(sm, loader.loaded, 'warm-up (500)');
    for (const cp of checkpoints) {
      await loader.loadMore(cp + 500 - loader.loaded);
      await sample(sm, loader.loaded, `after ${cp}`);
    }
    const figures: Figure[] = [];
    const fits: Record<string, unknown> = {};
    for (const r of roles) {
      const f = roleFigures(r.role, sm.points[r.role]!);
      figures.push(...f.figures);
      fits[r.role] = f.fit;
    }
    await watch.stop();
    return {
      figures,
      details: {
        checkpoints,
        points: sm.points,
        least_squares: fits,
        behind: sm.stalls,
        group_events: watch.events,
      },
    };
  },
};
