// Avro values in the Confluent wire format (DESIGN §4): byte 0 = magic 0, bytes 1-4 = schema id (big
// endian), then the Avro binary body. Schemas live in the registry under `<topic>-value` (the Java
// clients' TopicNameStrategy, so other languages find them), each subject pinned to BACKWARD.

import { createRequire } from 'node:module';
import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';

type Resolver = ReturnType<avro.Type['createResolver']>;

import type {
  ConfigAck,
  ConfigRecord,
  OptimizerResult,
  ParameterChange,
  StationSnapshot,
} from '../contracts/generated.ts';
import { type ContractName, loadSchema } from '../contracts/schemas.ts';
import { VoiceloopError, wrapIo } from '../lib/errors.ts';
import { retry } from '../lib/retry.ts';
import type { Settings } from '../lib/settings.ts';

export interface ContractTypes {
  StationSnapshot: StationSnapshot;
  OptimizerResult: OptimizerResult;
  ParameterChange: ParameterChange;
  ConfigRecord: ConfigRecord;
  ConfigAck: ConfigAck;
}

const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;

export function subjectFor(topic: string): string {
  return `${topic}-value`;
}

export function topicOf(cfg: Readonly<Settings>, name: ContractName): string {
  const t = cfg.topics;
  const map: Record<ContractName, string> = {
    StationSnapshot: t.snapshots,
    OptimizerResult: t.results,
    ParameterChange: t.changes,
    ConfigRecord: t.config,
    ConfigAck: t.acks,
  };
  return map[name];
}

/**
 * A faster reader of the records written with a codec's own schema (Codec.decodeAll): given the
 * record and where its Avro body starts, the value it reads, or undefined to leave the record to the
 * codec's full decode (which also gives the error for a bad body). It must not throw.
 */
export type OwnSchemaReader<V> = (buf: Buffer, bodyAt: number) => V | undefined;

/** Encodes with our own (reader) schema; decodes any registered writer schema into it. */
export class Codec<T> {
  readonly type: avro.Type;
  private readonly resolvers = new Map<number, Promise<avro.Type | Resolver>>();
  /** The readers whose fetch has finished: decodeAll uses them without awaiting. */
  private readonly ready = new Map<number, avro.Type | Resolver>();
  private scratch = Buffer.allocUnsafeSlow(16 * 1024);

  constructor(
    readonly name: string,
    readonly subject: string,
    readonly schemaId: number,
    schema: object,
    private readonly registry: SchemaRegistry,
  ) {
    this.type = avro.Type.forSchema(schema as avro.Schema);
  }

  /** Throws the VALIDATION error `encode` would throw for `value`, without encoding it. */
  check(value: T): void {
    // avsc's check short-circuits without a hook; the paths are collected only for a value that fails.
    if (this.type.isValid(value)) return;
    const paths: string[] = [];
    if (!this.type.isValid(value, { errorHook: (p) => paths.push(p.join('.')) })) {
      throw new VoiceloopError(
        'VALIDATION',
        `${this.name} is not valid for its schema: bad field(s) ${paths.join(', ')}`,
        {
          details: paths.map((field) => ({ field, reason: 'does not match the Avro schema' })),
        },
      );
    }
  }

  encode(value: T): Buffer {
    this.check(value);
    // The body is written once, behind the header, into a scratch buffer (grown when a value needs
    // more), and copied out once: no intermediate body Buffer.
    let end = this.type.encode(value, this.scratch, HEADER_BYTES);
    if (end < 0) {
      this.scratch = Buffer.allocUnsafeSlow(2 * (this.scratch.length - end));
      end = this.type.encode(value, this.scratch, HEADER_BYTES);
    }
    const out = Buffer.allocUnsafe(end);
    this.scratch.copy(out, 0, 0, end);
    out.writeUInt8(MAGIC_BYTE, 0);
    out.writeUInt32BE(this.schemaId, 1);
    return out;
  }

  async decode(buf: Buffer | null): Promise<T> {
    const id = this.headerOf(buf);
    return this.body(id, await this.readerFor(id), buf!);
  }

