// 5. Persister throughput (consumers/persister): Kafka -> decode + check -> one transaction per batch
// (calls, channels, segments, snapshot_keys + station_snapshots) -> offsets committed, snapshots/s,
// with the lag left when the load finished. The persister is running and idle; each run loads N fresh
// snapshots into its topic as fast as the broker takes them and times until all N rows are committed.
// Baseline in the same run, loaded the same way into its own topic: a bare kafkajs consumer that
// decodes the Avro body and COPYs the same columns into a plain table (no partitioning, no indexes, no
// idempotency, no related tables), autocommit.

import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Message, Producer } from 'kafkajs';
import { from as copyFrom } from 'pg-copy-streams';
import { copyLine, SNAPSHOT_COLUMNS } from '../../consumers/persister/copyText.ts';
import { startPersister } from '../../consumers/persister/index.ts';
import { stageSnapshots, WRITE_STEPS } from '../../consumers/persister/rows.ts';
import type { StationSnapshot } from '../../contracts/generated.ts';
import { createLogger } from '../../lib/log.ts';
import { createMetrics } from '../../lib/metrics.ts';
import type { Runtime } from '../../runtime/bootstrap.ts';
import { inTransaction } from '../../storage/db.ts';
import { type Cpu, cpuMedian, cpuText, stackPid, watchCpu } from '../lib/cpu.ts';
import { createTopic, groupLag, load, rawKafka, rawProducer } from '../lib/kafka.ts';
import { realisticSnapshot } from '../lib/snapshots.ts';
import { median, sleep, waitUntil } from '../lib/stats.ts';
import type { Bench, BenchContext } from '../lib/types.ts';

type Kafka = ReturnType<typeof rawKafka>;
type Counter = () => Promise<number> | number;

/** The pipeline: the persister role as runtime/app.ts starts it, on its own metrics registry. */
async function startPipeline(
  ctx: BenchContext,
  rt: Runtime,
  topic: string,
): Promise<{ group: string; persisted: Counter; txSeconds: () => Promise<{ sum: number; count: number }> }> {
  const metrics = createMetrics();
  const group = `${ctx.cfg.topics.prefix}.bench-persister`;
  const persister = await startPersister(
    {
      kafka: rt.kafka,
      pool: rt.pool,
      codec: rt.registry.codec('StationSnapshot'),
      log: createLogger('error'),
      metrics,
    },
    {
      topics: { snapshots: topic, deadLetters: ctx.cfg.topics.deadLetters },
      groupId: group,
      partitionRetentionMs: ctx.cfg.topics.snapshotRetentionMs,
    },
  );
  ctx.defer(() => persister.stop());
  const persisted = async () => {
    const v = await metrics.snapshotsPersisted.get();
    return v.values.reduce((s, x) => s + x.value, 0);
  };
  // Time inside the persister's transactions (COPY to staging + the INSERTs + commit), summed.
  const txSeconds = async () => {
    const v = (await metrics.persistBatchSeconds.get()).values;
    const of = (name: string) => v.find((x) => x.metricName === name)?.value ?? 0;
    return {
      sum: of('voiceloop_persist_batch_seconds_sum'),
      count: of('voiceloop_persist_batch_seconds_count'),
    };
  };
  return { group, persisted, txSeconds };
}

/** CPU cores used during a measurement: PostgreSQL (postmaster + backends), the broker, this process. */
function watchStack() {
  return watchCpu({
    postgres: { pid: stackPid('postgres'), children: true },
    kafka: { pid: stackPid('kafka') },
    'persister + loader (this process)': { pid: process.pid },
  });
}

