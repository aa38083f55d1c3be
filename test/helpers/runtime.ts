// Test isolation (STYLE §11): each test gets its own topic prefix (so its own topics, subjects and
// consumer groups) and its own tenant ids in the shared database; cleanup is registered next to creation.
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { mintToken } from '../../lib/auth.ts';
import { createLogger } from '../../lib/log.ts';
import { envWith, loadSettings, readTestEnv, type Settings, withPrefix } from '../../lib/settings.ts';
import { bootstrap } from '../../runtime/bootstrap.ts';
import { createKafka, createProducer } from '../../streams/kafka.ts';

export function uniqueId(label = 't'): string {
  return `${label}${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

export function testSettings(label = 'test', env: Record<string, string> = {}): Readonly<Settings> {
  const base = loadSettings(
    envWith({
      LOG_LEVEL: readTestEnv().logLevel,
      SNAPSHOT_PARTITIONS: '3',
      // Tests share two busy cores: a produce that is merely slow must not turn into a 503 here; the
      // overload tests set their own bound.
      PRODUCE_TIMEOUT_MS: '15000',
      MAX_EVENT_LOOP_DELAY_MS: '0',
      KAFKA_PRINCIPAL: readTestEnv().kafkaPrincipal,
      ...env,
    }),
  );
  return withPrefix(base, uniqueId(`${label}-`));
}

const stacks = new WeakMap<TestContext, (() => unknown)[]>();

/** Registers cleanup that runs when the test ends, last registered first (like `defer`). */
/**
 * The environment a child process (a CLI, `bin/start.ts`) needs to reach the services `cfg` names,
 * including the Kafka credentials file when the broker is secured: naming KAFKA_BROKERS turns off
 * the default of the local stack's credentials, so it is passed on explicitly.
 */
export function serviceEnv(cfg: Readonly<Settings>): Record<string, string> {
  const credentials = cfg.kafka.auth.principals?.file;
  return {
    TOPIC_PREFIX: cfg.topics.prefix,
    KAFKA_BROKERS: cfg.kafka.brokers.join(','),
    ...(credentials ? { KAFKA_CREDENTIALS_FILE: credentials } : {}),
    SCHEMA_REGISTRY_URL: cfg.schemaRegistry.url,
    DATABASE_URL: cfg.database.url,
    S3_ENDPOINT: cfg.s3.endpoint,
  };
}

export function defer(t: TestContext, fn: () => unknown): void {
  let stack = stacks.get(t);
  if (!stack) {
    const fns: (() => unknown)[] = [];
    stack = fns;
    stacks.set(t, fns);
    t.after(async () => {
      for (const f of fns.reverse())
        await Promise.resolve(f()).catch((err) => console.error('cleanup failed:', err));
    });
  }
  stack.push(fn);
}

/** Deletes the test's topics when it ends (after everything registered later has stopped). */
export function cleanupTopics(t: TestContext, cfg: Readonly<Settings>): void {
  defer(t, async () => {
    const admin = createKafka(cfg, createLogger('silent')).admin();
    try {
      await admin.connect();
      const mine = (await admin.listTopics()).filter((n) => n.startsWith(`${cfg.topics.prefix}.`));
      if (mine.length) await admin.deleteTopics({ topics: mine }).catch(() => {});
    } finally {
      // Also when listing failed: a connected admin left behind keeps the file's process alive.
      await admin.disconnect();
    }
  });
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    await sleep(everyMs);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`,
  );
}

export function token(
  cfg: Readonly<Settings>,
  role: 'station' | 'operator' | 'viewer' | 'admin',
  tenant: string,
): string {
  const exp = Math.floor(Date.now() / 1000) + 3600;
  return `Bearer ${mintToken(cfg.api.tokenSecret, { sub: `test-${role}`, role, tenant, exp })}`;
}

