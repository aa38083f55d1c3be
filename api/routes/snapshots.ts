// POST /v1/stations/snapshot: a station (or a tool acting for one) hands over one snapshot as JSON,
// with its PCM inline (base64) or already uploaded (storage_key). Everything is checked before anything
// is written; 202 means the snapshot is on Kafka (acks=all) and will be persisted.
import type { FastifyPluginAsync } from 'fastify';
import type { StationSnapshot } from '../../contracts/generated.ts';
import { contractJsonSchema, type JsonSchema } from '../../contracts/jsonSchema.ts';
import {
  buildSnapshot,
  type CapturedWindow,
  checkAudioRef,
  checkSnapshot,
  SAMPLE_RATES,
  type SnapshotInput,
} from '../../domain/snapshot.ts';
import { type ErrorDetail, VoiceloopError, validationError } from '../../lib/errors.ts';
import type { SendQueue } from '../../producers/sendQueue.ts';
import {
  checkPcm,
  type Pcm,
  type PreparedRecord,
  type StationProducer,
} from '../../producers/stationProducer.ts';
import type { AudioStore } from '../../storage/audioStore.ts';
import { assertTenant, requireRole } from '../auth.ts';

export interface SnapshotRouteDeps {
  producer: StationProducer;
  audio: AudioStore;
  maxPcmBytes: number;
  tokenSecret: string;
  /** Bounded, coalescing path to Kafka: 503 at once when full or when Kafka does not answer. */
  queue: SendQueue<PreparedRecord>;
  /** captured_at must fall within this window of now (400 otherwise). */
  capturedWindow: CapturedWindow;
}

interface AudioBody {
  pcm_base64?: string;
  storage_key?: string;
  sample_rate: number;
  format?: string;
  channels?: number;
  duration_ms?: number;
  sha256?: string;
  size_bytes?: number;
}

export function snapshotBodySchema(): JsonSchema {
  const base = contractJsonSchema('StationSnapshot') as {
    properties: Record<string, JsonSchema>;
    required: string[];
  };
  const properties = { ...base.properties };
  // Targets default per field (DESIGN §5); the whole record may be omitted.
  properties.targets = { ...properties.targets, default: {} };
  properties.audio = {
    description:
      'Either pcm_base64 (PCM s16le mono, base64) or an already uploaded storage_key with its sha256 and size_bytes.',
    type: 'object',
    additionalProperties: false,
    required: ['sample_rate'],
    properties: {
      pcm_base64: { type: 'string' },
      storage_key: { type: 'string' },
      sample_rate: { type: 'integer', enum: [...SAMPLE_RATES] },
      format: { type: 'string', enum: ['pcm_s16le'] },
      channels: { type: 'integer', enum: [1] },
      duration_ms: { type: 'integer', minimum: 1 },
      sha256: { type: 'string' },
      size_bytes: { type: 'integer', minimum: 1 },
    },
  };
  return {
    ...base,
    properties,
    required: base.required.filter(
      (f) => !['snapshot_id', 'captured_at', 'schema_version', 'targets'].includes(f),
    ),
  };
}

const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function decodePcm(audio: AudioBody, maxBytes: number): Pcm {
  const text = audio.pcm_base64!;
  // Buffer.from(.., 'base64') silently skips invalid characters; a strict check keeps bad audio out.
  if (!B64_RE.test(text))
    throw validationError('audio.pcm_base64 is not valid base64', [
      { field: 'audio.pcm_base64', reason: 'is not valid base64' },
    ]);
  if ((text.length / 4) * 3 > maxBytes + 3) {
    throw validationError(`audio.pcm_base64 decodes to more than ${maxBytes} bytes`, [
      { field: 'audio.pcm_base64', reason: `decodes to more than the ${maxBytes}-byte limit` },
    ]);
  }
  const pcm = { bytes: Buffer.from(text, 'base64'), sampleRate: audio.sample_rate };
  checkPcm(pcm, maxBytes);
  return pcm;
}

