// `npm run backup -- --out DIR` (issue 13): one consistent copy of what the deployment keeps.
//   postgres.dump   pg_dump, custom format, of an exported snapshot; the row counts in the manifest are
//                   read in that same snapshot, so they are the dump's own
//   audio/<key>     every PCM object, checked against the sha256 in its key
//   registry.json   every version of the deployment's subjects (topic prefix) with its schema id
//   config.jsonl    the compacted config topic's current record per key (tombstoned keys left out),
//                   value bytes as written (Confluent wire format, schema id in bytes 1-4)
//   manifest.json   counts, sizes and sha256 of every file, the schema ids, the recovery point
// The recovery point is the database snapshot's time: objects and config records are read after it, so
// the backup holds at least what the dump refers to.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Kafka } from 'kafkajs';
import { VoiceloopError, wrapIo } from '../lib/errors.ts';
import type { Settings } from '../lib/settings.ts';
import type { AudioStore } from '../storage/audioStore.ts';
import type { Pool } from '../storage/db.ts';
import { createConsumer } from '../streams/kafka.ts';
import { type BackupManifest, fileSha256, MANIFEST_FORMAT } from './manifest.ts';

const run = promisify(execFile);

export interface BackupDeps {
  cfg: Readonly<Settings>;
  pool: Pool;
  audio: AudioStore;
  kafka: Kafka;
  pgDump: string;
  log?: (line: string) => void;
}

/** The program's tables (partitions counted through their parent). */
export async function tableNames(c: Pick<Pool, 'query'>): Promise<string[]> {
  const r = await c.query<{ t: string }>(
    `SELECT c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`,
  );
  return r.rows.map((x) => x.t);
}

async function dumpDatabase(deps: BackupDeps, out: string) {
  const c = await deps.pool.connect();
  try {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const snap = await c.query<{ id: string; at: Date }>('SELECT pg_export_snapshot() AS id, now() AS at');
    const counts: Record<string, number> = {};
    for (const t of await tableNames(c)) {
      const r = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t}`);
      counts[t] = r.rows[0]!.n;
    }
    const file = join(out, 'postgres.dump');
    try {
      await run(
        deps.pgDump,
        [
          '--format=custom',
          '--no-owner',
          `--snapshot=${snap.rows[0]!.id}`,
          `--file=${file}`,
          deps.cfg.database.url,
        ],
        {
          maxBuffer: 64 * 1024 * 1024,
        },
      );
    } catch (err) {
      throw wrapIo('DATABASE', `pg_dump failed: ${(err as { stderr?: string }).stderr ?? ''}`, err, false);
    }
    await c.query('COMMIT');
    return { counts, at: snap.rows[0]!.at.toISOString(), file };
  } finally {
    c.release();
  }
}

async function copyAudio(deps: BackupDeps, out: string) {
  const objects: { key: string; sha256: string; size: number }[] = [];
  for await (const page of deps.audio.list()) {
    for (const o of page) {
      // get() checks the bytes against the sha256 in the key: a corrupt object stops the backup.
      const bytes = await deps.audio.get(o.key);
      const path = join(out, 'audio', o.key);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, bytes);
      objects.push({
        key: o.key,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        size: bytes.length,
      });
    }
  }
  return objects;
}

async function registryGet<T>(url: string, path: string): Promise<T> {
  const res = await fetch(`${url}${path}`).catch((err) => {
    throw wrapIo('SCHEMA_REGISTRY', `reading ${path}`, err);
  });
  if (!res.ok)
    throw new VoiceloopError('SCHEMA_REGISTRY', `reading ${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export interface SchemaVersion {
  subject: string;
  version: number;
  id: number;
  schema: string;
  schemaType?: string;
}

async function copySchemas(deps: BackupDeps): Promise<SchemaVersion[]> {
  const url = deps.cfg.schemaRegistry.url;
  const subjects = (await registryGet<string[]>(url, '/subjects')).filter((s) =>
    s.startsWith(`${deps.cfg.topics.prefix}.`),
  );
  const out: SchemaVersion[] = [];
  for (const s of subjects.sort()) {
    const versions = await registryGet<number[]>(url, `/subjects/${encodeURIComponent(s)}/versions`);
    for (const v of versions.sort((a, b) => a - b)) {
      const r = await registryGet<SchemaVersion>(url, `/subjects/${encodeURIComponent(s)}/versions/${v}`);
      out.push({
        subject: s,
        version: r.version,
        id: r.id,
        schema: r.schema,
        ...(r.schemaType ? { schemaType: r.schemaType } : {}),
      });
    }
  }
  return out;
}

export interface ConfigLine {
  key: string;
  partition: number;
  offset: string;
  schema_id: number;
  value: string;
}

/**
 * The current record of every live key on the compacted config topic, read up to its end offsets, in a
 * throw-away group under `<prefix>.backup.` (where the maintenance principal may read; see stack/kafkaAuth.ts).
 */
export async function currentConfig(kafka: Kafka, topic: string, prefix: string): Promise<ConfigLine[]> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: { partition: number; high: string }[];
  try {
    ends = (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, high: p.high }));
  } finally {
    await admin.disconnect();
  }
  const latest = new Map<string, ConfigLine | null>();
  const pending = new Map(ends.filter((e) => e.high !== '0').map((e) => [e.partition, BigInt(e.high)]));
  if (pending.size === 0) return [];
  const groupId = `${prefix}.backup.${process.pid}-${Date.now()}`;
  const owned = createConsumer(kafka, { groupId, maxWaitTimeInMs: 100 });
  const { consumer } = owned;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let finish: () => void = () => {};
    const finished = new Promise<void>((r) => {
      finish = r;
    });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const key = message.key?.toString() ?? '';
        const v = message.value;
        latest.set(
          key,
          v === null
            ? null
            : {
                key,
                partition,
                offset: message.offset,
                schema_id: v.readUInt32BE(1),
                value: v.toString('base64'),
              },
        );
        if (BigInt(message.offset) + 1n >= (pending.get(partition) ?? 0n)) pending.delete(partition);
        if (pending.size === 0) finish();
      },
    });
    await finished;
  } finally {
    await owned.stop();
    const admin2 = kafka.admin();
    await admin2.connect();
    await admin2.deleteGroups([groupId]).catch(() => {});
    await admin2.disconnect();
  }
  return [...latest.values()]
    .filter((x): x is ConfigLine => x !== null)
    .sort((a, b) => a.key.localeCompare(b.key));
}

