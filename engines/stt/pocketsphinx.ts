// pocketsphinx (Debian's python3-pocketsphinx and pocketsphinx-en-us) behind the STT interface: one
// long-running worker process (pocketsphinx_worker.py) holds the loaded model and decodes one
// utterance at a time, so an utterance costs its decode, not the 0.5 s model load.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { resample } from '../../audio/dsp/resampler.ts';
import { toPcm16 } from '../../domain/pcm.ts';
import { VoiceloopError } from '../../lib/errors.ts';
import { DEBIAN_PYTHON, POCKETSPHINX_MODEL_DIR } from '../debian.ts';
import type { Recognition, SpeechRecognizer } from './types.ts';

/** The en-us acoustic model is wideband: everything is decoded at 16 kHz. */
export const POCKETSPHINX_RATE = 16000;

interface WorkerReply {
  id: string;
  error?: string;
  text?: string;
  words?: { word: string; start_ms: number; end_ms: number; confidence: number }[];
  confidence?: number | null;
  decode_ms?: number;
}

export interface PocketsphinxOptions {
  python?: string;
  modelDir?: string;
  /** Rate the decoder is fed at (its -samprate); default 16 kHz, the model's own. */
  rate?: number;
  /** Further decoder options, passed through to the worker. */
  decoder?: Record<string, boolean | number | string>;
}

export function createPocketsphinx(opts: PocketsphinxOptions = {}): SpeechRecognizer {
  let child: ChildProcessWithoutNullStreams | undefined;
  let ready: Promise<void> | undefined;
  let stderr = '';
  let next = 0;
  const waiting = new Map<string, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();

  const failAll = (err: Error) => {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };

  const start = (): Promise<void> => {
    const script = join(import.meta.dirname, 'pocketsphinx_worker.py');
    const c = spawn(
      opts.python ?? DEBIAN_PYTHON,
      [script, opts.modelDir ?? POCKETSPHINX_MODEL_DIR, JSON.stringify(opts.decoder ?? {})],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    child = c;
    c.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    return new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: c.stdout });
      lines.on('line', (line) => {
        const msg = JSON.parse(line) as WorkerReply & { ready?: boolean };
        if (msg.ready) return resolve();
        const w = waiting.get(msg.id);
        waiting.delete(msg.id);
        w?.resolve(msg);
      });
      const died = (why: string) => {
        const err = new VoiceloopError(
          'ENGINE',
          `pocketsphinx worker ${why}: ${stderr.trim() || 'no output'}`,
        );
        child = undefined;
        ready = undefined;
        reject(err);
        failAll(err);
      };
      c.on('error', (e) => died(`could not start (${e.message})`));
      c.on('exit', (code, signal) => died(`exited (${signal ?? code})`));
    });
  };

  return {
    name: 'pocketsphinx',
    async recognize(samples, sampleRate) {
      ready ??= start();
      await ready;
      const pcm = toPcm16(
        sampleRate === POCKETSPHINX_RATE ? samples : resample(samples, sampleRate, POCKETSPHINX_RATE),
      );
      const id = String(next++);
      const t0 = performance.now();
      const reply = await new Promise<WorkerReply>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        child!.stdin.write(`${JSON.stringify({ id, bytes: pcm.length })}\n`);
        child!.stdin.write(pcm);
      });
      if (reply.error !== undefined) throw new VoiceloopError('ENGINE', `pocketsphinx: ${reply.error}`);
      const result: Recognition = {
        text: reply.text ?? '',
        words: (reply.words ?? []).map((w) => ({
          word: w.word,
          startMs: w.start_ms,
          endMs: w.end_ms,
          confidence: w.confidence,
        })),
        confidence: reply.confidence ?? null,
        elapsedMs: performance.now() - t0,
      };
      return result;
    },
    async close() {
      const c = child;
      if (!c) return;
      child = undefined;
      ready = undefined;
      await new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.stdin.end();
      });
    },
  };
}