  /**
   * Decodes a batch of records: each writer schema id is fetched at most once (awaited only while one
   * is not known yet), then every body synchronously, with no promise per record. Each entry is the
   * value, or the DECODE error `decode` would have thrown for that record; trouble reaching the
   * registry (retriable) rejects the whole call, as it would each `decode`. With `own`, a record written
   * with the codec's own schema is first offered to it (see OwnSchemaReader).
   */
  async decodeAll<V = T>(
    bufs: readonly (Buffer | null)[],
    own?: OwnSchemaReader<V>,
  ): Promise<(T | V | VoiceloopError)[]> {
    const out: (T | V | VoiceloopError)[] = new Array(bufs.length);
    for (let i = 0; i < bufs.length; i++) {
      const buf = bufs[i]!;
      let id: number;
      try {
        id = this.headerOf(buf);
      } catch (err) {
        out[i] = err as VoiceloopError;
        continue;
      }
      if (own !== undefined && id === this.schemaId) {
        const v = own(buf!, HEADER_BYTES);
        if (v !== undefined) {
          out[i] = v;
          continue;
        }
      }
      let reader = this.ready.get(id);
      if (reader === undefined) {
        try {
          reader = await this.readerFor(id);
        } catch (err) {
          if (!(err instanceof VoiceloopError) || err.code !== 'DECODE') throw err;
          out[i] = err;
          continue;
        }
      }
      try {
        out[i] = this.body(id, reader, buf!);
      } catch (err) {
        out[i] = err as VoiceloopError;
      }
    }
    return out;
  }

  /** The writer schema id of a record in the wire format; a DECODE error when it is not one. */
  private headerOf(buf: Buffer | null): number {
    if (!buf || buf.length < HEADER_BYTES) {
      throw new VoiceloopError(
        'DECODE',
        `${this.name}: record of ${buf?.length ?? 0} bytes is shorter than the 5-byte wire header`,
      );
    }
    if (buf[0] !== MAGIC_BYTE) {
      throw new VoiceloopError(
        'DECODE',
        `${this.name}: first byte is ${buf[0]}, expected the Confluent magic byte 0`,
      );
    }
    return buf.readUInt32BE(1);
  }

