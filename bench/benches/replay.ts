// 8. Replay (issue 6).
// (a) Replay rate: a fresh consumer group reads the snapshot topic from offset 0, decodes every fetched
//     batch as the batch optimizer's replay does (ReplayDecoder, optimizer/batch/replayDecode.ts: the
//     registry codec's decodeAll, of the labels only those the history reads) and scores each record
//     (scoreValue, optimizer/core/scorecard.ts); snapshots/s from partition assignment to the last record. Baseline in the same
//     run: a bare kafkajs consumer group reading the same topic from offset 0, counting records.
// (b) Counterfactual replay speed: stored 1 s PCM segments fetched from S3 through the audio store
//     (storage/audioStore.ts: GET + sha256 check), re-run through the station's DSP chain with
//     candidate parameters and measured (stations/pipeline.ts processBufferOnce), then scored; seconds
//     of audio per wall second, 4 segments in flight. Baseline in the same run: bare S3 GETs of the same
//     objects, same concurrency.
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Kafka, Message } from 'kafkajs';
import { defaultsForStation, loadCatalog } from '../../catalog/index.ts';
import { buildSnapshot } from '../../domain/snapshot.ts';
import { ReplayDecoder } from '../../optimizer/batch/replayDecode.ts';
import { scoreSnapshot, scoreValue } from '../../optimizer/core/index.ts';
import { processBufferOnce } from '../../stations/pipeline.ts';
import { fromPcm16, SAMPLE_RATE, stationAudio, toPcm16 } from '../lib/audio.ts';
import { createTopic, load, rawKafka, rawProducer } from '../lib/kafka.ts';
import { realisticInput, realisticSnapshot } from '../lib/snapshots.ts';
import { pool, waitUntil } from '../lib/stats.ts';
import type { Bench } from '../lib/types.ts';

interface ReadResult {
  rate: number;
  /** From run() to the group's partitions being assigned (not counted in the rate). */
  startMs: number;
}

async function readAll(
  kafka: Kafka,
  topic: string,
  groupId: string,
  total: number,
  partitions: number,
  handle: ((values: (Buffer | null)[]) => Promise<void>) | null,
): Promise<ReadResult> {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, maxBytes: 50 * 1024 * 1024 });
  let seen = 0;
  let joinedAt = 0;
  let last = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joinedAt = performance.now();
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const t0 = performance.now();
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: partitions,
      eachBatch: async ({ batch }) => {
        if (handle) await handle(batch.messages.map((m) => m.value));
        seen += batch.messages.length;
        last = performance.now();
      },
    });
    const ok = await waitUntil(() => seen >= total, 180_000, 2);
    if (!ok) throw new Error(`${groupId}: read ${seen} of ${total} records in 180 s`);
    return { rate: (total * 1000) / (last - joinedAt), startMs: joinedAt - t0 };
  } finally {
    await consumer.disconnect();
  }
}

