// Hume's streaming expression measurement (prosody model) through the `hume` SDK's stream client
// (the generated one: the SDK's convenience wrapper pins Hume's URL and wants a file), as station 11's
// emotion engine: one stream per call; each segment's output goes as a base64 WAV file in a publish
// message {"data", "models": {"prosody": {}}, "payload_id"}, and the reply's prosody predictions (one
// per stretch of speech, each with a score per emotion) give the segment's confidence: the mean over
// predictions of the top emotion's score. A "no speech" warning is no confidence (null).
//
// HUME_API_KEY selects it (EMOTION_PROVIDER=hume); HUME_URL points it elsewhere (the tests' local
// server, which speaks the documented protocol since Hume cannot be reached here).
import { randomUUID } from 'node:crypto';
import { StreamClient } from 'hume/expressionMeasurement/stream';
import { encodeWav } from '../../domain/wav.ts';
import { VoiceloopError } from '../../lib/errors.ts';
import type { StageEngine, StageMeasurement } from '../stage.ts';

export interface HumeOptions {
  apiKey: string;
  /** Base URL of the streaming API (default Hume's, wss://api.hume.ai/v0/stream). */
  url?: string | null;
  stationId?: number;
  timeoutMs?: number;
}

/** The part of a reply this adapter reads (Hume's documented shapes). */
interface Reply {
  payload_id?: string;
  prosody?: { predictions?: { emotions?: { name: string; score: number }[] }[] };
  error?: string;
  warning?: string;
  code?: string;
}

type Socket = Awaited<ReturnType<StreamClient['connect']>>;

interface CallStream {
  socket: Socket;
  waiting: Map<string, (r: Reply) => void>;
}

/** Mean over prosody predictions of the top emotion score; null when there is none. */
export function prosodyConfidence(reply: Reply): number | null {
  const tops = (reply.prosody?.predictions ?? [])
    .map((p) => Math.max(...(p.emotions ?? []).map((e) => e.score)))
    .filter((x) => Number.isFinite(x));
  return tops.length > 0 ? tops.reduce((a, b) => a + b, 0) / tops.length : null;
}

export function createHumeEmotionStage(opts: HumeOptions): StageEngine {
  const client = new StreamClient(opts.url ? { baseUrl: opts.url } : {});
  const calls = new Map<string, Promise<CallStream>>();

  const open = async (): Promise<CallStream> => {
    const socket = await client.connect({
      'X-Hume-Api-Key': opts.apiKey,
      reconnectAttempts: 0,
    });
    const waiting = new Map<string, (r: Reply) => void>();
    socket.on('message', (m) => {
      const r = m as unknown as Reply;
      const id = r.payload_id ?? (m as { payloadId?: string }).payloadId;
      const w = id === undefined ? undefined : waiting.get(id);
      if (w && id !== undefined) {
        waiting.delete(id);
        w(r);
      } else if (waiting.size === 1) {
        // An error for a payload may come without its id: it answers the one request in flight.
        const [[only, cb]] = [...waiting.entries()] as [[string, (r: Reply) => void]];
        waiting.delete(only);
        cb(r);
      }
    });
    socket.on('close', () => {
      for (const cb of waiting.values()) cb({ error: 'stream closed', code: 'closed' });
      waiting.clear();
    });
    socket.connect();
    await socket.waitForOpen();
    return { socket, waiting };
  };

  return {
    stationId: opts.stationId ?? 11,
    async measure(ctx): Promise<StageMeasurement> {
      let stream = calls.get(ctx.callKey);
      if (!stream) {
        stream = open();
        calls.set(ctx.callKey, stream);
      }
      const s = await stream.catch((err: unknown) => {
        calls.delete(ctx.callKey);
        throw new VoiceloopError('ENGINE', `hume: could not open the stream: ${(err as Error).message}`, {
          canRetry: true,
          cause: err,
        });
      });
      const payloadId = randomUUID();
      const reply = await new Promise<Reply>((resolve, reject) => {
        const timer = setTimeout(() => {
          s.waiting.delete(payloadId);
          reject(
            new VoiceloopError('TIMEOUT', `hume: no reply within ${opts.timeoutMs ?? 15000} ms`, {
              canRetry: true,
            }),
          );
        }, opts.timeoutMs ?? 15_000);
        s.waiting.set(payloadId, (r) => {
          clearTimeout(timer);
          resolve(r);
        });
        s.socket.sendPublish({
          data: encodeWav(ctx.output, ctx.input.sampleRate).toString('base64'),
          models: { prosody: {} },
          payloadId,
        });
      });
      if (reply.error !== undefined) {
        throw new VoiceloopError('ENGINE', `hume: ${reply.error} (${reply.code ?? 'no code'})`, {
          canRetry: true,
        });
      }
      return {
        metrics: { emotion_confidence: reply.warning !== undefined ? null : prosodyConfidence(reply) },
        labels: {
          emotion_source: 'hume',
          ...(reply.warning ? { emotion_warning: reply.code ?? 'warning' } : {}),
        },
      };
    },
    endCall(callKey) {
      const s = calls.get(callKey);
      calls.delete(callKey);
      s?.then((x) => x.socket.close()).catch(() => {});
    },
    async close() {
      const all = [...calls.values()];
      calls.clear();
      await Promise.all(all.map((p) => p.then((x) => x.socket.close()).catch(() => {})));
    },
  };
}
