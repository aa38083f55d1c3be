// The worker side of mediaThread.ts: RTP sessions and their pacers on a thread of their own, so that
// send times and arrival times are the network's, not whenever a busy main thread gets round to them.
import { parentPort } from 'node:worker_threads';
import { payloadFormat } from './codecs.ts';
import type { ThreadRequest, ThreadSend } from './mediaThread.ts';
import { Pacer } from './pacer.ts';
import { RtpSession } from './session.ts';

const port = parentPort;
if (!port) throw new Error('mediaWorker.ts runs as a worker thread');
const sessions = new Map<number, { session: RtpSession; pacer: Pacer<ThreadSend> }>();

async function handle(m: ThreadRequest): Promise<unknown> {
  switch (m.op) {
    case 'open': {
      const { codec, payloadType, ...rest } = m.options;
      const session = await RtpSession.open({
        ...rest,
        format: payloadFormat(codec, payloadType === undefined ? {} : { payloadType }),
        onWarning: (message) => port!.postMessage({ kind: 'warning', id: m.id, message }),
      });
      const pacer = new Pacer<ThreadSend>((s) =>
        session.sendFrame(s.samples, {
          ...(s.seq !== undefined ? { seq: s.seq } : {}),
          ...(s.timestamp !== undefined ? { timestamp: s.timestamp } : {}),
        }),
      );
      session.onFrame((f) => port!.postMessage({ kind: 'frame', id: m.id, frame: f }));
      sessions.set(m.id, { session, pacer });
      return { rtpPort: session.rtpPort, frameSamples: session.frameSamples };
    }
    case 'schedule':
      sessions.get(m.id)?.pacer.schedule(m.items);
      return null;
    case 'figures':
      return sessions.get(m.id)?.session.figures(m.key) ?? null;
    case 'close': {
      const s = sessions.get(m.id);
      if (!s) return null;
      sessions.delete(m.id);
      s.pacer.stop();
      await s.session.close();
      return null;
    }
  }
}

port.on('message', (m: ThreadRequest & { seqNo: number }) => {
  handle(m).then(
    (result) => port.postMessage({ kind: 'reply', seqNo: m.seqNo, result }),
    (err: Error) => port.postMessage({ kind: 'reply', seqNo: m.seqNo, error: err.message }),
  );
});
