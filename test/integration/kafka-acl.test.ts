// The broker checks who writes (issue 13): a private Kafka started secured as the local stack starts it
// (SASL/SCRAM users, KRaft's standard authorizer, the ACLs of stack/kafkaAuth.ts for prefix voiceloop),
// reached through the program's own settings and clients. Refusals are asserted by the broker's error
// code (kafkajs's `type`) or kafkajs's error class, never by message text.
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { createLogger } from '../../lib/log.ts';
import { envWith, loadSettings, type Settings } from '../../lib/settings.ts';
import { ensureStack } from '../../stack/index.ts';
import {
  agentGroupPrefix,
  credentialsFile,
  type Principal,
  readCredentials,
  stationPrincipal,
} from '../../stack/kafkaAuth.ts';
import { addMissingPrincipals } from '../../stack/kafkaUsers.ts';
import { kafkaAnswers, kafkaWantsSasl } from '../../stack/probes.ts';
import { createKafka, createProducer } from '../../streams/kafka.ts';
import { ensureTopics } from '../../streams/topics.ts';
import { type PrivateKafka, startPrivateKafka } from '../helpers/privateKafka.ts';
import { uniqueId, waitFor } from '../helpers/runtime.ts';

let broker: PrivateKafka;
let cfg: Readonly<Settings>;
const log = createLogger('silent');
const clients: Kafka[] = [];

function settings(extra: Record<string, string> = {}): Readonly<Settings> {
  return loadSettings(
    envWith({
      KAFKA_BROKERS: broker.broker,
      KAFKA_CREDENTIALS_FILE: broker.credentialsFile!,
      // Each client acts as the principal it is made for, not the tests' one.
      KAFKA_PRINCIPAL: '',
      KAFKA_SASL_USERNAME: '',
      KAFKA_SASL_PASSWORD: '',
      TOPIC_PREFIX: 'voiceloop',
      ...extra,
    }),
  );
}

function as(principal: Principal, c = cfg): Kafka {
  // Few retries: a refusal is final, and a test must not wait through kafkajs's back-off for it.
  const k = createKafka(c, log, principal);
  clients.push(k);
  return k;
}

/** Every kafkajs `type` (the broker's error code name) and error class name along the cause chain. */
function codes(err: unknown): string[] {
  const out: string[] = [];
  const seen = new Set<unknown>();
  const walk = (e: unknown) => {
    if (!e || typeof e !== 'object' || seen.has(e)) return;
    seen.add(e);
    const x = e as {
      type?: unknown;
      name?: unknown;
      cause?: unknown;
      originalError?: unknown;
      errors?: unknown;
    };
    if (typeof x.type === 'string') out.push(x.type);
    if (typeof x.name === 'string') out.push(x.name);
    walk(x.cause);
    walk(x.originalError);
    if (Array.isArray(x.errors)) for (const inner of x.errors) walk(inner);
  };
  walk(err);
  return out;
}

async function produce(k: Kafka, topic: string, key: string): Promise<void> {
  // Refusals (TOPIC_/CLUSTER_AUTHORIZATION_FAILED) are not retriable in kafkajs, so they fail at once
  // whatever this number; the retries are for a leader the fresh broker has not settled yet
  // (NOT_LEADER_FOR_PARTITION failed both tests once, at load 15, with a single retry).
  const producer = createProducer(k, { retries: 6 });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: [{ key, value: Buffer.from('x') }] });
  } finally {
    await producer.disconnect();
  }
}

async function refusedWith(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err, `expected the broker to refuse (${code}), but it accepted`);
  assert.ok(codes(err).includes(code), `expected ${code}, got ${codes(err).join(', ')}`);
}

before(async () => {
  broker = await startPrivateKafka(() => {}, { secured: true });
  cfg = settings();
  // The API's principal creates the deployment's topics, as the app's bootstrap does.
  await ensureTopics(as('api'), cfg);
});

after(async () => {
  await broker?.destroy();
});

