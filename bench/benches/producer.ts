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
import type { Bench } from '../lib/types.ts';

export const producerBench: Bench = {
  name: 'producer',
  title: 'Station producer library -> Kafka (and S3) vs raw kafkajs',
  stack: true,
  async run(ctx) {
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

    const runs = ctx.quick ? 3 : 5;
    const n = ctx.quick ? 800 : 4000;
    const nPcm = ctx.quick ? 60 : 300;
    const conc = 32;
    const pcmConc = 16;
    const batch = 100;
    const nBatch = ctx.quick ? 3000 : 20000;
    const tenant = ctx.tenant('producer');
    let seq = 0;
    const inputs = (count: number) =>
      Array.from({ length: count }, () => realisticInput(ctx.runId, tenant, seq++));
    const messages = (snaps: StationSnapshot[]): Message[] =>
      snaps.map((s) => ({
        key: s.call_id,
        value: codec.encode(s),
        headers: { 'snapshot-id': s.snapshot_id },
      }));
    // One second of station 3's processed speech; every snapshot gets distinct bytes (else the
    // content-addressed store would skip the upload) by stamping its index into the first samples.
    const pcmBase = toPcm16(
      stationAudio(1)
        .find((a) => a.stationId === 3)!
        .samples.subarray(0, SAMPLE_RATE),
    );
    const pcmFor = (i: number) => {
      const b = Buffer.from(pcmBase);
      b.writeUInt32LE(i, 0);
      b.writeUInt32LE(seq, 4);
      return b;
    };

    // Warm-up: connections, metadata, JIT.
    await pool(inputs(200), conc, async (x) => void (await lib.publish(x)));
    const warm = messages((await Promise.all(inputs(200).map((x) => lib.prepare(x)))) as StationSnapshot[]);
    await pool(warm, conc, async (m) => void (await raw.send({ topic, acks: -1, messages: [m] })));

    const rate = (count: number, ms: number) => (count * 1000) / ms;
    const r = {
      lib: [] as number[],
      raw: [] as number[],
      libPcm: [] as number[],
      rawPcm: [] as number[],
      libBatch: [] as number[],
      rawBatch: [] as number[],
    };
    for (let k = 0; k < runs; k++) {
      ctx.log(`producer: run ${k + 1}/${runs}`);
      // Library, no PCM.
      const a = inputs(n);
      let t0 = performance.now();
      await pool(a, conc, async (x) => void (await lib.publish(x)));
      r.lib.push(rate(n, performance.now() - t0));
      // Raw, the same number of snapshots, encoded beforehand (the baseline does no encoding work).
      const b = messages((await Promise.all(inputs(n).map((x) => lib.prepare(x)))) as StationSnapshot[]);
      t0 = performance.now();
      await pool(b, conc, async (m) => void (await raw.send({ topic, acks: -1, messages: [m] })));
      r.raw.push(rate(n, performance.now() - t0));

      // With PCM: library (HEAD + PUT + send) vs bare PUT + bare send.
      const c = inputs(nPcm).map((x, i) => ({ x, pcm: pcmFor(i) }));
      t0 = performance.now();
      await pool(c, pcmConc, async ({ x, pcm }) => {
        await lib.publish(x, { bytes: pcm, sampleRate: SAMPLE_RATE });
      });
      r.libPcm.push(rate(nPcm, performance.now() - t0));
      const d = inputs(nPcm).map((x, i) => ({ x, pcm: pcmFor(i + nPcm) }));
      const dm = messages((await Promise.all(d.map(({ x }) => lib.prepare(x)))) as StationSnapshot[]);
      t0 = performance.now();
      await pool(d, pcmConc, async ({ pcm, x }, i) => {
        const key = audioKey(x.tenant_id, sha256Hex(pcm));
        await rt.s3.send(
          new PutObjectCommand({ Bucket: ctx.cfg.s3.bucket, Key: key, Body: pcm, ContentLength: pcm.length }),
        );
        await raw.send({ topic, acks: -1, messages: [dm[i]!] });
      });
      r.rawPcm.push(rate(nPcm, performance.now() - t0));

      // Batches of 100: sendAll of prepared snapshots vs one bare send of 100 messages.
      const e = (await Promise.all(inputs(nBatch).map((x) => lib.prepare(x)))) as StationSnapshot[];
      const eb = Array.from({ length: nBatch / batch }, (_, i) => e.slice(i * batch, (i + 1) * batch));
      t0 = performance.now();
      await pool(eb, 4, (s) => lib.sendAll(s));
      r.libBatch.push(rate(nBatch, performance.now() - t0));
      const f = messages((await Promise.all(inputs(nBatch).map((x) => lib.prepare(x)))) as StationSnapshot[]);
      const fb = Array.from({ length: nBatch / batch }, (_, i) => f.slice(i * batch, (i + 1) * batch));
      t0 = performance.now();
      await pool(fb, 4, async (m) => void (await raw.send({ topic, acks: -1, messages: m })));
      r.rawBatch.push(rate(nBatch, performance.now() - t0));
    }
    const goal = { kind: 'min' as const, value: 0.8, on: 'ratio' as const, text: '>= 80% of raw' };
    return {
      figures: [
        {
          bench: 'producer',
          name: 'producer publish(), no PCM',
          metric: 'snapshots/s',
          higherIsBetter: true,
          samples: r.lib,
          baseline: { name: 'raw kafkajs send', samples: r.raw },
          goal,
          note: `${conc} callers in flight, one snapshot per call, acks=all`,
        },
        {
          bench: 'producer',
          name: 'producer publish(), 1 s PCM to S3',
          metric: 'snapshots/s',
          higherIsBetter: true,
          samples: r.libPcm,
          baseline: { name: 'raw S3 PUT + kafkajs send', samples: r.rawPcm },
          goal,
          note: `${pcmConc} callers in flight, 32,000 B PCM each`,
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
      ],
      details: { snapshots_per_run: n, pcm_snapshots_per_run: nPcm, batch_snapshots_per_run: nBatch, runs },
    };
  },
};
