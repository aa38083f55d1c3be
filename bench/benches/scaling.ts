// 9. Persister scale-out (issue 5): Kafka -> persister -> PostgreSQL, snapshots/s at 1, 3 and 6
// partitions of the snapshot topic with 1 and 2 persister instances, each instance a `startPersister`
// consumer in its own process (bench/child.ts persister), the instances of a cell in one consumer group,
// so they split the partitions as a scaled-out deployment does. The figure to read is the 2-instance /
// 1-instance ratio per partition count (goal >= 1.6x when Kafka and PostgreSQL are not the bottleneck).
// Baseline in the same run, per partition count: the bare consume + COPY of bench/benches/persister.ts
// (one process, this one). During every pipeline run the CPU used by PostgreSQL (postmaster + backends),
// the Kafka broker's JVM, the persister processes and the whole machine is read from /proc, to say
// which of them is the bottleneck.
import { availableParallelism } from 'node:os';
import type { Message } from 'kafkajs';
import type { Runtime } from '../../runtime/bootstrap.ts';
import { type Child, startChild } from '../lib/child.ts';
import { type Cpu, cpuMedian, cpuText, stackPid, watchCpu } from '../lib/cpu.ts';
import { createTopic, load, rawKafka, rawProducer } from '../lib/kafka.ts';
import { realisticSnapshot } from '../lib/snapshots.ts';
import { waitUntil } from '../lib/stats.ts';
import type { Bench, BenchContext, Figure } from '../lib/types.ts';
import { startCopyConsumer } from './persister.ts';

interface Cell {
  instances: number;
  topic: string;
  children: Child[];
}

interface ScalingRun {
  ctx: BenchContext;
  rt: Runtime;
  kafka: ReturnType<typeof rawKafka>;
  table: string;
  runs: number;
  n: number;
  pgPid: number | null;
  kafkaPid: number | null;
  measure: (into: string, tenant: string, count: number, done: () => number) => Promise<number>;
}

async function setUp(ctx: BenchContext): Promise<ScalingRun> {
  const rt = await ctx.runtime();
  const codec = rt.registry.codec('StationSnapshot');
  const table = `${ctx.runId.toLowerCase()}_scalecopy`;
  await rt.pool.query(`CREATE TABLE "${table}" (LIKE station_snapshots INCLUDING DEFAULTS)`);
  const kafka = rawKafka(ctx.cfg, `${ctx.runId}-raw-scale`);
  const producer = rawProducer(kafka);
  await producer.connect();
  ctx.defer(() => producer.disconnect());
  let seq = 0;
  const batchOf = (tenant: string, count: number): Message[] =>
    Array.from({ length: count }, () => {
      const s = realisticSnapshot(ctx.runId, tenant, seq++);
      return { key: s.call_id, value: codec.encode(s) };
    });
  return {
    ctx,
    rt,
    kafka,
    table,
    runs: ctx.quick ? 2 : 3,
    n: ctx.quick ? 2000 : 10000,
    pgPid: stackPid('postgres'),
    kafkaPid: stackPid('kafka'),
    measure: async (into, tenant, count, done) => {
      const msgs = batchOf(tenant, count);
      const before = done();
      const t0 = performance.now();
      await load(producer, into, msgs);
      const ok = await waitUntil(() => done() - before >= count, 180_000, 5);
      if (!ok) throw new Error(`${into}: ${count} snapshots not consumed within 180 s`);
      return (count * 1000) / (performance.now() - t0);
    },
  };
}

/** 1 and 2 persister processes, each pair in one group on its own topic of `parts` partitions. */
async function startCells(sr: ScalingRun, parts: number, started: Child[]): Promise<Cell[]> {
  const cells: Cell[] = [];
  for (const instances of [1, 2]) {
    const topic = `${sr.ctx.cfg.topics.prefix}.scale-p${parts}-i${instances}`;
    await createTopic(sr.rt.kafka, topic, parts);
    const group = `${topic}.persister`;
    const children: Child[] = [];
    for (let i = 0; i < instances; i++) {
      const c = await startChild(sr.ctx.cfg, ['persister', topic, group], { timeoutMs: 90_000 });
      started.push(c);
      children.push(c);
    }
    cells.push({ instances, topic, children });
  }
  return cells;
}

const total = (cs: Child[]) => () => cs.reduce((s, c) => s + c.count(), 0);

interface CellResults {
  rates: Record<number, number[]>;
  base: number[];
  cpu: Record<number, Cpu[]>;
  split: number[][];
}

