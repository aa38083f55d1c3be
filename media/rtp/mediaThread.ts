// RTP sessions on a worker thread (mediaWorker.ts). A process that also runs DSP, Kafka clients and
// an optimizer blocks its event loop for tens of milliseconds at a time; a socket read there would
// stamp packets with when the loop got free, and a timer there would send them in bursts. On its own
// thread the session stamps arrivals and paces sends as the network would, and hands frames over.
import { startTsWorker } from '../../lib/tsWorker.ts';
import type { CodecName } from './codecs.ts';
import type { UdpEndpoint } from './ports.ts';
import type { ReceivedFrame, ReceptionFigures } from './session.ts';

export interface ThreadSessionOptions {
  listen: UdpEndpoint;
  codec: CodecName;
  payloadType?: number;
  remote?: UdpEndpoint;
  rtcpIntervalMs?: number;
  pathDelayMs?: number;
}

/** One packet to send at `dueMs` (ms on the wall clock); seq/timestamp override the session's own. */
export interface ThreadSend {
  samples: Float32Array;
  seq?: number;
  timestamp?: number;
}

export type ThreadRequest =
  | { op: 'open'; id: number; options: ThreadSessionOptions }
  | { op: 'schedule'; id: number; items: { dueMs: number; item: ThreadSend }[] }
  | { op: 'figures'; id: number; key: string }
  | { op: 'close'; id: number };

type WorkerMessage =
  | { kind: 'reply'; seqNo: number; result?: unknown; error?: string }
  | { kind: 'frame'; id: number; frame: ReceivedFrame }
  | { kind: 'warning'; id: number; message: string };

export interface ThreadSession {
  readonly rtpPort: number;
  readonly frameSamples: number;
  onFrame(f: (frame: ReceivedFrame) => void): void;
  /** Sends each item at its due time (wall-clock ms), paced on the media thread. */
  schedule(items: { dueMs: number; item: ThreadSend }[]): void;
  figures(key: string): Promise<ReceptionFigures | null>;
  close(): Promise<void>;
}

export interface MediaThread {
  open(options: ThreadSessionOptions): Promise<ThreadSession>;
  stop(): Promise<void>;
}

export function startMediaThread(onWarning: (message: string) => void = () => {}): MediaThread {
  const worker = startTsWorker(new URL('./mediaWorker.ts', import.meta.url));
  worker.unref();
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const frameListeners = new Map<number, ((f: ReceivedFrame) => void)[]>();
  let seqNo = 0;
  let nextId = 1;
  let failed: Error | null = null;
  worker.on('message', (m: WorkerMessage) => {
    if (m.kind === 'frame') for (const f of frameListeners.get(m.id) ?? []) f(m.frame);
    else if (m.kind === 'warning') onWarning(m.message);
    else {
      const p = pending.get(m.seqNo);
      pending.delete(m.seqNo);
      if (m.error !== undefined) p?.reject(new Error(m.error));
      else p?.resolve(m.result);
    }
  });
  worker.on('error', (err) => {
    failed = err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  });
  const call = <T>(req: ThreadRequest): Promise<T> => {
    if (failed) return Promise.reject(failed);
    const n = seqNo++;
    return new Promise<T>((resolve, reject) => {
      pending.set(n, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ ...req, seqNo: n });
    });
  };
  return {
    async open(options) {
      const id = nextId++;
      frameListeners.set(id, []);
      const r = await call<{ rtpPort: number; frameSamples: number }>({ op: 'open', id, options });
      return {
        rtpPort: r.rtpPort,
        frameSamples: r.frameSamples,
        onFrame: (f) => frameListeners.get(id)?.push(f),
        schedule: (items) => {
          if (items.length > 0) void call({ op: 'schedule', id, items }).catch(() => {});
        },
        figures: (key) => call<ReceptionFigures | null>({ op: 'figures', id, key }),
        close: async () => {
          await call({ op: 'close', id });
          frameListeners.delete(id);
        },
      };
    },
    async stop() {
      await worker.terminate();
    },
  };
}