export const replayBench: Bench = {
  name: 'replay',
  title: 'Batch replay: read + decode + score, and counterfactual replay of stored PCM',
  stack: true,
  async run(ctx) {
    const rt = await ctx.runtime();
    const codec = rt.registry.codec('StationSnapshot');
    const cfg = ctx.cfg;
    const parts = cfg.topics.snapshotPartitions;
    const topic = `${cfg.topics.prefix}.bench-replay`;
    await createTopic(rt.kafka, topic, parts);
    const n = ctx.quick ? 20_000 : 100_000;
    const runs = ctx.quick ? 3 : 5;
    const tenant = ctx.tenant('replay');
    const kafka = rawKafka(cfg, `${ctx.runId}-replay`);
    const producer = rawProducer(kafka);
    await producer.connect();
    ctx.defer(() => producer.disconnect());
    ctx.log(`replay: loading ${n} snapshots into ${topic}`);
    const msgs: Message[] = Array.from({ length: n }, (_, i) => {
      const s = realisticSnapshot(ctx.runId, tenant, i);
      return { key: s.call_id, value: codec.encode(s) };
    });
    await load(producer, topic, msgs);

    let scoreSum = 0;
    // What the batch replay does per record (optimizer/batch/replay.ts, history.ts): one decode call
    // per fetched batch, then each snapshot scored (the history's other per-record work is not here).
    const decoder = new ReplayDecoder(codec);
    const decodeAndScore = async (values: (Buffer | null)[]) => {
      for (const r of await decoder.decodeAll(values)) {
        if (r instanceof Error) throw r;
        scoreSum += scoreValue(r.snapshot);
      }
    };
    // Warm-up read of both paths (JIT, connections) on a slice is not possible per group; one full
    // read each is the warm-up.
    await readAll(rt.kafka, topic, `${cfg.topics.prefix}.replay-warm-p`, n, parts, decodeAndScore);
    await readAll(kafka, topic, `${cfg.topics.prefix}.replay-warm-b`, n, parts, null);
    const pipe: number[] = [];
    const base: number[] = [];
    const starts: number[] = [];
    for (let k = 0; k < runs; k++) {
      ctx.log(`replay: read run ${k + 1}/${runs}`);
      const p = await readAll(rt.kafka, topic, `${cfg.topics.prefix}.replay-${k}`, n, parts, decodeAndScore);
      pipe.push(p.rate);
      starts.push(p.startMs);
      const b = await readAll(kafka, topic, `${cfg.topics.prefix}.replay-raw-${k}`, n, parts, null);
      base.push(b.rate);
    }

    // Counterfactual replay of stored PCM: each station's processed audio as the agents upload it.
    const segsPerStation = ctx.quick ? 2 : 5;
    const audio = stationAudio(segsPerStation);
    const stored: { key: string; stationId: number }[] = [];
    for (const a of audio) {
      for (let i = 0; i + SAMPLE_RATE <= a.samples.length; i += SAMPLE_RATE) {
        const put = await rt.audio.put(tenant, toPcm16(a.samples.subarray(i, i + SAMPLE_RATE)));
        stored.push({ key: put.storage_key, stationId: a.stationId });
      }
    }
    const candidate = (id: number) => {
      const p = { ...defaultsForStation(id) };
      if ('input_gain_db' in p) p.input_gain_db = (p.input_gain_db ?? 0) + 3;
      return p;
    };
    const counterfactual = async ({ key, stationId }: { key: string; stationId: number }) => {
      const samples = fromPcm16(await rt.audio.get(key));
      const { metrics } = processBufferOnce(stationId, candidate(stationId), {
        stationId,
        sampleRate: SAMPLE_RATE,
        samples,
      });
      const input = realisticInput(ctx.runId, tenant, 0, stationId);
      scoreSum += scoreSnapshot(buildSnapshot({ ...input, metrics })).score;
    };
    const fetchOnly = async ({ key }: { key: string }) => {
      const res = await rt.s3.send(new GetObjectCommand({ Bucket: cfg.s3.bucket, Key: key }));
      scoreSum += (await res.Body!.transformToByteArray()).length;
    };
    const conc = 4;
    await pool(stored, conc, counterfactual);
    await pool(stored, conc, fetchOnly);
    const cf: number[] = [];
    const cfBase: number[] = [];
    const cfRuns = ctx.quick ? 3 : 5;
    for (let k = 0; k < cfRuns; k++) {
      let t0 = performance.now();
      await pool(stored, conc, counterfactual);
      cf.push((stored.length * 1000) / (performance.now() - t0));
      t0 = performance.now();
      await pool(stored, conc, fetchOnly);
      cfBase.push((stored.length * 1000) / (performance.now() - t0));
    }
    const stations = loadCatalog().stations.length;
    return {
      figures: [
        {
          bench: 'replay',
          name: 'replay read + decode + score',
          metric: 'snapshots/s',
          higherIsBetter: true,
          samples: pipe,
          baseline: { name: 'raw kafkajs consume', samples: base },
          goal: { kind: 'min', value: 0.5, on: 'ratio', text: '>= 50% of raw' },
          note: `${n} snapshots, ${parts} partitions, fresh group from offset 0, timed from partition assignment; group join took ${Math.round(starts.sort((a, b) => a - b)[starts.length >> 1]!)} ms (not counted)`,
        },
        {
          bench: 'replay',
          name: 'counterfactual: S3 fetch + DSP + metrics + score',
          metric: 's audio/s',
          higherIsBetter: true,
          samples: cf,
          baseline: { name: 'raw S3 GET', samples: cfBase },
          note: `${stored.length} stored 1 s segments of ${stations} stations, ${conc} in flight, defaults with input_gain +3 dB`,
        },
      ],
      details: { snapshots: n, partitions: parts, first_record_ms: starts, checksum: scoreSum > 0 },
    };
  },
};