export const snapshotRoutes: FastifyPluginAsync<SnapshotRouteDeps> = async (app, deps) => {
  app.post<{ Body: SnapshotInput & { audio?: AudioBody } }>(
    '/v1/stations/snapshot',
    {
      preHandler: requireRole(deps.tokenSecret, 'station', 'operator'),
      // The PCM limit is enforced with a precise 400 below; the body limit only stops absurd requests.
      bodyLimit: Math.ceil(deps.maxPcmBytes * 1.5) + 1024 * 1024,
      schema: {
        summary: 'Submit one station snapshot',
        body: snapshotBodySchema(),
        response: {
          202: {
            type: 'object',
            properties: { snapshot_id: { type: 'string' }, storage_key: { type: ['string', 'null'] } },
          },
        },
      },
    },
    async (req, reply) => {
      const body = req.body;
      assertTenant(req, body.tenant_id);
      const audioBody = body.audio;
      const snap: StationSnapshot = buildSnapshot({ ...body, audio: null });
      const problems: ErrorDetail[] = checkSnapshot(snap, Date.now(), deps.capturedWindow);
      let pcm: Pcm | undefined;
      if (audioBody) {
        const inline = audioBody.pcm_base64 !== undefined;
        const ref = audioBody.storage_key !== undefined;
        if (inline === ref) {
          problems.push({ field: 'audio', reason: 'give exactly one of pcm_base64 or storage_key' });
        } else if (inline) {
          try {
            pcm = decodePcm(audioBody, deps.maxPcmBytes);
          } catch (err) {
            problems.push(...((err as { details?: ErrorDetail[] }).details ?? []));
          }
        } else {
          const refProblems: ErrorDetail[] = [];
          if (!audioBody.sha256)
            refProblems.push({ field: 'audio.sha256', reason: 'is required with storage_key' });
          if (!audioBody.size_bytes)
            refProblems.push({ field: 'audio.size_bytes', reason: 'is required with storage_key' });
          if (refProblems.length === 0) {
            snap.audio = {
              storage_key: audioBody.storage_key!,
              format: audioBody.format ?? 'pcm_s16le',
              sample_rate: audioBody.sample_rate,
              channels: audioBody.channels ?? 1,
              duration_ms:
                audioBody.duration_ms ??
                Math.round((audioBody.size_bytes! / 2 / audioBody.sample_rate) * 1000),
              sha256: audioBody.sha256!,
              size_bytes: audioBody.size_bytes!,
            };
            refProblems.push(...checkAudioRef(snap.audio, snap.tenant_id));
            if (refProblems.length === 0 && !(await deps.audio.exists(snap.audio.storage_key))) {
              refProblems.push({ field: 'audio.storage_key', reason: 'no such object in the audio store' });
            }
          }
          problems.push(...refProblems);
        }
      }
      if (problems.length > 0) {
        throw validationError(
          `invalid snapshot: ${problems.map((p) => `${p.field} ${p.reason}`).join('; ')}`,
          problems,
        );
      }
      // Encoded once, here: the queue sends these bytes (issue 11).
      const prepared = await deps.producer.prepareRecord({ ...snap, audio: snap.audio }, pcm);
      try {
        await deps.queue.push(prepared);
      } catch (err) {
        if (!(err instanceof VoiceloopError) || !err.canRetry) throw err;
        // The id goes back so a retry is recognised as the same snapshot (one row, however many tries).
        throw new VoiceloopError('KAFKA', `${err.message} (snapshot_id ${prepared.snapshot_id})`, {
          canRetry: true,
          cause: err,
          details: [{ field: 'snapshot_id', reason: prepared.snapshot_id }],
        });
      }
      return reply.status(202).send({ snapshot_id: prepared.snapshot_id, storage_key: prepared.storage_key });
    },
  );
};
