// 12. What the broker's authentication and ACLs cost (issue 13): the same raw kafkajs work against two
// private single-node brokers started side by side for this benchmark, one with SASL/SCRAM-SHA-512 and
// the standard authorizer with the deployment's ACLs (as the local stack runs since issue 13; the
// `test` principal), the other plaintext with no authorizer (as the stack ran before). Both brokers are
// fresh, with the same JVM settings, and the runs alternate between them, so the machine's noise falls
// on both alike. Measured: producer connect (TCP + SASL handshake + metadata), single sends with 32 in
// flight (acks=all), batches of 100, and a one-at-a-time produce -> consume round trip.
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Producer, type SASLOptions } from 'kafkajs';
import { readCredentials } from '../../stack/kafkaAuth.ts';
import { type PrivateKafka, startPrivateKafka } from '../../test/helpers/privateKafka.ts';
import { createTopic, rawProducer } from '../lib/kafka.ts';
import { median, pool, quantile, since, waitUntil } from '../lib/stats.ts';
import type { Bench, BenchContext, Figure } from '../lib/types.ts';

const TOPIC = 'voiceloop-bench.auth';
const CONC = 32;

interface Side {
  label: 'secured' | 'plaintext';
  kafka: Kafka;
  producer: Producer;
}

interface Samples {
  connectMs: number[];
  single: number[];
  batch: number[];
  rttP50: number[];
  rttP99: number[];
}

/** A private broker and, when secured, the `test` principal's password. */
interface Broker {
  server: PrivateKafka;
  password?: string;
}

function client(b: Broker, clientId: string): Kafka {
  const sasl: SASLOptions | undefined =
    b.password === undefined
      ? undefined
      : { mechanism: 'scram-sha-512', username: 'test', password: b.password };
  return new Kafka({
    clientId,
    brokers: [b.server.broker],
    logLevel: logLevel.NOTHING,
    ...(sasl ? { sasl } : {}),
  });
}

async function startBroker(ctx: BenchContext, secured: boolean): Promise<Broker> {
  const server = await startPrivateKafka(ctx.log, { secured });
  ctx.defer(() => server.destroy());
  if (!server.credentialsFile) return { server };
  const creds = readCredentials(server.credentialsFile);
  if (!creds) throw new Error(`no credentials in ${server.credentialsFile}`);
  return { server, password: creds.test };
}

async function connectTime(broker: Broker): Promise<number> {
  const p = rawProducer(client(broker, `bench-auth-connect-${randomBytes(3).toString('hex')}`));
  const t0 = performance.now();
  await p.connect();
  await p.send({ topic: TOPIC, acks: -1, messages: [{ value: 'x' }] });
  const ms = since(t0);
  await p.disconnect();
  return ms;
}

async function singles(side: Side, n: number): Promise<number> {
  const value = randomBytes(600);
  const t0 = performance.now();
  await pool(
    Array.from({ length: n }, (_, i) => i),
    CONC,
    async (i) => {
      await side.producer.send({ topic: TOPIC, acks: -1, messages: [{ key: String(i % 64), value }] });
    },
  );
  return n / (since(t0) / 1000);
}

async function batches(side: Side, n: number): Promise<number> {
  const value = randomBytes(600);
  const messages = Array.from({ length: 100 }, (_, i) => ({ key: String(i % 64), value }));
  const t0 = performance.now();
  await pool(
    Array.from({ length: n / 100 }, (_, i) => i),
    4,
    async () => {
      await side.producer.send({ topic: TOPIC, acks: -1, messages });
    },
  );
  return n / (since(t0) / 1000);
}

