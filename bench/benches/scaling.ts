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
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Consumer, Message } from 'kafkajs';
import { from as copyFrom } from 'pg-copy-streams';
import type { StationSnapshot } from '../../contracts/generated.ts';
import { type Child, startChild } from '../lib/child.ts';
import { stackPid, watchCpu } from '../lib/cpu.ts';
import { createTopic, load, rawKafka, rawProducer } from '../lib/kafka.ts';
import { realisticSnapshot } from '../lib/snapshots.ts';
import { median, waitUntil } from '../lib/stats.ts';
import type { Bench, Figure } from '../lib/types.ts';
import { COLUMNS, copyLine } from './persister.ts';

const r2 = (x: number) => Math.round(x * 100) / 100;

export const scalingBench: Bench = {
  name: 'scaling',
  title: 'persister scale-out: 1/3/6 partitions x 1/2 instances (own processes) vs raw consume + COPY',
  stack: true,
  async run(ctx) {
    const rt = await ctx.runtime();
    const codec = rt.registry.codec('StationSnapshot');
    const prefix = ctx.cfg.topics.prefix;
    const partitionCounts = ctx.quick ? [1, 6] : [1, 3, 6];
    const runs = ctx.quick ? 2 : 3;
    const n = ctx.quick ? 2000 : 10000;
    const table = `${ctx.runId.toLowerCase()}_scalecopy`;
    await rt.pool.query(`CREATE TABLE "${table}" (LIKE station_snapshots INCLUDING DEFAULTS)`);
    const kafka = rawKafka(ctx.cfg, `${ctx.runId}-raw-scale`);
    const producer = rawProducer(kafka);
    await producer.connect();
    ctx.defer(() => producer.disconnect());
    const pgPid = stackPid('postgres');
    const kafkaPid = stackPid('kafka');

    let seq = 0;
    const batchOf = (tenant: string, count: number): Message[] =>
      Array.from({ length: count }, () => {
        const s = realisticSnapshot(ctx.runId, tenant, seq++);
        return { key: s.call_id, value: codec.encode(s) };
      });
    const measure = async (into: string, tenant: string, count: number, done: () => number) => {
      const msgs = batchOf(tenant, count);
      const before = done();
      const t0 = performance.now();
      await load(producer, into, msgs);
      const ok = await waitUntil(() => done() - before >= count, 180_000, 5);
      if (!ok) throw new Error(`${into}: ${count} snapshots not consumed within 180 s`);
      return (count * 1000) / (performance.now() - t0);
    };

    const figures: Figure[] = [];
    const details: Record<string, unknown> = { snapshots_per_run: n, runs, cells: [] as unknown[] };
    for (const parts of partitionCounts) {
      ctx.log(`scaling: ${parts} partition(s): starting 1 + 2 persister processes and the raw consumer`);
      const cells: { instances: number; topic: string; children: Child[] }[] = [];
      const started: Child[] = [];
      try {
        for (const instances of [1, 2]) {
          const topic = `${prefix}.scale-p${parts}-i${instances}`;
          await createTopic(rt.kafka, topic, parts);
          const group = `${topic}.persister`;
          const children: Child[] = [];
          for (let i = 0; i < instances; i++) {
            const c = await startChild(ctx.cfg, ['persister', topic, group], { timeoutMs: 90_000 });
            started.push(c);
            children.push(c);
          }
          cells.push({ instances, topic, children });
        }
        // The baseline at the same partition count.
        const rawTopic = `${prefix}.scale-copy-p${parts}`;
        await createTopic(rt.kafka, rawTopic, parts);
        let copied = 0;
        const consumer: Consumer = kafka.consumer({
          groupId: `${rawTopic}.copy`,
          maxWaitTimeInMs: 200,
        });
        await consumer.connect();
        try {
          await consumer.subscribe({ topic: rawTopic, fromBeginning: true });
          await consumer.run({
            partitionsConsumedConcurrently: 3,
            eachBatch: async ({ batch }) => {
              const lines = batch.messages.map((m) =>
                copyLine(
                  codec.type.fromBuffer(m.value!.subarray(5)) as StationSnapshot,
                  batch.partition,
                  m.offset,
                ),
              );
              const client = await rt.pool.connect();
              try {
                await pipeline(
                  Readable.from([lines.join('')]),
                  client.query(copyFrom(`COPY "${table}" (${COLUMNS.join(', ')}) FROM STDIN`)),
                );
              } finally {
                client.release();
              }
              copied += lines.length;
            },
          });
          const total = (cs: Child[]) => () => cs.reduce((s, c) => s + c.count(), 0);
          // Warm-up: group joins (and the rebalance when the second instance joins), today's partition,
          // JIT in every process. Twice, so both instances of a group hold partitions when measured.
          for (const w of [0, 1]) {
            for (const cell of cells)
              await measure(
                cell.topic,
                ctx.tenant(`scale-warm-p${parts}-i${cell.instances}-${w}`),
                400,
                total(cell.children),
              );
            await measure(rawTopic, ctx.tenant(`scale-copywarm-p${parts}-${w}`), 400, () => copied);
          }
          const rates: Record<number, number[]> = { 1: [], 2: [] };
          const base: number[] = [];
          const cpu: Record<number, Record<string, number | null>[]> = { 1: [], 2: [] };
          const split: number[][] = [];
          for (let k = 0; k < runs; k++) {
            ctx.log(`scaling: ${parts} partition(s), run ${k + 1}/${runs}, ${n} snapshots each`);
            for (const cell of cells) {
              const before = cell.children.map((c) => c.count());
              const watch = watchCpu({
                postgres: { pid: pgPid, children: true },
                kafka: { pid: kafkaPid },
                ...Object.fromEntries(cell.children.map((c, i) => [`persister${i + 1}`, { pid: c.pid }])),
                bench: { pid: process.pid },
              });
              rates[cell.instances]!.push(
                await measure(
                  cell.topic,
                  ctx.tenant(`scale-p${parts}-i${cell.instances}-${k}`),
                  n,
                  total(cell.children),
                ),
              );
              cpu[cell.instances]!.push(watch.stop());
              if (cell.instances === 2) split.push(cell.children.map((c, i) => c.count() - before[i]!));
            }
            base.push(await measure(rawTopic, ctx.tenant(`scale-copy-p${parts}-${k}`), n, () => copied));
          }
          const cpuMedian = (xs: Record<string, number | null>[]) => {
            const keys = Object.keys(xs[0] ?? {});
            return Object.fromEntries(
              keys.map((key) => {
                const v = xs.map((x) => x[key]).filter((y): y is number => typeof y === 'number');
                return [key, v.length ? r2(median(v)) : null];
              }),
            );
          };
          const cpuText = (c: Record<string, number | null>) =>
            Object.entries(c)
              .map(([k, v]) => `${k === 'bench' ? 'loader (this process)' : k} ${v ?? '-'}`)
              .join(', ');
          const c1 = cpuMedian(cpu[1]!);
          const c2 = cpuMedian(cpu[2]!);
          const goal = { name: 'raw consume + COPY', samples: base };
          figures.push(
            {
              bench: 'scaling',
              name: `persister x1, ${parts} partition(s)`,
              metric: 'snapshots/s',
              higherIsBetter: true,
              samples: rates[1]!,
              baseline: goal,
              note: `CPU cores used (median of runs, of ${availableParallelism()}): ${cpuText(c1)}`,
            },
            {
              bench: 'scaling',
              name: `persister x2, ${parts} partition(s)`,
              metric: 'snapshots/s',
              higherIsBetter: true,
              samples: rates[2]!,
              baseline: goal,
              note: `CPU cores used (median of runs, of ${availableParallelism()}): ${cpuText(c2)}; rows per instance per run: ${split.map((s) => s.join('/')).join(', ')}`,
            },
            {
              bench: 'scaling',
              name: `persister x2 / x1, ${parts} partition(s)`,
              metric: 'ratio',
              higherIsBetter: true,
              samples: rates[2]!.map((r, i) => r / rates[1]![i]!),
              goal: { kind: 'min', value: 1.6, on: 'value', text: '>= 1.6x' },
            },
          );
          (details.cells as unknown[]).push({
            partitions: parts,
            x1_snapshots_per_s: rates[1],
            x2_snapshots_per_s: rates[2],
            raw_copy_snapshots_per_s: base,
            x2_rows_per_instance: split,
            cpu_cores_x1: cpu[1],
            cpu_cores_x2: cpu[2],
          });
        } finally {
          await consumer.disconnect().catch(() => {});
        }
      } finally {
        await Promise.all(started.map((c) => c.stop()));
      }
    }
    details.cpu_note =
      'cores used during each pipeline run, from /proc/<pid>/stat utime+stime: postgres = postmaster + backends, kafka = the broker JVM, persisterN = each instance process, machine = all of /proc/stat busy time';
    return { figures, details };
  },
};