test('kafka ACLs: a station may write snapshots and acks but not config or changes', async () => {
  const station = as('station');
  await produce(station, cfg.topics.snapshots, uniqueId('call-'));
  await produce(station, cfg.topics.acks, uniqueId('ack-'));
  await refusedWith(produce(station, cfg.topics.config, 'tenant/station/1'), 'TOPIC_AUTHORIZATION_FAILED');
  await refusedWith(produce(station, cfg.topics.changes, 'c1'), 'TOPIC_AUTHORIZATION_FAILED');
});

test('kafka ACLs: only the relay writes config; the station reads it in its own group, not in the persister’s', async () => {
  const key = uniqueId('cfg-');
  await produce(as('relay'), cfg.topics.config, key);
  await produce(as('relay'), cfg.topics.changes, key);
  // Neither the online optimizer, the API side nor the tests' principal may write it.
  for (const p of ['online', 'api', 'test'] as const)
    await refusedWith(produce(as(p), cfg.topics.config, key), 'TOPIC_AUTHORIZATION_FAILED');
  // Maintenance may write no topic at all, so the broker gives it no producer id in the first place.
  await refusedWith(produce(as('maintenance'), cfg.topics.config, key), 'CLUSTER_AUTHORIZATION_FAILED');

  const station = as('station');
  const seen: string[] = [];
  const consumer = station.consumer({ groupId: `${cfg.topics.prefix}.agent.${uniqueId('s')}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: cfg.topics.config, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.key?.toString() ?? '');
      },
    });
    await waitFor('the station to read the relay’s config record', async () => seen.includes(key), 60_000);
  } finally {
    await consumer.disconnect();
  }

  const intruder = station.consumer({ groupId: cfg.groups.persister, retry: { retries: 0 } });
  const crashed = new Promise<unknown>((resolve) =>
    intruder.on(intruder.events.CRASH, (e) => resolve(e.payload.error)),
  );
  await intruder.connect();
  try {
    await intruder.subscribe({ topic: cfg.topics.config, fromBeginning: true });
    await intruder.run({ eachMessage: async () => {} }).catch((err: unknown) => err);
    const err = await crashed;
    // The broker answers FindCoordinator with GROUP_AUTHORIZATION_FAILED; kafkajs reports it as "no
    // coordinator found" without the code (cluster/index.js drops it). The same client found the
    // coordinator of its own group above, so this is the ACL, not a missing coordinator.
    assert.ok(codes(err).includes('KafkaJSGroupCoordinatorNotFound'), `got ${codes(err).join(', ')}`);
  } finally {
    await intruder.disconnect();
  }
});

/** Whether `k` may join consumer group `groupId` and read `topic` (false: the broker refused the group). */
async function joins(k: Kafka, groupId: string, topic: string): Promise<boolean> {
  const consumer = k.consumer({ groupId, retry: { retries: 0 } });
  const outcome = new Promise<boolean>((resolve) => {
    consumer.on(consumer.events.CRASH, (e) => {
      // See the persister-group case above: a refused group is "no coordinator found" in kafkajs.
      assert.ok(
        codes(e.payload.error).includes('KafkaJSGroupCoordinatorNotFound'),
        codes(e.payload.error).join(),
      );
      resolve(false);
    });
    consumer.on(consumer.events.GROUP_JOIN, () => resolve(true));
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async () => {} }).catch(() => {});
    return await outcome;
  } finally {
    await consumer.disconnect();
  }
}

test('kafka ACLs: each station has its own principal, confined to its own agent groups', async () => {
  const s3 = as(stationPrincipal(3));
  await produce(s3, cfg.topics.snapshots, uniqueId('call-'));
  await produce(s3, cfg.topics.acks, uniqueId('ack-'));
  await refusedWith(produce(s3, cfg.topics.config, 'tenant/station/3'), 'TOPIC_AUTHORIZATION_FAILED');
  await refusedWith(produce(s3, cfg.topics.changes, 'c3'), 'TOPIC_AUTHORIZATION_FAILED');
  const own = `${agentGroupPrefix('voiceloop', stationPrincipal(3))}${uniqueId('a')}`;
  const other = `${agentGroupPrefix('voiceloop', stationPrincipal(4))}${uniqueId('a')}`;
  assert.equal(await joins(s3, own, cfg.topics.config), true, `station-3 joins ${own}`);
  assert.equal(await joins(s3, other, cfg.topics.config), false, `station-3 is refused ${other}`);
});

test('kafka ACLs: the online optimizer reads config in its config view’s groups only', async () => {
  const online = as('online');
  const view = `${cfg.topics.prefix}.online-view.${uniqueId('v')}`;
  assert.equal(await joins(online, view, cfg.topics.config), true, `online joins ${view}`);
  assert.equal(await joins(online, `${cfg.topics.prefix}.agent.${uniqueId('v')}`, cfg.topics.config), false);
});

test('kafka ACLs: the persister reads snapshots in its group and writes dead letters, nothing else', async () => {
  const persister = as('persister');
  await produce(persister, cfg.topics.deadLetters, uniqueId('dl-'));
  await refusedWith(
    produce(persister, cfg.topics.snapshots, uniqueId('call-')),
    'TOPIC_AUTHORIZATION_FAILED',
  );
  await refusedWith(produce(persister, cfg.topics.config, 'tenant/station/1'), 'TOPIC_AUTHORIZATION_FAILED');
  assert.equal(
    await joins(persister, `${cfg.groups.persister}.${uniqueId('p')}`, cfg.topics.snapshots),
    true,
  );
  assert.equal(
    await joins(persister, `${cfg.topics.prefix}.agent.${uniqueId('p')}`, cfg.topics.config),
    false,
  );
});

test('kafka ACLs: a stack made before the per-station and persister principals gets them added at up', async () => {
  const old = ['admin', 'api', 'online', 'relay', 'station', 'maintenance', 'test'] as const;
  const legacy = await startPrivateKafka(() => {}, { secured: true, principals: old });
  try {
    const file = legacy.credentialsFile!;
    const legacyCfg = () => settings({ KAFKA_BROKERS: legacy.broker, KAFKA_CREDENTIALS_FILE: file });
    // The old principals keep working; a new one is named when a client acting as it is made.
    await produce(as('station', legacyCfg()), 'voiceloop.unused', 'k').catch(() => {});
    assert.throws(() => as(stationPrincipal(3), legacyCfg()), /has no password for principal station-3/);
    assert.deepEqual(
      (await addMissingPrincipals(legacy.tool, legacy.broker, file)).sort(),
      ['persister', ...[1, 2, 3, 4, 9, 10, 11].map(stationPrincipal)].sort(),
    );
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(readCredentials(file), 'the file now holds every principal');
    const c = legacyCfg();
    await ensureTopics(as('api', c), c);
    await produce(as(stationPrincipal(3), c), c.topics.snapshots, uniqueId('call-'));
    await refusedWith(
      produce(as(stationPrincipal(3), c), c.topics.config, 'k'),
      'TOPIC_AUTHORIZATION_FAILED',
    );
    // A second run has nothing to add and changes no password.
    const before = readCredentials(file);
    assert.deepEqual(await addMissingPrincipals(legacy.tool, legacy.broker, file), []);
    assert.deepEqual(readCredentials(file), before);
  } finally {
    await legacy.destroy();
  }
});

test('kafka ACLs: a wrong password and an anonymous client are refused', async () => {
  const wrong = settings({ KAFKA_SASL_USERNAME: 'station', KAFKA_SASL_PASSWORD: 'not-the-password' });
  const admin = as('station', wrong).admin({ retry: { retries: 0 } });
  await refusedWith(admin.connect(), 'KafkaJSSASLAuthenticationError');
  await admin.disconnect().catch(() => {});

  // No SASL at all: the broker closes the connection at the first request after ApiVersions.
  await assert.rejects(kafkaAnswers([broker.broker]));
  assert.equal(await kafkaWantsSasl([broker.broker]), true);
  // The super-user of the stack answers.
  assert.equal(await kafkaAnswers([broker.broker], broker.adminSasl), true);
});

test('kafka ACLs: the shared stack wants SASL exactly when its state folder holds credentials', async () => {
  // Before the stack runs secured (or on a stack started before issue 13), its listener is plaintext
  // and the probe must not mistake it for one that wants SASL.
  const stack = await ensureStack();
  const creds = existsSync(credentialsFile(stack.stateDir));
  assert.equal(await kafkaWantsSasl(stack.kafkaBrokers), creds);
});
