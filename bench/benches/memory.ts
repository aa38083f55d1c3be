// 10. Memory per role with volume (issue 5): the persister role and the online optimizer role, each
// started as runtime/app.ts starts it in its own process (bench/child.ts app persister | app online, with
// --expose-gc), both consuming the run's snapshot topic in their own groups. Snapshots are loaded in
// chunks; at each checkpoint (quick: 2k, 10k; full: 10k, 50k, 100k) once both groups have caught up (or
// a time limit passed), each process runs a full GC and reports process.memoryUsage(): RSS and heap
// used, against the snapshots it had consumed. The figure is the slope, MB per 10k snapshots, between
// successive checkpoints (after a warm-up point); no growth with volume means a slope near 0. No
// baseline: the warm-up point is the reference.
import type { Message } from 'kafkajs';
import { type Child, startChild } from '../lib/child.ts';
import { groupLag, load, rawKafka, rawProducer } from '../lib/kafka.ts';
import { realisticSnapshot } from '../lib/snapshots.ts';
import { sleep } from '../lib/stats.ts';
import type { Bench, Figure } from '../lib/types.ts';

const MB = 2 ** 20;
const r1 = (x: number) => Math.round(x * 10) / 10;

interface Point {
  loaded: number;
  consumed: number;
  rss_mb: number;
  heap_used_mb: number;
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

export const memoryBench: Bench = {
  name: 'memory',
  title: 'memory of the persister and online roles (own processes) after 2k-100k snapshots',
  stack: true,
  async run(ctx) {
    const rt = await ctx.runtime();
    const codec = rt.registry.codec('StationSnapshot');
    const topic = ctx.cfg.topics.snapshots;
    const checkpoints = ctx.quick ? [2000, 10000] : [10000, 50000, 100000];
    // The online role decides every snapshot (~100-150/s on 2 loaded cores), so it may not
    // catch up within the wait (quick: 40 s, to stay under 5 minutes): it is then sampled at what it
    // has consumed (the x of its slope).
    const waitMs = (ctx.quick ? 40 : 180) * 1000;
    const chunk = 2000;
    const kafka = rawKafka(ctx.cfg, `${ctx.runId}-raw-mem`);
    const producer = rawProducer(kafka);
    await producer.connect();
    ctx.defer(() => producer.disconnect());

    const roles: { role: string; group: string; child: Child }[] = [];
    ctx.defer(() => Promise.all(roles.map((r) => r.child.stop())));
    for (const [role, group] of [
      ['persister', ctx.cfg.groups.persister],
      ['online', ctx.cfg.groups.online],
    ] as const) {
      const child = await startChild(ctx.cfg, ['app', role], {
        nodeArgs: ['--expose-gc'],
        timeoutMs: 90_000,
      });
      roles.push({ role, group, child });
    }
    const tenant = ctx.tenant('memory');
    let seq = 0;
    let loaded = 0;
    const loadMore = async (count: number) => {
      for (let done = 0; done < count; done += chunk) {
        const m = Math.min(chunk, count - done);
        const msgs: Message[] = Array.from({ length: m }, () => {
          const s = realisticSnapshot(ctx.runId, tenant, seq++);
          return { key: s.call_id, value: codec.encode(s) };
        });
        await load(producer, topic, msgs);
        loaded += m;
      }
    };
    const points: Record<string, Point[]> = Object.fromEntries(roles.map((r) => [r.role, []]));
    const stalls: { role: string; at: string; lag: number; output: string }[] = [];
    const sample = async (label: string) => {
      const deadline = performance.now() + waitMs;
      const lags: Record<string, number> = {};
      for (;;) {
        for (const r of roles) lags[r.role] = await groupLag(rt.kafka, r.group, topic);
        if (Object.values(lags).every((l) => l === 0) || performance.now() > deadline) break;
        await sleep(500);
      }
      for (const r of roles) {
        if (lags[r.role]! > 0) {
          const tail = r.child.output().trim().split('\n').slice(-5).join('\n').slice(-1500);
          ctx.log(
            `memory: ${r.role} still ${lags[r.role]} behind at ${label}; its last output: ${tail || '(none)'}`,
          );
          stalls.push({ role: r.role, at: label, lag: lags[r.role]!, output: tail });
        }
        const m = await r.child.memory();
        points[r.role]!.push({
          loaded,
          consumed: loaded - lags[r.role]!,
          rss_mb: r1(m.memory.rss / MB),
          heap_used_mb: r1(m.memory.heapUsed / MB),
          gc: m.gc,
        });
      }
      ctx.log(
        `memory: ${label}: ${roles
          .map((r) => {
            const p = points[r.role]!.at(-1)!;
            return `${r.role} consumed ${p.consumed} rss ${p.rss_mb} MB heap ${p.heap_used_mb} MB`;
          })
          .join('; ')}`,
      );
    };

    // Warm-up point: JIT, pools, group joins, the first calls' state.
    await loadMore(500);
    await sample('warm-up (500)');
    for (const cp of checkpoints) {
      await loadMore(cp + 500 - loaded);
      await sample(`after ${cp}`);
    }

    const figures: Figure[] = [];
    const fits: Record<string, unknown> = {};
    for (const r of roles) {
      const ps = points[r.role]!;
      const per10k = (key: 'rss_mb' | 'heap_used_mb') =>
        ps.slice(1).map((p, i) => {
          const q = ps[i]!;
          const dx = p.consumed - q.consumed;
          return dx > 0 ? ((p[key] - q[key]) / dx) * 10000 : Number.NaN;
        });
      const fit = (key: 'rss_mb' | 'heap_used_mb') =>
        r1(
          slope(
            ps.map((p) => p.consumed),
            ps.map((p) => p[key]),
          ) * 10000,
        );
      fits[r.role] = { rss_mb_per_10k: fit('rss_mb'), heap_used_mb_per_10k: fit('heap_used_mb') };
      const at = (key: 'rss_mb' | 'heap_used_mb') =>
        ps.map((p) => `${p[key]} MB @${(p.consumed / 1000).toFixed(1)}k`).join(', ');
      const lagging = ps.some((p) => p.consumed < p.loaded)
        ? `; consumed < loaded at some checkpoints (${ps.map((p) => `${p.consumed}/${p.loaded}`).join(', ')})`
        : '';
      figures.push(
        {
          bench: 'memory',
          name: `memory ${r.role} RSS growth`,
          metric: 'MB/10k snapshots',
          higherIsBetter: false,
          samples: per10k('rss_mb'),
          note: `RSS ${at('rss_mb')}; least-squares slope ${fit('rss_mb')} MB/10k${lagging}`,
        },
        {
          bench: 'memory',
          name: `memory ${r.role} heap used growth`,
          metric: 'MB/10k snapshots',
          higherIsBetter: false,
          samples: per10k('heap_used_mb'),
          note: `heap used after GC ${at('heap_used_mb')}; least-squares slope ${fit('heap_used_mb')} MB/10k`,
        },
      );
    }
    return { figures, details: { checkpoints, points, least_squares: fits, behind: stalls } };
  },
};
