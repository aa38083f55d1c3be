// A batch run's progress, as GET /v1/optimizer/runs/:id and the CLI show it: the phase, an overall
// percentage, and the counters of the phase. Saved to the run row at most every SAVE_EVERY_MS (a
// replay reports per fetched batch; writing each would load the database for nothing), always on flush.
import type { Logger } from '../../lib/log.ts';

export type BatchPhase =
  | 'starting'
  | 'replay'
  | 'learn'
  | 'verify'
  | 'saving'
  | 'done'
  | 'failed'
  | 'stopped';

export interface BatchProgress {
  phase: BatchPhase;
  /** 0..100 over the whole run: replay 0-30, learning and verification 30-98, saving the rest. */
  percent: number;
  replay: {
    records_total: number;
    read: number;
    in_scope: number;
    partitions: number;
    partitions_done: number;
    snapshots_per_s: number;
  };
  learn: {
    groups_total: number;
    groups_done: number;
    group: string | null;
    evaluations: number;
    budget: number;
    best_score: number | null;
  };
  message: string;
  updated_at: string;
}

export function initialProgress(): BatchProgress {
  return {
    phase: 'starting',
    percent: 0,
    replay: { records_total: 0, read: 0, in_scope: 0, partitions: 0, partitions_done: 0, snapshots_per_s: 0 },
    learn: { groups_total: 0, groups_done: 0, group: null, evaluations: 0, budget: 0, best_score: null },
    message: 'starting',
    updated_at: new Date().toISOString(),
  };
}

const SAVE_EVERY_MS = 400;
export const REPLAY_SHARE = 30;
export const LEARN_END = 98;

export class ProgressReporter {
  readonly state: BatchProgress = initialProgress();
  private lastSave = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly save: (p: BatchProgress) => Promise<void>,
    private readonly log: Logger,
    private readonly listener?: (p: BatchProgress) => void,
  ) {}

  update(fn: (p: BatchProgress) => void): void {
    fn(this.state);
    this.state.percent = Math.max(0, Math.min(100, Math.round(this.state.percent * 10) / 10));
    this.state.updated_at = new Date().toISOString();
    this.listener?.(this.state);
    if (Date.now() - this.lastSave >= SAVE_EVERY_MS) this.persist();
  }

  private persist(): void {
    this.lastSave = Date.now();
    const snapshot = structuredClone(this.state);
    // Writes are chained so an older progress never lands after a newer one.
    this.chain = this.chain
      .then(() => this.save(snapshot))
      .catch((err) => this.log.warn({ err: (err as Error).message }, 'batch progress not saved'));
  }

  async flush(): Promise<void> {
    this.persist();
    await this.chain;
  }
}
