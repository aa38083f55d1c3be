// The worker side of pool.ts: computes the profiles it is given (loop, yardstick, outputs to judge)
// and sends back the work; the main thread judges it.
import { parentPort } from 'node:worker_threads';
import { computeJob, type ProfileJob, type WorkerReply } from './pool.ts';

const port = parentPort;
if (!port) throw new Error('eval/worker.ts runs as a worker thread');
port.on('message', ({ job, spec }: { job: number; spec: ProfileJob }) => {
  const send = (m: WorkerReply) => port.postMessage(m);
  try {
    const work = computeJob(spec, (label) => send({ kind: 'tick', job, label }));
    send({ kind: 'done', job, work });
  } catch (err) {
    send({ kind: 'error', job, message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
