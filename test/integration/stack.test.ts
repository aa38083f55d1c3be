// The local stack serves what the pipeline needs from each server: kafkajs 2.2.4 against Kafka 4
// (produce, consumer group, committed offsets), Confluent-compatible schema evolution with
// BACKWARD compatibility on Apicurio, PostgreSQL over TCP, and an S3 round trip with SDK v3 defaults.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import pg from 'pg';
import { envWith, kafkaSaslFor } from '../../lib/settings.ts';
import { ensureStack, type StackInfo, stackStatus } from '../../stack/index.ts';
import { credentialsFile } from '../../stack/kafkaAuth.ts';
import { portAnswers } from '../../stack/proc.ts';
import { createTopicsSettled } from '../../streams/topics.ts';
import { freePort } from '../helpers/privateProcess.ts';
import { testSettings } from '../helpers/runtime.ts';

const unique = randomUUID().slice(0, 8);
let stack: StackInfo;

before(async () => {
  stack = await ensureStack();
});

test('local stack: every service reports ready', async () => {
  const { services } = await stackStatus();
  assert.deepEqual(
    services.filter((s) => !s.ready).map((s) => s.name),
    [],
  );
});

test('local stack: kafkajs produces, consumes in a group and commits offsets on Kafka 4', async (t) => {
  const sasl = kafkaSaslFor(testSettings(), 'test');
  const kafka = new Kafka({
    clientId: `stack-test-${unique}`,
    brokers: stack.kafkaBrokers,
    logLevel: logLevel.ERROR,
    ...(sasl ? { sasl: sasl as SASLOptions } : {}),
  });
  const topic = `stack-test-${unique}`;
  const groupId = `stack-test-${unique}`;
  const admin = kafka.admin();
  await admin.connect();
  t.after(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  });
  await createTopicsSettled(kafka, [{ topic, numPartitions: 2 }]);

  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  const sent = Array.from({ length: 6 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
  await producer.send({ topic, acks: -1, messages: sent });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const received: string[] = [];
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          received.push(message.value!.toString());
          const next = (BigInt(message.offset) + 1n).toString();
          await consumer.commitOffsets([{ topic, partition, offset: next }]);
          if (received.length === sent.length) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();

  assert.deepEqual(received.sort(), sent.map((m) => m.value).sort());
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const total = committed!.partitions.reduce((n, p) => n + Number(p.offset), 0);
  assert.equal(total, sent.length);
});

test('local stack: the schema registry enforces BACKWARD compatibility through the Confluent API', async (t) => {
  const subject = `stack-test-${unique}-value`;
  const url = stack.schemaRegistryUrl;
  const headers = { 'content-type': 'application/vnd.schemaregistry.v1+json' };
  const record = (fields: object[]) =>
    JSON.stringify({
      schema: JSON.stringify({ type: 'record', name: 'X', namespace: 'stack.test', fields }),
    });
  const register = (fields: object[]) =>
    fetch(`${url}/subjects/${subject}/versions`, { method: 'POST', headers, body: record(fields) });
  t.after(async () => {
    await fetch(`${url}/subjects/${subject}`, { method: 'DELETE' });
    await fetch(`${url}/subjects/${subject}?permanent=true`, { method: 'DELETE' });
  });

  const a = { name: 'a', type: 'string' };
  const v1 = await register([a]);
  assert.equal(v1.status, 200);
  const { id } = (await v1.json()) as { id: number };
  assert.ok(Number.isInteger(id));

  const config = await fetch(`${url}/config/${subject}`, {
    method: 'PUT',
    headers,
    body: JSON.stringify({ compatibility: 'BACKWARD' }),
  });
  assert.equal(config.status, 200);

  const optional = { name: 'b', type: ['null', 'string'], default: null };
  const v2 = await register([a, optional]);
  assert.equal(v2.status, 200, await v2.clone().text());

  const required = { name: 'c', type: 'int' };
  const v3 = await register([a, optional, required]);
  assert.equal(v3.status, 409);

  const again = await register([a]);
  assert.equal(((await again.json()) as { id: number }).id, id, 're-registering returns the same id');
});

test('local stack: PostgreSQL accepts the configured URL and has the apicurio database', async () => {
  const client = new pg.Client({ connectionString: stack.databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      'select count(*)::int as n from pg_database where datname = $1',
      ['apicurio'],
    );
    assert.equal(rows[0]!.n, 1);
  } finally {
    await client.end();
  }
});

test('local stack: S3 round trip with path-style addressing and SDK v3 default checksums', async (t) => {
  const { s3 } = stack;
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  const Key = `stack-test/${unique}.bin`;
  t.after(async () => {
    await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key })).catch(() => {});
    client.destroy();
  });
  const body = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
  await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key, Body: body }));
  const got = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key }));
  assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body));
  // Insert-if-absent (DESIGN's idempotent writes) relies on If-None-Match: a second put is refused.
  await assert.rejects(
    client.send(new PutObjectCommand({ Bucket: s3.bucket, Key, Body: body, IfNoneMatch: '*' })),
    {
      name: 'PreconditionFailed',
    },
  );
});

test('a checkout without pid files uses the servers that answer on the ports and fetches no jars', () => {
  // A fresh worktree: its own (empty) state folder, the shared stack's servers on the ports.
  const state = mkdtempSync(join(tmpdir(), 'voiceloop-fresh-stack-'));
  try {
    const up = spawnSync(process.execPath, ['--import', 'tsx', 'stack/cli.ts', 'up'], {
      cwd: join(import.meta.dirname, '..', '..'),
      env: envWith({ VOICELOOP_STACK_DIR: state }),
      encoding: 'utf8',
      timeout: 300_000,
    });
    // A secured broker (issue 13) is not used without its credentials: the checkout is told at once
    // where they are instead (VOICELOOP_STACK_DIR); the other servers are still reused.
    const secured = existsSync(credentialsFile(stack.stateDir));
    const out = up.stderr + up.stdout;
    if (secured) {
      assert.notEqual(up.status, 0, out);
      assert.match(out, /kafka cannot start: .*asks for SASL authentication.*Set VOICELOOP_STACK_DIR/);
    } else assert.equal(up.status, 0, up.stderr);
    for (const name of ['postgres', 'kafka', 'apicurio', 's3proxy']) {
      if (!(secured && name === 'kafka'))
        assert.match(out, new RegExp(`${name}: port \\d+ is served`), `${name} reused`);
      assert.ok(!existsSync(join(state, name)), `nothing fetched or prepared for ${name}`);
    }
    assert.doesNotMatch(out, /fetched|Maven|started pid/);
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});

test('the probe that decides whether to start a server retries: a server that answers late is seen', async (t) => {
  const port = await freePort();
  const server = createServer((c) => c.destroy());
  t.after(() => server.close());
  // Not listening for the first probe; listening before one of the later ones.
  setTimeout(() => server.listen(port, '127.0.0.1'), 300);
  assert.equal(await portAnswers('127.0.0.1', port, { attempts: 5, pauseMs: 400, timeoutMs: 1_000 }), true);
  const closed = await freePort();
  assert.equal(await portAnswers('127.0.0.1', closed, { attempts: 2, pauseMs: 50, timeoutMs: 500 }), false);
});