/** The baseline: bare consumer, decode, COPY into a plain table, autocommit. */
export async function startCopyConsumer(
  rt: Runtime,
  kafka: Kafka,
  rawTopic: string,
  table: string,
  groupId: string,
): Promise<{ copied: () => number; stop: () => Promise<void> }> {
  const codec = rt.registry.codec('StationSnapshot');
  let copied = 0;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  await consumer.connect();
  const stop = () => consumer.disconnect().catch(() => {});
  try {
    await consumer.subscribe({ topic: rawTopic, fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: 3,
      eachBatch: async ({ batch }) => {
        const lines = batch.messages.map((m) =>
          copyLine(codec.type.fromBuffer(m.value!.subarray(5)) as StationSnapshot, batch.partition, m.offset),
        );
        const client = await rt.pool.connect();
        try {
          await pipeline(
            Readable.from([lines.join('')]),
            client.query(copyFrom(`COPY "${table}" (${SNAPSHOT_COLUMNS.join(', ')}) FROM STDIN`)),
          );
        } finally {
          client.release();
        }
        copied += lines.length;
      },
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { copied: () => copied, stop };
}

const ROLL_BACK = new Error('statement timing done: roll back');

/**
 * Where the persister's database time goes, beside the baseline's: `reps` batches of `n` fresh
 * snapshots, each written as the persister writes it (stage COPY, then each statement of the write,
 * timed one by one) and COPYed as the baseline does into its plain table, each in a transaction that
 * is rolled back (nothing stays). Milliseconds per batch, medians of the reps, with the client's own
 * share (encoding the COPY text) in each.
 */
async function statementCosts(
  ctx: BenchContext,
  rt: Runtime,
  table: string,
  o: { reps: number; n: number },
): Promise<Record<string, number>> {
  const times: Record<string, number[]> = {};
  const add = (k: string, ms: number) => {
    times[k] ??= [];
    times[k].push(ms);
  };
  const tenant = ctx.tenant('persist-sql');
  for (let rep = 0; rep < o.reps; rep++) {
    const rows = Array.from({ length: o.n }, (_, i) => ({
      snapshot: realisticSnapshot(ctx.runId, tenant, rep * o.n + i),
      partition: 0,
      offset: String(i),
    }));
    const timed = (fn: (c: import('../../storage/db.ts').PoolClient) => Promise<void>) =>
      inTransaction(rt.pool, async (c) => {
        await fn(c);
        throw ROLL_BACK;
      }).catch((err) => {
        if ((err as Error).cause !== ROLL_BACK) throw err;
      });
    await timed(async (c) => {
      let t = performance.now();
      await stageSnapshots(c, rows);
      add('stage COPY (temp table)', performance.now() - t);
      for (const step of WRITE_STEPS) {
        t = performance.now();
        await c.query(step.sql);
        add(step.fills, performance.now() - t);
      }
    });
    await timed(async (c) => {
      const t = performance.now();
      const text = rows.map((r) => copyLine(r.snapshot, r.partition, r.offset)).join('');
      await pipeline(
        Readable.from([text]),
        c.query(copyFrom(`COPY "${table}" (${SNAPSHOT_COLUMNS.join(', ')}) FROM STDIN`)),
      );
      add('baseline COPY (plain table)', performance.now() - t);
    });
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, Math.round(median(v) * 10) / 10]));
}

/** Loads `count` fresh snapshots into a topic and times until `done` has counted them all. */
function measurer(ctx: BenchContext, rt: Runtime, producer: Producer) {
  const codec = rt.registry.codec('StationSnapshot');
  let seq = 0;
  const batchOf = (tenant: string, count: number): Message[] =>
    Array.from({ length: count }, () => {
      const s = realisticSnapshot(ctx.runId, tenant, seq++);
      return { key: s.call_id, value: codec.encode(s) };
    });
  return async (
    into: string,
    tenant: string,
    count: number,
    done: Counter,
  ): Promise<{ rate: number; lagAtLoadEnd: number; loadMs: number }> => {
    const msgs = batchOf(tenant, count);
    const before = await done();
    const t0 = performance.now();
    await load(producer, into, msgs);
    const loadMs = performance.now() - t0;
    const lagAtLoadEnd = count - ((await done()) - before);
    const ok = await waitUntil(async () => (await done()) - before >= count, 120_000, 5);
    if (!ok) throw new Error(`${into}: ${count} snapshots not consumed within 120 s`);
    return { rate: (count * 1000) / (performance.now() - t0), lagAtLoadEnd, loadMs };
  };
}

export const persisterBench: Bench = {
  name: 'persister',
  title: 'Kafka -> persister -> PostgreSQL vs raw consume + COPY',
  stack: true,
  async run(ctx) {
    const rt = await ctx.runtime();
    const prefix = ctx.cfg.topics.prefix;
    const parts = ctx.cfg.topics.snapshotPartitions;
    const topic = `${prefix}.bench-persist`;
    const rawTopic = `${prefix}.bench-copy`;
    await createTopic(rt.kafka, topic, parts);
    await createTopic(rt.kafka, rawTopic, parts);
    const table = `${ctx.runId.toLowerCase()}_copy`;
    await rt.pool.query(`CREATE TABLE "${table}" (LIKE station_snapshots INCLUDING DEFAULTS)`);

    const runs = ctx.quick ? 3 : 5;
    const n = ctx.quick ? 3000 : 12000;
    const kafka = rawKafka(ctx.cfg, `${ctx.runId}-raw-persist`);
    const producer = rawProducer(kafka);
    await producer.connect();
    ctx.defer(() => producer.disconnect());
    const { group, persisted, txSeconds } = await startPipeline(ctx, rt, topic);
    const baseline = await startCopyConsumer(rt, kafka, rawTopic, table, `${prefix}.bench-copy`);
    ctx.defer(() => baseline.stop());
    const copied = baseline.copied;
    const measure = measurer(ctx, rt, producer);

    // Warm-up: group joins, partitions for today, JIT.
    await measure(topic, ctx.tenant('persist-warm'), 300, persisted);
    await measure(rawTopic, ctx.tenant('copy-warm'), 300, copied);

    const pipe: number[] = [];
    const base: number[] = [];
    const lags: number[] = [];
    const loads: number[] = [];
    const cpuPipe: Cpu[] = [];
    const cpuBase: Cpu[] = [];
    const txShare: number[] = [];
    const batchSize: number[] = [];
    for (let k = 0; k < runs; k++) {
      ctx.log(`persister: run ${k + 1}/${runs}, ${n} snapshots each`);
      const tx0 = await txSeconds();
      let watch = watchStack();
      const p = await measure(topic, ctx.tenant(`persist-${k}`), n, persisted);
      cpuPipe.push(watch.stop());
      const tx1 = await txSeconds();
      pipe.push(p.rate);
      lags.push(p.lagAtLoadEnd);
      loads.push((n * 1000) / p.loadMs);
      // Seconds inside transactions per second of the run (up to 3 partitions write at once).
      txShare.push(Math.round(((tx1.sum - tx0.sum) / (n / p.rate)) * 100) / 100);
      batchSize.push(Math.round(n / Math.max(1, tx1.count - tx0.count)));
      watch = watchStack();
      const b = await measure(rawTopic, ctx.tenant(`copy-${k}`), n, copied);
      cpuBase.push(watch.stop());
      base.push(b.rate);
    }
    await sleep(300); // let the last offset commits land
    const committedLag = await groupLag(rt.kafka, group, topic);
    const perBatch = 1000;
    const sql = await statementCosts(ctx, rt, table, { reps: ctx.quick ? 5 : 9, n: perBatch });
    const sqlText = Object.entries(sql)
      .map(([k, ms]) => `${k} ${ms}`)
      .join(', ');
    return {
      figures: [
        {
          bench: 'persister',
          name: 'persister Kafka -> PostgreSQL',
          metric: 'snapshots/s',
          higherIsBetter: true,
          samples: pipe,
          baseline: { name: 'raw consume + COPY', samples: base },
          goal: { kind: 'min', value: 0.8, on: 'ratio', text: '>= 80% of raw' },
          note: `${parts} partitions, 1 instance; lag when loading ended: median ${Math.round(lags.sort((a, b) => a - b)[lags.length >> 1]!)} of ${n}; committed lag at the end ${committedLag}; CPU cores used (median of runs): persister run ${cpuText(cpuMedian(cpuPipe))}; baseline run ${cpuText(cpuMedian(cpuBase))}; transaction seconds per second ${txShare.join('/')}, rows per transaction ${batchSize.join('/')}; database ms per batch of ${perBatch} (medians, rolled back): ${sqlText}`,
        },
      ],
      details: {
        snapshots_per_run: n,
        partitions: parts,
        lag_when_load_ended: lags,
        load_rate_snapshots_per_s: loads,
        committed_lag_at_end: committedLag,
        cpu_cores_persister_runs: cpuPipe,
        cpu_cores_baseline_runs: cpuBase,
        transaction_seconds_per_second: txShare,
        rows_per_transaction: batchSize,
        statement_ms_per_batch: { rows: perBatch, ...sql },
      },
    };
  },
};
