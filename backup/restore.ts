// `npm run restore -- --from DIR` (issue 13): brings an empty stack to the backup's state. Refuses,
// before writing anything, a damaged backup (manifest checksums) or a stack that is not empty (tables
// in the database, objects in the bucket, records on the config topic), naming what is wrong. Then:
// pg_restore of the dump; the schemas registered again in version order (a fresh registry may give
// them other ids, so each config record's wire header is rewritten from the old id to the new one);
// the topics made as the program makes them and the config records produced; every PCM object put
// back and read back against its sha256; the row counts compared with the manifest.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Kafka } from 'kafkajs';
import { VoiceloopError, wrapIo } from '../lib/errors.ts';
import type { Settings } from '../lib/settings.ts';
import type { AudioStore } from '../storage/audioStore.ts';
import type { Pool } from '../storage/db.ts';
import { createProducer } from '../streams/kafka.ts';
import { ensureTopics } from '../streams/topics.ts';
import { type ConfigLine, type SchemaVersion, tableNames } from './backup.ts';
import { type BackupManifest, readVerified } from './manifest.ts';

const run = promisify(execFile);

export interface RestoreDeps {
  cfg: Readonly<Settings>;
  pool: Pool;
  s3: S3Client;
  audio: AudioStore;
  kafka: Kafka;
  pgRestore: string;
  log?: (line: string) => void;
}

async function topicRecords(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return 0;
    const offs = await admin.fetchTopicOffsets(topic);
    return offs.reduce((a, p) => a + Number(BigInt(p.high) - BigInt(p.low)), 0);
  } finally {
    await admin.disconnect();
  }
}

/** What makes the target not empty (nothing: it may be restored onto). */
async function notEmpty(deps: RestoreDeps): Promise<string[]> {
  const out: string[] = [];
  const tables = await tableNames(deps.pool);
  if (tables.length) out.push(`the database already has tables (${tables.slice(0, 5).join(', ')}…)`);
  for await (const page of deps.audio.list('')) {
    if (page.length) out.push(`bucket ${deps.audio.bucket} already holds objects (${page[0]!.key}…)`);
    break;
  }
  const n = await topicRecords(deps.kafka, deps.cfg.topics.config);
  if (n > 0) out.push(`topic ${deps.cfg.topics.config} already holds ${n} records`);
  return out;
}

async function registerAll(url: string, versions: SchemaVersion[]): Promise<Map<number, number>> {
  const ids = new Map<number, number>();
  for (const v of versions) {
    const res = await fetch(`${url}/subjects/${encodeURIComponent(v.subject)}/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schema: v.schema, ...(v.schemaType ? { schemaType: v.schemaType } : {}) }),
    }).catch((err) => {
      throw wrapIo('SCHEMA_REGISTRY', `registering ${v.subject} v${v.version}`, err);
    });
    if (!res.ok)
      throw new VoiceloopError(
        'SCHEMA_REGISTRY',
        `registering ${v.subject} v${v.version}: HTTP ${res.status} ${await res.text()}`,
      );
    ids.set(v.id, ((await res.json()) as { id: number }).id);
  }
  return ids;
}

async function produceConfig(
  deps: RestoreDeps,
  lines: ConfigLine[],
  ids: Map<number, number>,
): Promise<void> {
  if (lines.length === 0) return;
  const producer = createProducer(deps.kafka, { retries: 3 });
  await producer.connect();
  try {
    const messages = lines.map((l) => {
      const value = Buffer.from(l.value, 'base64');
      const id = ids.get(l.schema_id);
      if (id === undefined)
        throw new VoiceloopError(
          'VALIDATION',
          `config record ${l.key} names schema id ${l.schema_id}, which the backup's registry.json lacks`,
        );
      value.writeUInt32BE(id, 1);
      return { key: l.key, value };
    });
    await producer.send({ topic: deps.cfg.topics.config, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

async function putObjects(deps: RestoreDeps, dir: string, m: BackupManifest): Promise<void> {
  for (const o of m.audio.list) {
    const body = readFileSync(join(dir, 'audio', o.key));
    await deps.s3
      .send(
        new PutObjectCommand({
          Bucket: deps.audio.bucket,
          Key: o.key,
          Body: body,
          ContentType: 'audio/L16',
          Metadata: { sha256: o.sha256 },
        }),
      )
      .catch((err) => {
        throw wrapIo('OBJECT_STORE', `restoring ${o.key}`, err);
      });
    // get() checks the bytes read back against the sha256 in the key.
    await deps.audio.get(o.key);
  }
}

export interface RestoreReport {
  recovery_point: string;
  rows: number;
  objects: number;
  schemas: number;
  config_records: number;
  seconds: number;
}

export async function runRestore(deps: RestoreDeps, dir: string): Promise<RestoreReport> {
  const say = deps.log ?? (() => {});
  const t0 = performance.now();
  const m = await readVerified(dir);
  if (m.topic_prefix !== deps.cfg.topics.prefix)
    throw new VoiceloopError(
      'VALIDATION',
      `the backup is of TOPIC_PREFIX=${m.topic_prefix}; this process has ${deps.cfg.topics.prefix}`,
    );
  const problems = await notEmpty(deps);
  if (problems.length)
    throw new VoiceloopError('CONFLICT', `restore needs an empty stack: ${problems.join('; ')}`);
  try {
    await run(
      deps.pgRestore,
      ['--no-owner', '--exit-on-error', `--dbname=${deps.cfg.database.url}`, join(dir, m.postgres.file)],
      {
        maxBuffer: 64 * 1024 * 1024,
      },
    );
  } catch (err) {
    throw wrapIo('DATABASE', `pg_restore failed: ${(err as { stderr?: string }).stderr ?? ''}`, err, false);
  }
  let rows = 0;
  for (const [t, want] of Object.entries(m.postgres.rows)) {
    const got = (
      await deps.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${t.replace(/"/g, '')}"`)
    ).rows[0]!.n;
    if (got !== want)
      throw new VoiceloopError('DATABASE', `restored table ${t} has ${got} rows, the backup ${want}`);
    rows += got;
  }
  say(`PostgreSQL restored: ${rows} rows`);
  const versions = JSON.parse(readFileSync(join(dir, m.registry.file), 'utf8')) as SchemaVersion[];
  const ids = await registerAll(deps.cfg.schemaRegistry.url, versions);
  await ensureTopics(deps.kafka, deps.cfg);
  const lines = readFileSync(join(dir, m.config.file), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ConfigLine);
  await produceConfig(deps, lines, ids);
  say(`${versions.length} schema versions registered, ${lines.length} config records produced`);
  await putObjects(deps, dir, m);
  say(`${m.audio.list.length} audio objects restored and read back`);
  return {
    recovery_point: m.recovery_point,
    rows,
    objects: m.audio.list.length,
    schemas: versions.length,
    config_records: lines.length,
    seconds: Math.round(performance.now() - t0) / 1000,
  };
}
