// The batch optimizer role as a service: `start` records the run and returns its id at once (the API
// answers 202 with it), the run goes on in the background, and its row shows progress until it ends
// completed, failed (with the error) or stopped (shutdown). `stop` aborts running runs and waits
// for them to record that. Same shape as the other roles: startBatchRunner(deps, options) resolves to
// { state, stop(), done } plus `submit` and `result`.
import { randomUUID } from 'node:crypto';
import { VoiceloopError } from '../../lib/errors.ts';
import { createLifecycle, type Role } from '../../lib/lifecycle.ts';
import type { BatchProgress } from './progress.ts';
import type { BatchResult } from './report.ts';
import type { BatchRequest } from './request.ts';
import { type BatchDeps, executeBatch } from './run.ts';
import { endRun, insertRun } from './store.ts';

export interface BatchRunner extends Role {
  /** Records the run and starts it; resolves with its id as soon as the row exists. */
  submit(req: BatchRequest, actor: string, hooks?: { onProgress?(p: BatchProgress): void }): Promise<string>;
  /** Resolves when the run ends (its result, or rejects with why it did not complete). */
  result(runId: string): Promise<BatchResult>;
  readonly running: number;
}

export interface BatchRunnerOptions {
  /** Runs at once per process; each holds a CPU core while it re-processes audio (default 2). */
  maxConcurrent?: number;
}

export async function startBatchRunner(deps: BatchDeps, opts: BatchRunnerOptions = {}): Promise<BatchRunner> {
  const max = opts.maxConcurrent ?? 2;
  const runs = new Map<string, { abort: AbortController; done: Promise<BatchResult> }>();
  const finished = new Map<string, Promise<BatchResult>>();
  const lc = createLifecycle(async () => {
    for (const r of runs.values()) r.abort.abort(new Error('batch optimizer stopping'));
    await Promise.allSettled([...runs.values()].map((r) => r.done));
    // The reference guard's sidecar, if a run opened it.
    await deps.quality?.close();
  });
  lc.running();
  return lc.role<Omit<BatchRunner, keyof Role>>({
    get running() {
      return runs.size;
    },
    async submit(req, actor, hooks = {}) {
      if (lc.state !== 'running')
        throw new VoiceloopError('CONFLICT', 'the batch optimizer is shutting down');
      if (runs.size >= max) {
        throw new VoiceloopError(
          'CONFLICT',
          `${runs.size} batch run(s) already running (${[...runs.keys()].join(', ')}); at most ${max} at once — retry when one ends`,
        );
      }
      const runId = randomUUID();
      let last: BatchProgress | null = null;
      await insertRun(deps.pool, deps.changes.stream, {
        runId,
        request: req,
        actor,
        progress: { phase: 'starting', percent: 0 },
      });
      const abort = new AbortController();
      const done = executeBatch(deps, req, runId, {
        signal: abort.signal,
        onProgress: (p) => {
          last = p;
          hooks.onProgress?.(p);
        },
      }).catch(async (err: unknown) => {
        const stopped = abort.signal.aborted;
        const msg = stopped ? 'stopped: the process is shutting down' : (err as Error).message;
        deps.log.warn(
          { run: runId, err: (err as Error).message },
          stopped ? 'batch run stopped' : 'batch run failed',
        );
        await endRun(deps.pool, runId, stopped ? 'stopped' : 'failed', msg, {
          ...(last ?? {}),
          phase: stopped ? 'stopped' : 'failed',
          message: msg,
          updated_at: new Date().toISOString(),
        }).catch((e) =>
          deps.log.error({ run: runId, err: (e as Error).message }, 'batch run end not recorded'),
        );
        throw err;
      });
      // The caller may never wait; the failure is recorded on the row, so it is not unhandled here.
      done.catch(() => {});
      runs.set(runId, { abort, done });
      finished.set(runId, done);
      done.finally(() => runs.delete(runId)).catch(() => {});
      return runId;
    },
    result(runId) {
      const p = finished.get(runId);
      if (!p)
        return Promise.reject(new VoiceloopError('NOT_FOUND', `batch run ${runId} was not started here`));
      return p;
    },
  });
}