function filesOf(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesOf(p, base) : [p.slice(base.length + 1)];
  });
}

export async function runBackup(deps: BackupDeps, out: string): Promise<BackupManifest> {
  mkdirSync(out, { recursive: true });
  if (readdirSync(out).length > 0)
    throw new VoiceloopError(
      'VALIDATION',
      `--out ${out} is not empty: a backup goes into a new or empty folder`,
    );
  const say = deps.log ?? (() => {});
  const t0 = performance.now();
  const db = await dumpDatabase(deps, out);
  say(
    `PostgreSQL dumped (${Object.values(db.counts).reduce((a, b) => a + b, 0)} rows in ${Object.keys(db.counts).length} tables)`,
  );
  const objects = await copyAudio(deps, out);
  say(`${objects.length} audio objects copied`);
  const schemas = await copySchemas(deps);
  writeFileSync(join(out, 'registry.json'), `${JSON.stringify(schemas, null, 2)}\n`);
  const config = await currentConfig(deps.kafka, deps.cfg.topics.config, deps.cfg.topics.prefix);
  writeFileSync(
    join(out, 'config.jsonl'),
    config.map((l) => JSON.stringify(l)).join('\n') + (config.length ? '\n' : ''),
  );
  say(`${schemas.length} schema versions, ${config.length} config records`);
  const files: Record<string, { bytes: number; sha256: string }> = {};
  for (const f of filesOf(out).sort())
    files[f] = { bytes: statSync(join(out, f)).size, sha256: await fileSha256(join(out, f)) };
  const manifest: BackupManifest = {
    format: MANIFEST_FORMAT,
    created_at: new Date().toISOString(),
    recovery_point: db.at,
    topic_prefix: deps.cfg.topics.prefix,
    bucket: deps.cfg.s3.bucket,
    postgres: { file: 'postgres.dump', rows: db.counts },
    audio: { objects: objects.length, bytes: objects.reduce((a, o) => a + o.size, 0), list: objects },
    registry: {
      file: 'registry.json',
      versions: schemas.map(({ subject, version, id }) => ({ subject, version, id })),
    },
    config: { file: 'config.jsonl', topic: deps.cfg.topics.config, records: config.length },
    files,
    seconds: Math.round(performance.now() - t0) / 1000,
  };
  writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
