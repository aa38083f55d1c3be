// The station producer library (DESIGN §3): PCM to the object store under its content hash, then the
// snapshot to Kafka keyed by call_id, through an idempotent producer with acks=all. The snapshot is
// checked before anything is written, so bad input leaves no object and no record behind.

import { context, trace } from '@opentelemetry/api';
import type { Kafka, Message, Producer } from 'kafkajs';
import type { StationSnapshot } from '../contracts/generated.ts';
import {
  audioRefFor,
  buildSnapshot,
  checkSnapshot,
  SAMPLE_RATES,
  type SnapshotInput,
} from '../domain/snapshot.ts';
import { type VoiceloopError, validationError, wrapIo } from '../lib/errors.ts';
import type { Metrics } from '../lib/metrics.ts';
import { endSpan, injectTrace, type Span, SpanKind, startSpan } from '../lib/tracing.ts';
import type { AudioStore } from '../storage/audioStore.ts';
import { createProducer } from '../streams/kafka.ts';
import type { Codec } from '../streams/registry.ts';
import { SendQueue } from './sendQueue.ts';

export interface Pcm {
  /** Signed 16-bit little-endian mono samples. */
  bytes: Uint8Array;
  sampleRate: number;
}

export interface StationProducerDeps {
  kafka: Kafka;
  codec: Codec<StationSnapshot>;
  audio: AudioStore;
  topic: string;
  metrics?: Metrics;
  maxPcmBytes?: number;
  source?: string;
}