  private body(id: number, reader: avro.Type | Resolver, buf: Buffer): T {
    try {
      // What fromBuffer(buf.subarray(HEADER_BYTES)) does, with its errors, without a Buffer per record.
      const r =
        reader === this.type
          ? this.type.decode(buf, HEADER_BYTES)
          : this.type.decode(buf, HEADER_BYTES, reader as Resolver);
      if (r.offset < 0) throw new Error('truncated buffer');
      if (r.offset < buf.length) throw new Error('trailing data');
      return r.value as T;
    } catch (err) {
      throw new VoiceloopError(
        'DECODE',
        `${this.name}: Avro body does not decode with writer schema id ${id}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  private readerFor(id: number): Promise<avro.Type | Resolver> {
    let p = this.resolvers.get(id);
    if (!p) {
      // One in-flight fetch per schema id; a failed fetch is forgotten so the next record retries it.
      p = this.fetchWriter(id);
      this.resolvers.set(id, p);
      p.then(
        (r) => this.ready.set(id, r),
        () => this.resolvers.delete(id),
      );
    }
    return p;
  }

  private async fetchWriter(id: number): Promise<avro.Type | Resolver> {
    if (id === this.schemaId) return this.type;
    let writer: avro.Type;
    try {
      writer = (await this.registry.getSchema(id)) as unknown as avro.Type;
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === 404)
        throw new VoiceloopError('DECODE', `${this.name}: schema id ${id} is unknown to the registry`, {
          cause: err,
        });
      throw wrapIo('SCHEMA_REGISTRY', `fetching schema id ${id}`, err);
    }
    if (!(writer instanceof avro.Type))
      throw new VoiceloopError('DECODE', `${this.name}: schema id ${id} is not an Avro schema`);
    try {
      return this.type.createResolver(writer);
    } catch (err) {
      throw new VoiceloopError(
        'DECODE',
        `${this.name}: writer schema id ${id} cannot be read as ${this.name}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }
}

export interface Registry {
  registry: SchemaRegistry;
  codec<K extends ContractName>(name: K): Codec<ContractTypes[K]>;
}

/**
 * How long one request to the registry may wait for its answer. Every request the client library makes
 * (registering, fetching a writer schema by id) is aborted after it, its socket closed: a registry that
 * takes a request and never answers once held a fresh clone's test for ever. With only the caller's wait
 * bounded (registerSchema), such a request still held its socket: the likely reason ab.test.ts was still
 * alive 60 s after its tests had passed in CI (2026-12-06), held by one socket to the registry.
 */
const REGISTRY_ATTEMPT_MS = 15_000;

type RegistryMiddleware = NonNullable<ConstructorParameters<typeof SchemaRegistry>[0]['middlewares']>[number];
// The CommonJS build, the one the registry client loads (the ESM build's types are declared apart).
const { TimeoutMiddleware } = createRequire(import.meta.url)('mappersmith/middleware/timeout') as {
  TimeoutMiddleware: (ms: number) => RegistryMiddleware;
};

export function createSchemaRegistry(url: string, attemptMs = REGISTRY_ATTEMPT_MS): SchemaRegistry {
  return new SchemaRegistry({
    host: url,
    retry: { retries: 3 },
    middlewares: [TimeoutMiddleware(attemptMs)],
  });
}

/** Pins the subject's compatibility level explicitly (Apicurio's ccompat answers GET /config/{subject}
 * with the global level instead of 404, so relying on first-registration defaults is unsafe). */
export async function setCompatibility(
  url: string,
  subject: string,
  level: keyof typeof COMPATIBILITY,
): Promise<void> {
  const res = await fetch(`${url}/config/${encodeURIComponent(subject)}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ compatibility: level }),
    signal: AbortSignal.timeout(REGISTRY_ATTEMPT_MS),
  });
  if (!res.ok) {
    throw new VoiceloopError(
      'SCHEMA_REGISTRY',
      `setting ${level} on ${subject}: HTTP ${res.status} ${await res.text()}`,
      {
        // 409: Apicurio's answer when the rule is being created by an earlier attempt that timed out
        // on our side; the next attempt finds it and updates it.
        canRetry: res.status >= 500 || res.status === 409,
      },
    );
  }
}

/** Registers (idempotently) one schema for a topic's value subject and returns its id. */
export async function registerSchema(
  registry: SchemaRegistry,
  url: string,
  subject: string,
  schema: object,
): Promise<number> {
  return retry(`registering ${subject}`, async () => {
    let timer: NodeJS.Timeout | undefined;
    try {
      // An attempt the registry never answers fails after REGISTRY_ATTEMPT_MS and is retried
      // (registration is idempotent): a fresh clone's test once waited for ever on one such request.
      const noAnswer = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new VoiceloopError(
                'SCHEMA_REGISTRY',
                `registering ${subject}: no answer from the registry within ${REGISTRY_ATTEMPT_MS} ms`,
                { canRetry: true },
              ),
            ),
          REGISTRY_ATTEMPT_MS,
        );
      });
      const attempt = async () => {
        await setCompatibility(url, subject, 'BACKWARD');
        const { id } = await registry.register(
          { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
          { subject, compatibility: COMPATIBILITY.BACKWARD },
        );
        return id;
      };
      return await Promise.race([attempt(), noAnswer]);
    } catch (err) {
      if (err instanceof VoiceloopError) throw err;
      const status = (err as { status?: number }).status;
      // 409 is the registry API's answer to an incompatible schema; the client library raises its own
      // error class when the subject's compatibility level is not the one asked for.
      const incompatible =
        status === 409 || (err as Error).name === 'ConfluentSchemaRegistryCompatibilityError';
      throw new VoiceloopError(
        'SCHEMA_REGISTRY',
        `registering ${subject}: ${incompatible ? 'refused as incompatible' : 'failed'}: ${(err as Error).message}`,
        { cause: err, canRetry: !incompatible && (status === undefined || status >= 500) },
      );
    } finally {
      clearTimeout(timer);
    }
  });
}

/** Registers every contract under its topic's subject and hands out codecs. */
export async function createRegistry(cfg: Readonly<Settings>): Promise<Registry> {
  const registry = createSchemaRegistry(cfg.schemaRegistry.url);
  const codecs = new Map<ContractName, Codec<unknown>>();
  const names: ContractName[] = [
    'StationSnapshot',
    'OptimizerResult',
    'ParameterChange',
    'ConfigRecord',
    'ConfigAck',
  ];
  await Promise.all(
    names.map(async (name) => {
      const subject = subjectFor(topicOf(cfg, name));
      const schema = loadSchema(name);
      const id = await registerSchema(registry, cfg.schemaRegistry.url, subject, schema);
      codecs.set(name, new Codec(name, subject, id, schema, registry));
    }),
  );
  return {
    registry,
    codec: <K extends ContractName>(name: K) => codecs.get(name) as Codec<ContractTypes[K]>,
  };
}
