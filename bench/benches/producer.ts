// 4. Station producer library throughput (producers/stationProducer.ts: validation, Avro through the
// registry codec, idempotent producer with one request in flight, acks=all), snapshots/s:
//   - publish() without PCM, 32 callers in flight (agents publish one snapshot per segment);
//   - publish() with 1 s of 16 kHz PCM uploaded to S3 first (content-addressed, HEAD then PUT);
//   - sendAll() of prepared batches of 100.
// Baselines in the same run, on the same topic, same concurrency, same encoded bytes: a bare kafkajs
// producer (library defaults) sending them with acks=all; for the PCM row, a bare S3 PutObject of the
// same bytes followed by that bare send.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Message } from 'kafkajs';
import type { StationSnapshot } from '../../contracts/generated.ts';
import { audioKey, sha256Hex } from '../../domain/audioKeys.ts';
import { createStationProducer } from '../../producers/stationProducer.ts';
import { SAMPLE_RATE, stationAudio, toPcm16 } from '../lib/audio.ts';
import { createTopic, rawKafka, rawProducer } from '../lib/kafka.ts';
import { realisticInput } from '../lib/snapshots.ts';
import { pool } from '../lib/stats.ts';
import type { Bench, BenchContext, Figure } from '../lib/types.ts';

const CONC = 32;
const PCM_CONC = 16;
const BATCH = 100;

const rate = (count: number, ms: number) => (count * 1000) / ms;

interface Rates {
  lib: number[];
  raw: number[];
  libPcm: number[];
  rawPcm: number[];
  libBatch: number[];
  rawBatch: number[];
}

async function setUp(ctx: BenchContext) {
  const rt = await ctx.runtime();
  const codec = rt.registry.codec('StationSnapshot');
  const topic = `${ctx.cfg.topics.prefix}.bench-produce`;
  await createTopic(rt.kafka, topic, ctx.cfg.topics.snapshotPartitions);
  const lib = await createStationProducer({ kafka: rt.kafka, codec, audio: rt.audio, topic });
  ctx.defer(() => lib.stop());
  const kafka = rawKafka(ctx.cfg, `${ctx.runId}-raw-producer`);
  const raw = rawProducer(kafka);
  await raw.connect();
  ctx.defer(() => raw.disconnect());
  const tenant = ctx.tenant('producer');
  let seq = 0;
  // One second of station 3's processed speech; every snapshot gets distinct bytes (else the
  // content-addressed store would skip the upload) by stamping its index into the first samples.
  const pcmBase = toPcm16(
    stationAudio(1)
      .find((a) => a.stationId === 3)!
      .samples.subarray(0, SAMPLE_RATE),
  );
  return {
    ctx,
    rt,
    topic,
    lib,
    raw,
    inputs: (count: number) => Array.from({ length: count }, () => realisticInput(ctx.runId, tenant, seq++)),
    messages: (snaps: StationSnapshot[]): Message[] =>
      snaps.map((s) => ({
        key: s.call_id,
        value: codec.encode(s),
        headers: { 'snapshot-id': s.snapshot_id },
      })),
    pcmFor: (i: number) => {
      const b = Buffer.from(pcmBase);
      b.writeUInt32LE(i, 0);
      b.writeUInt32LE(seq, 4);
      return b;
    },
  };
}

type ProducerRun = Awaited<ReturnType<typeof setUp>>;

const prepared = async (pr: ProducerRun, xs: ReturnType<ProducerRun['inputs']>) =>
  (await Promise.all(xs.map((x) => pr.lib.prepare(x)))) as StationSnapshot[];

/** Library publish() without PCM vs raw sends of the same number of snapshots, encoded beforehand. */
async function singles(pr: ProducerRun, n: number, r: Rates): Promise<void> {
  const { lib, raw, topic } = pr;
  const a = pr.inputs(n);
  let t0 = performance.now();
  await pool(a, CONC, async (x) => void (await lib.publish(x)));
  r.lib.push(rate(n, performance.now() - t0));
  // The baseline does no encoding work.
  const b = pr.messages(await prepared(pr, pr.inputs(n)));
  t0 = performance.now();
  await pool(b, CONC, async (m) => void (await raw.send({ topic, acks: -1, messages: [m] })));
  r.raw.push(rate(n, performance.now() - t0));
}