/** Reads a topic from the beginning until `until` says enough (or the deadline passes). */
export async function readTopic<T>(
  kafka: import('kafkajs').Kafka,
  topic: string,
  decode: (value: Buffer | null) => Promise<T> | T,
  until: (items: { key: string; value: T; offset: string; partition: number }[]) => boolean,
  timeoutMs = 20_000,
): Promise<{ key: string; value: T; offset: string; partition: number }[]> {
  const consumer = kafka.consumer({ groupId: uniqueId('reader-'), maxWaitTimeInMs: 50 });
  const items: { key: string; value: T; offset: string; partition: number }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        items.push({
          key: message.key?.toString() ?? '',
          value: await decode(message.value),
          offset: message.offset,
          partition,
        });
      },
    });
    await waitFor(`records on ${topic}`, async () => until(items) || undefined, timeoutMs, 50);
    return items;
  } finally {
    await consumer.disconnect();
  }
}

/**
 * Reads every record on a topic up to its end offsets as they are when called: a check for duplicates
 * (or for anything unwanted) that sees all that was written, instead of stopping at the first match.
 */
export async function readToEnd<T>(
  kafka: import('kafkajs').Kafka,
  topic: string,
  decode: (value: Buffer | null) => Promise<T> | T,
  timeoutMs = 20_000,
): Promise<{ key: string; value: T; offset: string; partition: number }[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const want = new Map(ends.map((p) => [p.partition, BigInt(p.high)]));
  const seen = new Map<number, bigint>();
  const items = await readTopic(
    kafka,
    topic,
    async (v) => v,
    (got) => {
      for (const it of got) {
        const next = BigInt(it.offset) + 1n;
        if ((seen.get(it.partition) ?? 0n) < next) seen.set(it.partition, next);
      }
      // Compaction may leave the low offsets empty; the end offset is what counts.
      return [...want].every(([p, high]) => high === 0n || (seen.get(p) ?? 0n) >= high);
    },
    timeoutMs,
  );
  return Promise.all(items.map(async (it) => ({ ...it, value: await decode(it.value as Buffer | null) })));
}

/**
 * A consumer group's committed offsets on a topic against the topic's end: `caughtUp` waits (with a
 * deadline) until the group has committed everything written so far, so a check made after it sees
 * all the group's work, a duplicate too, instead of whatever a fixed sleep happened to allow.
 */
export async function groupOffsets(
  t: TestContext,
  kafka: import('kafkajs').Kafka,
  groupId: string,
  topic: string,
) {
  const admin = kafka.admin();
  await admin.connect();
  defer(t, () => admin.disconnect());
  const committed = async () =>
    (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]!.partitions
      // An empty partition has nothing to commit: no offset (-1) is as caught up as its high mark 0.
      .map((p) => `${p.partition}:${p.offset === '-1' ? '0' : p.offset}`)
      .sort()
      .join(',');
  const high = async () =>
    (await admin.fetchTopicOffsets(topic))
      .map((p) => `${p.partition}:${p.offset}`)
      .sort()
      .join(',');
  return {
    admin,
    committed,
    async caughtUp(timeoutMs = 30_000): Promise<void> {
      let seen = '';
      await waitFor(
        `${groupId} to commit everything on ${topic}`,
        async () => {
          const [c, h] = [await committed(), await high()];
          seen = `committed ${c}, high ${h}`;
          return c === h;
        },
        timeoutMs,
      ).catch((err) => {
        throw new Error(`${(err as Error).message} (${seen})`);
      });
    },
  };
}

/**
 * The runtime of a test that feeds snapshots to processes of its own (crash and scale-out tests): the
 * topics cleaned up after, a fresh tenant, the snapshot codec and a connected producer, all closed
 * when the test ends.
 */
export async function producingRuntime(t: TestContext, cfg: Readonly<Settings>) {
  cleanupTopics(t, cfg);
  const rt = await bootstrap(cfg);
  defer(t, () => rt.close());
  const producer = createProducer(rt.kafka);
  await producer.connect();
  defer(t, () => producer.disconnect());
  return { rt, tenant: uniqueId('tn'), codec: rt.registry.codec('StationSnapshot'), producer };
}