export interface StationProducer {
  /** Validates, uploads the PCM (if any), publishes; resolves once Kafka has acknowledged (acks=all). */
  publish(input: SnapshotInput, pcm?: Pcm): Promise<StationSnapshot>;
  /** Prepares a snapshot (validation + upload) without sending: for callers that batch sends. */
  prepare(input: SnapshotInput, pcm?: Pcm): Promise<StationSnapshot>;
  /** Sends prepared snapshots in one request. */
  sendAll(snapshots: StationSnapshot[]): Promise<void>;
  /** prepare(), keeping the Avro bytes it encoded: for a caller that sends them later (the API). */
  prepareRecord(input: SnapshotInput, pcm?: Pcm): Promise<PreparedRecord>;
  /** sendAll() of prepared records: their bytes as encoded by prepareRecord(), not encoded again. */
  sendRecords(records: readonly PreparedRecord[]): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A snapshot encoded and ready to send (issue 11: the API encoded each snapshot twice, once in prepare()
 * as the check and again in sendAll()). Frozen, and it holds no snapshot object, only what was read from
 * it when it was encoded: nothing can change the snapshot behind the bytes, so they cannot go stale.
 * (A Buffer cannot be frozen: `value` is the record's, not to be written to.)
 */
export interface PreparedRecord {
  readonly snapshot_id: string;
  readonly call_id: string;
  readonly station_id: number;
  readonly storage_key: string | null;
  /** The Avro value sent (registry header and body). */
  readonly value: Buffer;
}

type Sendable = Pick<StationSnapshot, 'snapshot_id' | 'call_id' | 'station_id'>;

function recordOf(s: StationSnapshot, value: Buffer): PreparedRecord {
  return Object.freeze({
    snapshot_id: s.snapshot_id,
    call_id: s.call_id,
    station_id: s.station_id,
    storage_key: s.audio?.storage_key ?? null,
    value,
  });
}

// One outgoing record: encoded, with its span started, when its caller hands it over, so encoding
// overlaps the request on the wire and the span covers the wait for the next send.
interface Outgoing {
  message: Message;
  span: Span;
}

// Coalesced sends stay well under the broker's default message.max.bytes (1 MiB per record batch), so
// joining groups never makes a request the broker refuses; a single larger sendAll still goes alone.
const COALESCED_BYTES_MAX = 512 * 1024;

export function checkPcm(pcm: Pcm, maxBytes: number): void {
  const problems = [];
  if (pcm.bytes.byteLength === 0) problems.push({ field: 'audio.pcm', reason: 'is empty' });
  if (pcm.bytes.byteLength % 2 !== 0)
    problems.push({ field: 'audio.pcm', reason: 'has an odd byte count; 16-bit samples take 2 bytes' });
  if (pcm.bytes.byteLength > maxBytes)
    problems.push({
      field: 'audio.pcm',
      reason: `is ${pcm.bytes.byteLength} bytes, over the ${maxBytes}-byte limit`,
    });
  if (!(SAMPLE_RATES as readonly number[]).includes(pcm.sampleRate)) {
    problems.push({ field: 'audio.sample_rate', reason: `must be one of ${SAMPLE_RATES.join(', ')}` });
  }
  if (problems.length > 0)
    throw validationError(
      `invalid PCM: ${problems.map((p) => `${p.field} ${p.reason}`).join('; ')}`,
      problems,
    );
}

export async function createStationProducer(deps: StationProducerDeps): Promise<StationProducer> {
  const maxPcmBytes = deps.maxPcmBytes ?? 4 * 1024 * 1024;
  const source = deps.source ?? 'producer';
  // kafkajs deduplicates retried sends only with one request in flight and awaited sends.
  const producer: Producer = createProducer(deps.kafka);
  try {
    await producer.connect();
  } catch (err) {
    throw wrapIo('KAFKA', 'connecting the station producer', err);
  }

  // The snapshot and, when no PCM was uploaded (so nothing changed after encoding), its encoded bytes:
  // publish() sends those instead of encoding the same snapshot a second time. `encodeAfterUpload`
  // encodes the snapshot with its audio reference too (prepareRecord: the encoding then replaces the
  // one sendAll would do, so a snapshot with PCM is still encoded once).
  async function prepareEncoded(
    input: SnapshotInput,
    pcm?: Pcm,
    encodeAfterUpload = false,
  ): Promise<{ snap: StationSnapshot; bytes?: Buffer }> {
    const snap = buildSnapshot(input);
    const problems = checkSnapshot(snap);
    if (pcm) {
      try {
        checkPcm(pcm, maxPcmBytes);
      } catch (err) {
        problems.push(...(err as VoiceloopError).details);
      }
    }
    if (problems.length > 0) {
      throw validationError(
        `invalid snapshot: ${problems.map((p) => `${p.field} ${p.reason}`).join('; ')}`,
        problems,
      );
    }
    // Type-check against the Avro schema before touching the object store.
    if (!pcm) return { snap, bytes: deps.codec.encode(snap) };
    deps.codec.check(snap);
    const stored = await deps.audio.put(snap.tenant_id, pcm.bytes);
    if (stored.created) deps.metrics?.audioUploaded.inc(stored.size_bytes);
    snap.audio = audioRefFor(stored, pcm.sampleRate);
    return encodeAfterUpload ? { snap, bytes: deps.codec.encode(snap) } : { snap };
  }

  function outgoing(s: Sendable, value: Buffer): Outgoing {
    // One span per snapshot: each starts the trace of what the snapshot causes downstream.
    const span = startSpan('snapshot publish', {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.destination.name': deps.topic,
        'voiceloop.station': s.station_id,
        'voiceloop.snapshot_id': s.snapshot_id,
      },
    });
    const message = {
      key: s.call_id,
      value,
      headers: injectTrace({ 'snapshot-id': s.snapshot_id }, trace.setSpan(context.active(), span)),
    };
    return { message, span };
  }

  async function send(batch: Outgoing[]): Promise<void> {
    try {
      await producer.send({ topic: deps.topic, acks: -1, messages: batch.map((o) => o.message) });
    } catch (err) {
      for (const o of batch) endSpan(o.span, err);
      throw wrapIo('KAFKA', `publishing ${batch.length} snapshot(s) to ${deps.topic}`, err);
    }
    for (const o of batch) endSpan(o.span);
    deps.metrics?.snapshotsPublished.inc({ source }, batch.length);
  }

  // Coalescing (issue 11): the idempotent producer keeps one request in flight, so what is published
  // or handed to sendAll while a send is on the wire goes out together in the next one, in the order
  // handed over (a call's snapshots share a key and so a partition: their order is kept). A sendAll
  // batch is one group: never split, sent in one request, acknowledged or failed as one. No bound and
  // no timeout here: the agent's spool (producers/spool.ts) and the API's own queue bound the wait.
  const queue = new SendQueue<Outgoing>({
    send,
    bytesOf: (o) => (o.message.value as Buffer).length,
    batchMaxBytes: COALESCED_BYTES_MAX,
  });

  async function sendAll(snapshots: readonly StationSnapshot[]): Promise<void> {
    if (snapshots.length === 0) return;
    const batch: Outgoing[] = [];
    try {
      for (const s of snapshots) batch.push(outgoing(s, deps.codec.encode(s)));
    } catch (err) {
      // A snapshot that does not encode fails the whole batch before any of it is queued.
      for (const o of batch) endSpan(o.span, err);
      throw err;
    }
    await queue.pushAll(batch);
  }

  return {
    prepare: async (input, pcm) => (await prepareEncoded(input, pcm)).snap,
    sendAll,
    async prepareRecord(input, pcm) {
      const { snap, bytes } = await prepareEncoded(input, pcm, true);
      return recordOf(snap, bytes!);
    },
    async sendRecords(records) {
      // Nothing to encode, so nothing can fail before the group is queued.
      await queue.pushAll(records.map((r) => outgoing(r, r.value)));
    },
    async publish(input, pcm) {
      const { snap, bytes } = await prepareEncoded(input, pcm);
      await queue.push(outgoing(snap, bytes ?? deps.codec.encode(snap)));
      return snap;
    },
    async stop() {
      await producer.disconnect().catch(() => {});
    },
  };
}