/** With PCM: library (HEAD + PUT + send) vs bare PUT + bare send. */
async function withPcm(pr: ProducerRun, nPcm: number, r: Rates): Promise<void> {
  const { lib, raw, topic, ctx, rt } = pr;
  const c = pr.inputs(nPcm).map((x, i) => ({ x, pcm: pr.pcmFor(i) }));
  let t0 = performance.now();
  await pool(c, PCM_CONC, async ({ x, pcm }) => {
    await lib.publish(x, { bytes: pcm, sampleRate: SAMPLE_RATE });
  });
  r.libPcm.push(rate(nPcm, performance.now() - t0));
  const d = pr.inputs(nPcm).map((x, i) => ({ x, pcm: pr.pcmFor(i + nPcm) }));
  const dm = pr.messages(
    await prepared(
      pr,
      d.map(({ x }) => x),
    ),
  );
  t0 = performance.now();
  await pool(d, PCM_CONC, async ({ pcm, x }, i) => {
    const key = audioKey(x.tenant_id, sha256Hex(pcm));
    await rt.s3.send(
      new PutObjectCommand({ Bucket: ctx.cfg.s3.bucket, Key: key, Body: pcm, ContentLength: pcm.length }),
    );
    await raw.send({ topic, acks: -1, messages: [dm[i]!] });
  });
  r.rawPcm.push(rate(nPcm, performance.now() - t0));
}

/** Batches of 100: sendAll of prepared snapshots vs one bare send of 100 messages. */
async function batches(pr: ProducerRun, nBatch: number, r: Rates): Promise<void> {
  const { lib, raw, topic } = pr;
  const e = await prepared(pr, pr.inputs(nBatch));
  const eb = Array.from({ length: nBatch / BATCH }, (_, i) => e.slice(i * BATCH, (i + 1) * BATCH));
  let t0 = performance.now();
  await pool(eb, 4, (s) => lib.sendAll(s));
  r.libBatch.push(rate(nBatch, performance.now() - t0));
  const f = pr.messages(await prepared(pr, pr.inputs(nBatch)));
  const fb = Array.from({ length: nBatch / BATCH }, (_, i) => f.slice(i * BATCH, (i + 1) * BATCH));
  t0 = performance.now();
  await pool(fb, 4, async (m) => void (await raw.send({ topic, acks: -1, messages: m })));
  r.rawBatch.push(rate(nBatch, performance.now() - t0));
}

function producerFigures(r: Rates): Figure[] {
  const goal = { kind: 'min' as const, value: 0.8, on: 'ratio' as const, text: '>= 80% of raw' };
  return [
    {
      bench: 'producer',
      name: 'producer publish(), no PCM',
      metric: 'snapshots/s',
      higherIsBetter: true,
      samples: r.lib,
      baseline: { name: 'raw kafkajs send', samples: r.raw },
      goal,
      note: `${CONC} callers in flight, one snapshot per call, acks=all`,
    },
    {
      bench: 'producer',
      name: 'producer publish(), 1 s PCM to S3',
      metric: 'snapshots/s',
      higherIsBetter: true,
      samples: r.libPcm,
      baseline: { name: 'raw S3 PUT + kafkajs send', samples: r.rawPcm },
      goal,
      note: `${PCM_CONC} callers in flight, 32,000 B PCM each`,
    },
    {
      bench: 'producer',
      name: 'producer sendAll(), batches of 100',
      metric: 'snapshots/s',
      higherIsBetter: true,
      samples: r.libBatch,
      baseline: { name: 'raw kafkajs send x100', samples: r.rawBatch },
      goal,
      note: '4 batches in flight; snapshots prepared (validated) beforehand, encoding is inside sendAll',
    },
  ];
}

export const producerBench: Bench = {
  name: 'producer',
  title: 'Station producer library -> Kafka (and S3) vs raw kafkajs',
  stack: true,
  async run(ctx) {
    const pr = await setUp(ctx);
    const runs = ctx.quick ? 3 : 5;
    const n = ctx.quick ? 800 : 4000;
    const nPcm = ctx.quick ? 60 : 300;
    const nBatch = ctx.quick ? 12000 : 40000;

    // Warm-up: connections, metadata, JIT.
    await pool(pr.inputs(200), CONC, async (x) => void (await pr.lib.publish(x)));
    const warm = pr.messages(await prepared(pr, pr.inputs(200)));
    await pool(
      warm,
      CONC,
      async (m) => void (await pr.raw.send({ topic: pr.topic, acks: -1, messages: [m] })),
    );

    const r: Rates = { lib: [], raw: [], libPcm: [], rawPcm: [], libBatch: [], rawBatch: [] };
    for (let k = 0; k < runs; k++) {
      ctx.log(`producer: run ${k + 1}/${runs}`);
      await singles(pr, n, r);
      await withPcm(pr, nPcm, r);
      await batches(pr, nBatch, r);
    }
    return {
      figures: producerFigures(r),
      details: { snapshots_per_run: n, pcm_snapshots_per_run: nPcm, batch_snapshots_per_run: nBatch, runs },
    };
  },
};
