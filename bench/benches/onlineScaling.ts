// 7b. Online role scale-out (issue 11 point 2): decisions per second by one online instance against two
// in one consumer group on the run's snapshot topic (6 partitions), each instance a runtime/app.ts
// `online` role in its own process (bench/child.ts app online). A burst of snapshots, each the first
// of a new call at station 4 with speech too quiet (so every one is a decision that changes a
// parameter, as in the online bench), is loaded at once; the figure is snapshots decided per second
// from the first send to the last decision (the processes count their decisions over IPC). No relay
// runs: this measures the deciding role, not the publishing of what it decided. Cells alternate
// (1, 2, 1, 2, ...), and the CPU of each online process, PostgreSQL, Kafka and the whole machine is
// read beside every figure: two instances can only decide ~2x when the cores are there to do it.
import { loadavg } from 'node:os';
import type { Message } from 'kafkajs';
import { type Child, startChild } from '../lib/child.ts';
import { stackPid, watchCpu } from '../lib/cpu.ts';
import { load, rawKafka, rawProducer } from '../lib/kafka.ts';
import { median, waitUntil } from '../lib/stats.ts';
import type { Bench, BenchContext, Figure } from '../lib/types.ts';
import { quietSnapshots } from './online.ts';

type Cpu = Record<string, number | null>;

interface Cell {
  instances: number;
  decided: number;
  ms: number;
  rate: number;
  cpu: Cpu;
  /** CPU time of the online processes together per decision, ms (the cost, whatever the load). */
  cpuMsPerDecision: number | null;
  load: number;
}

const cpuText = (cpu: Cpu) =>
  Object.entries(cpu)
    .map(([k, v]) => `${k} ${v === null ? '?' : v.toFixed(2)}`)
    .join(', ');

/** Waits until the online group has exactly `n` members and is Stable. */
async function groupOf(ctx: BenchContext, n: number): Promise<void> {
  const admin = (await ctx.runtime()).kafka.admin();
  await admin.connect();
  try {
    await waitUntil(
      async () => {
        const [g] = (await admin.describeGroups([ctx.cfg.groups.online])).groups;
        return g?.state === 'Stable' && g.members.length === n;
      },
      60_000,
      250,
    );
  } finally {
    await admin.disconnect();
  }
}

export const onlineScalingBench: Bench = {
  name: 'online-scaling',
  title: 'Online role scale-out: decisions/s by 1 and 2 instances (own processes) in one group',
  stack: true,
  async run(ctx) {
    const rt = await ctx.runtime();
    const codec = rt.registry.codec('StationSnapshot');
    const tenant = ctx.tenant('online-scale');
    const quiet = quietSnapshots(ctx, tenant);
    const kafka = rawKafka(ctx.cfg, `${ctx.runId}-raw-oscale`);
    const producer = rawProducer(kafka);
    await producer.connect();
    ctx.defer(() => producer.disconnect());
    let seq = 0;
    const burstOf = (n: number): Message[] =>
      Array.from({ length: n }, () => {
        const s = quiet(`${ctx.runId}-os-${seq++}`);
        return { key: s.call_id, value: codec.encode(s) };
      });
    const children: Child[] = [];
    ctx.defer(() => Promise.all(children.map((c) => c.stop())));
    const decided = () => children.reduce((s, c) => s + c.count(), 0);
    /** A burst of `n`, timed from the first send to the n-th decision. */
    const burst = async (n: number): Promise<Omit<Cell, 'instances'>> => {
      const msgs = burstOf(n);
      const from = decided();
      const cpu = watchCpu({
        ...Object.fromEntries(children.map((c, i) => [`online${i + 1}`, { pid: c.pid }])),
        postgres: { pid: stackPid('postgres'), children: true },
        kafka: { pid: stackPid('kafka') },
        bench: { pid: process.pid },
      });
      const t0 = performance.now();
      await load(producer, ctx.cfg.topics.snapshots, msgs);
      await waitUntil(() => decided() - from >= n, 120_000, 10);
      const ms = performance.now() - t0;
      const done = Math.min(n, decided() - from);
      const cores = cpu.stop();
      const online = children.map((_, i) => cores[`online${i + 1}`]);
      const cpuMs = online.some((c) => c == null)
        ? null
        : (online.reduce((a: number, c) => a + c!, 0) * ms) / done;
      return {
        decided: done,
        ms,
        rate: (done * 1000) / ms,
        cpu: cores,
        cpuMsPerDecision: cpuMs,
        load: loadavg()[0]!,
      };
    };
    const setInstances = async (n: number) => {
      while (children.length > n) await children.pop()!.stop();
      while (children.length < n) children.push(await startChild(ctx.cfg, ['app', 'online']));
      await groupOf(ctx, n);
      await burst(ctx.quick ? 100 : 300); // warm-up: JIT of a new process, partitions just assigned
    };
    const n = ctx.quick ? 800 : 3000;
    const rounds = ctx.quick ? 1 : 3;
    const cells: Cell[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const instances of [1, 2]) {
        await setInstances(instances);
        const c = { instances, ...(await burst(n)) };
        cells.push(c);
        ctx.log(
          `online-scaling: x${instances} round ${r + 1}: ${c.decided}/${n} decided in ${(c.ms / 1000).toFixed(1)} s, ${c.rate.toFixed(0)}/s, ${c.cpuMsPerDecision?.toFixed(2) ?? '?'} ms CPU per decision; cores ${cpuText(c.cpu)}; load average ${c.load.toFixed(1)}`,
        );
      }
    }
    const of = (k: number) => cells.filter((c) => c.instances === k);
    const one = median(of(1).map((c) => c.rate));
    const figures: Figure[] = [1, 2].map((k) => ({
      bench: 'online-scaling',
      name: `online role x${k}, burst of ${n} (6 partitions)`,
      metric: 'decisions/s',
      higherIsBetter: true,
      samples: of(k).map((c) => c.rate),
      ...(k === 2
        ? {
            baseline: { name: 'one instance', samples: of(1).map((c) => c.rate) },
            goal: { kind: 'min' as const, value: 1.6, on: 'ratio' as const, text: '>= 1.6x one' },
          }
        : {}),
      note: `cores per run (online processes, PostgreSQL with its backends, Kafka, the bench process loading the burst, the machine of 2): ${of(
        k,
      )
        .map(
          (c) =>
            `${cpuText(c.cpu)}, ${c.cpuMsPerDecision?.toFixed(2) ?? '?'} ms CPU per decision (load ${c.load.toFixed(1)})`,
        )
        .join(' | ')}${k === 2 ? `; one instance's median ${one.toFixed(0)}/s` : ''}`,
    }));
    return { figures, details: { burst: n, cells } };
  },
};