/** One message at a time: send, wait until this process's consumer sees it. */
async function roundTrips(side: Side, n: number): Promise<{ p50: number; p99: number }> {
  const consumer = side.kafka.consumer({ groupId: `bench-auth-${randomBytes(4).toString('hex')}` });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: false });
  const seen = new Set<string>();
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (message.key) seen.add(message.key.toString());
    },
  });
  try {
    // Wait for the assignment: a marker sent until it comes back.
    const marker = `m-${randomBytes(4).toString('hex')}`;
    await waitUntil(
      async () => {
        await side.producer.send({ topic: TOPIC, messages: [{ key: marker, value: 'm' }] });
        return seen.has(marker);
      },
      60_000,
      500,
    );
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const key = `rt-${i}-${randomBytes(3).toString('hex')}`;
      const t0 = performance.now();
      await side.producer.send({ topic: TOPIC, acks: -1, messages: [{ key, value: 'r' }] });
      await waitUntil(() => seen.has(key), 10_000, 1);
      times.push(since(t0));
    }
    return { p50: quantile(times, 0.5), p99: quantile(times, 0.99) };
  } finally {
    await consumer.disconnect();
  }
}

function figures(sec: Samples, plain: Samples): Figure[] {
  const row = (name: string, metric: string, higherIsBetter: boolean, s: number[], b: number[]): Figure => ({
    bench: 'kafka-auth',
    name,
    metric,
    higherIsBetter,
    samples: s,
    baseline: { name: 'plaintext broker, no ACLs', samples: b },
    note: 'two private brokers, same JVM settings, runs alternated',
  });
  return [
    row('SASL/SCRAM+ACLs: connect + first send', 'ms', false, sec.connectMs, plain.connectMs),
    row('SASL/SCRAM+ACLs: single sends (32 in flight)', 'msgs/s', true, sec.single, plain.single),
    row('SASL/SCRAM+ACLs: batches of 100', 'msgs/s', true, sec.batch, plain.batch),
    row('SASL/SCRAM+ACLs: produce->consume p50', 'ms', false, sec.rttP50, plain.rttP50),
    row('SASL/SCRAM+ACLs: produce->consume p99', 'ms', false, sec.rttP99, plain.rttP99),
  ];
}

export const kafkaAuthBench: Bench = {
  name: 'kafka-auth',
  title: 'Kafka with SASL/SCRAM and ACLs vs a plaintext broker (raw kafkajs, two private brokers)',
  stack: false,
  async run(ctx) {
    const runs = ctx.quick ? 3 : 5;
    const nSingle = ctx.quick ? 1000 : 6000;
    const nBatch = ctx.quick ? 5000 : 40_000;
    const nRtt = ctx.quick ? 60 : 400;
    const [secured, plaintext] = [await startBroker(ctx, true), await startBroker(ctx, false)];
    const sides: Side[] = [];
    for (const [label, b] of [
      ['secured', secured],
      ['plaintext', plaintext],
    ] as const) {
      const kafka = client(b, `bench-auth-${label}`);
      await createTopic(kafka, TOPIC, 3);
      const producer = rawProducer(kafka);
      await producer.connect();
      ctx.defer(() => producer.disconnect());
      sides.push({ label, kafka, producer });
      await singles(sides.at(-1)!, 300); // warm-up: connections, metadata, JIT
    }
    const empty = (): Samples => ({ connectMs: [], single: [], batch: [], rttP50: [], rttP99: [] });
    const out: Record<Side['label'], Samples> = { secured: empty(), plaintext: empty() };
    const brokerOf = { secured, plaintext };
    for (let k = 0; k < runs; k++) {
      // Alternate which side goes first, so a drift in the machine's load does not favour one.
      const order = k % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        ctx.log(`kafka-auth: run ${k + 1}/${runs}, ${side.label}`);
        const s = out[side.label];
        s.connectMs.push(await connectTime(brokerOf[side.label]));
        s.single.push(await singles(side, nSingle));
        s.batch.push(await batches(side, nBatch));
        const rt = await roundTrips(side, nRtt);
        s.rttP50.push(rt.p50);
        s.rttP99.push(rt.p99);
      }
    }
    return {
      figures: figures(out.secured, out.plaintext),
      details: {
        runs,
        single_messages_per_run: nSingle,
        batch_messages_per_run: nBatch,
        round_trips_per_run: nRtt,
        medians: {
          secured_single: median(out.secured.single),
          plaintext_single: median(out.plaintext.single),
        },
      },
    };
  },
};
