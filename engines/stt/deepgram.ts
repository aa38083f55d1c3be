// Deepgram live streaming (Listen v1 WebSocket) through @deepgram/sdk behind the STT interface. Each
// utterance is one stream: linear16 audio in 100 ms messages, then CloseStream; Deepgram answers with
// Results messages (is_final ones carry the words with their confidences) and closes. The utterance's
// words are the final results' words; its confidence their mean.
//
// DEEPGRAM_API_KEY selects it (STT_PROVIDER=deepgram); DEEPGRAM_URL points it elsewhere (a gateway, or
// the tests' local server, which speaks the documented protocol since Deepgram cannot be reached here).
import { DeepgramClient } from '@deepgram/sdk';
import { toPcm16 } from '../../domain/pcm.ts';
import { VoiceloopError } from '../../lib/errors.ts';
import type { Recognition, RecognizedWord, SpeechRecognizer } from './types.ts';

export interface DeepgramOptions {
  apiKey: string;
  /** Base URL of the live API (default: Deepgram's production endpoint). */
  url?: string | null;
  model?: string;
  /** Give up on an utterance after this long, ms. */
  timeoutMs?: number;
}

/** The part of a Listen v1 Results message this adapter reads (Deepgram's documented shape). */
interface ResultsMessage {
  type: 'Results';
  is_final?: boolean;
  channel?: {
    alternatives?: {
      transcript?: string;
      confidence?: number;
      words?: { word: string; start: number; end: number; confidence: number }[];
    }[];
  };
}

const CHUNK_MS = 100;

export function createDeepgram(opts: DeepgramOptions): SpeechRecognizer {
  const client = new DeepgramClient({
    apiKey: opts.apiKey,
    reconnect: false,
    ...(opts.url ? { baseUrl: opts.url } : {}),
  });
  return {
    name: 'deepgram',
    async recognize(samples, sampleRate): Promise<Recognition> {
      const socket = await client.listen.v1.connect({
        model: opts.model ?? 'nova-3',
        encoding: 'linear16',
        sample_rate: sampleRate,
        channels: 1,
        interim_results: 'false',
        reconnectAttempts: 0,
        Authorization: `Token ${opts.apiKey}`,
      });
      const words: RecognizedWord[] = [];
      const texts: string[] = [];
      let sentAt = 0;
      const done = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(
            new VoiceloopError('TIMEOUT', `deepgram: no close within ${opts.timeoutMs ?? 15000} ms`, {
              canRetry: true,
            }),
          );
          socket.close();
        }, opts.timeoutMs ?? 15_000);
        socket.on('message', (msg) => {
          const m = msg as unknown as ResultsMessage;
          if (m.type !== 'Results' || m.is_final !== true) return;
          const alt = m.channel?.alternatives?.[0];
          if (!alt) return;
          if (alt.transcript) texts.push(alt.transcript);
          for (const w of alt.words ?? []) {
            words.push({
              word: w.word,
              startMs: w.start * 1000,
              endMs: w.end * 1000,
              confidence: w.confidence,
            });
          }
        });
        socket.on('error', (err) => {
          clearTimeout(timer);
          reject(
            new VoiceloopError('ENGINE', `deepgram: ${(err as Error).message ?? String(err)}`, {
              canRetry: true,
              cause: err,
            }),
          );
        });
        socket.on('close', (ev) => {
          clearTimeout(timer);
          // Deepgram closes with 1000 after the last result; anything else (a refused key: 1008) is a failure.
          if (ev.code === 1000) resolve();
          else
            reject(
              new VoiceloopError(
                'ENGINE',
                `deepgram closed the stream: ${ev.code} ${ev.reason || ''}`.trim(),
                {
                  canRetry: ev.code !== 1008,
                },
              ),
            );
        });
      });
      done.catch(() => {});
      socket.connect();
      await socket.waitForOpen();
      const pcm = toPcm16(samples);
      const step = Math.round((sampleRate * CHUNK_MS) / 1000) * 2;
      try {
        for (let at = 0; at < pcm.length; at += step) socket.sendMedia(pcm.subarray(at, at + step));
        socket.sendCloseStream({ type: 'CloseStream' });
      } catch (err) {
        // The socket closed under us (e.g. the key was refused): its close reason says why.
        await done;
        throw new VoiceloopError('ENGINE', `deepgram: ${(err as Error).message}`, { cause: err });
      }
      sentAt = performance.now();
      await done;
      return {
        text: texts.join(' '),
        words,
        confidence: words.length > 0 ? words.reduce((a, w) => a + w.confidence, 0) / words.length : null,
        elapsedMs: performance.now() - sentAt,
      };
    },
    close: async () => {},
  };
}