/** The measured runs at one partition count: each cell, then the baseline, `runs` times. */
async function measureCells(
  sr: ScalingRun,
  parts: number,
  cells: Cell[],
  rawTopic: string,
  copied: () => number,
) {
  const { ctx, n } = sr;
  const out: CellResults = { rates: { 1: [], 2: [] }, base: [], cpu: { 1: [], 2: [] }, split: [] };
  for (let k = 0; k < sr.runs; k++) {
    ctx.log(`scaling: ${parts} partition(s), run ${k + 1}/${sr.runs}, ${n} snapshots each`);
    for (const cell of cells) {
      const before = cell.children.map((c) => c.count());
      const watch = watchCpu({
        postgres: { pid: sr.pgPid, children: true },
        kafka: { pid: sr.kafkaPid },
        ...Object.fromEntries(cell.children.map((c, i) => [`persister${i + 1}`, { pid: c.pid }])),
        bench: { pid: process.pid },
      });
      out.rates[cell.instances]!.push(
        await sr.measure(
          cell.topic,
          ctx.tenant(`scale-p${parts}-i${cell.instances}-${k}`),
          n,
          total(cell.children),
        ),
      );
      out.cpu[cell.instances]!.push(watch.stop());
      if (cell.instances === 2) out.split.push(cell.children.map((c, i) => c.count() - before[i]!));
    }
    out.base.push(await sr.measure(rawTopic, ctx.tenant(`scale-copy-p${parts}-${k}`), n, copied));
  }
  return out;
}

function cellFigures(parts: number, r: CellResults): Figure[] {
  const c1 = cpuMedian(r.cpu[1]!);
  const c2 = cpuMedian(r.cpu[2]!);
  const goal = { name: 'raw consume + COPY', samples: r.base };
  return [
    {
      bench: 'scaling',
      name: `persister x1, ${parts} partition(s)`,
      metric: 'snapshots/s',
      higherIsBetter: true,
      samples: r.rates[1]!,
      baseline: goal,
      note: `CPU cores used (median of runs, of ${availableParallelism()}): ${cpuText(c1)}`,
    },
    {
      bench: 'scaling',
      name: `persister x2, ${parts} partition(s)`,
      metric: 'snapshots/s',
      higherIsBetter: true,
      samples: r.rates[2]!,
      baseline: goal,
      note: `CPU cores used (median of runs, of ${availableParallelism()}): ${cpuText(c2)}; rows per instance per run: ${r.split.map((s) => s.join('/')).join(', ')}`,
    },
    {
      bench: 'scaling',
      name: `persister x2 / x1, ${parts} partition(s)`,
      metric: 'ratio',
      higherIsBetter: true,
      samples: r.rates[2]!.map((x, i) => x / r.rates[1]![i]!),
      goal: { kind: 'min', value: 1.6, on: 'value', text: '>= 1.6x' },
    },
  ];
}

/** One partition count: start the cells and the baseline, warm up, measure; stop everything it started. */
async function partitionCount(sr: ScalingRun, parts: number): Promise<{ figures: Figure[]; cell: unknown }> {
  const { ctx } = sr;
  ctx.log(`scaling: ${parts} partition(s): starting 1 + 2 persister processes and the raw consumer`);
  const started: Child[] = [];
  try {
    const cells = await startCells(sr, parts, started);
    // The baseline at the same partition count.
    const rawTopic = `${ctx.cfg.topics.prefix}.scale-copy-p${parts}`;
    await createTopic(sr.rt.kafka, rawTopic, parts);
    const baseline = await startCopyConsumer(sr.rt, sr.kafka, rawTopic, sr.table, `${rawTopic}.copy`);
    try {
      // Warm-up: group joins (and the rebalance when the second instance joins), today's partition,
      // JIT in every process. Twice, so both instances of a group hold partitions when measured.
      for (const w of [0, 1]) {
        for (const cell of cells)
          await sr.measure(
            cell.topic,
            ctx.tenant(`scale-warm-p${parts}-i${cell.instances}-${w}`),
            400,
            total(cell.children),
          );
        await sr.measure(rawTopic, ctx.tenant(`scale-copywarm-p${parts}-${w}`), 400, baseline.copied);
      }
      const r = await measureCells(sr, parts, cells, rawTopic, baseline.copied);
      return {
        figures: cellFigures(parts, r),
        cell: {
          partitions: parts,
          x1_snapshots_per_s: r.rates[1],
          x2_snapshots_per_s: r.rates[2],
          raw_copy_snapshots_per_s: r.base,
          x2_rows_per_instance: r.split,
          cpu_cores_x1: r.cpu[1],
          cpu_cores_x2: r.cpu[2],
        },
      };
    } finally {
      await baseline.stop();
    }
  } finally {
    await Promise.all(started.map((c) => c.stop()));
  }
}

export const scalingBench: Bench = {
  name: 'scaling',
  title: 'persister scale-out: 1/3/6 partitions x 1/2 instances (own processes) vs raw consume + COPY',
  stack: true,
  async run(ctx) {
    const sr = await setUp(ctx);
    const figures: Figure[] = [];
    const cells: unknown[] = [];
    for (const parts of ctx.quick ? [1, 6] : [1, 3, 6]) {
      const out = await partitionCount(sr, parts);
      figures.push(...out.figures);
      cells.push(out.cell);
    }
    return {
      figures,
      details: {
        snapshots_per_run: sr.n,
        runs: sr.runs,
        cells,
        cpu_note:
          'cores used during each pipeline run, from /proc/<pid>/stat utime+stime: postgres = postmaster + backends, kafka = the broker JVM, persisterN = each instance process, machine = all of /proc/stat busy time',
      },
    };
  },
};
