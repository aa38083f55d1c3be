// The maintenance role (issue 13): on a timer, one sweep of everything that ages out (maintenance/sweep.ts).
// One leader at a time per database, by a PostgreSQL session advisory lock held on a connection of its
// own (storage/leaderLock.ts, as the outbox relay and the webhook monitor do): partitions and the bucket
// are the whole deployment's, so two sweepers would only race. A process that is not the leader tries
// again at the next tick.
import type { RetentionSettings } from '../domain/retention.ts';
import { createLifecycle, type Role } from '../lib/lifecycle.ts';
import { leaderLock } from '../storage/leaderLock.ts';
import { MAINTENANCE_LOCK } from '../storage/retention.ts';
import { runSweep, type SweepDeps, type SweepHooks, type SweepReport } from './sweep.ts';

export { runSweep, type SweepReport, TASKS } from './sweep.ts';

export interface MaintenanceDeps extends SweepDeps {
  /** The sweep's "now" (tests move it). */
  clock?: () => number;
}

export interface MaintenanceOptions extends RetentionSettings {
  everyMs: number;
  /** Sweep once at start (default true; the lifecycle test turns it off). */
  sweepAtStart?: boolean;
  dryRun?: boolean;
  hooks?: SweepHooks;
}

export interface Maintenance extends Role {
  /** Sweeps now (after any sweep in progress); null when another process holds the lock. */
  sweep(o?: { dryRun?: boolean }): Promise<SweepReport | null>;
  readonly leader: boolean;
  readonly last: SweepReport | undefined;
}

export async function startMaintenance(
  deps: MaintenanceDeps,
  opts: MaintenanceOptions,
): Promise<Maintenance> {
  const { pool, log } = deps;
  const clock = deps.clock ?? Date.now;
  let stopping = false;
  // The lock lives on a connection of its own: when it dies, leadership goes with it.
  const lock = leaderLock(pool, MAINTENANCE_LOCK);
  let last: SweepReport | undefined;
  let chain: Promise<unknown> = Promise.resolve();

  async function sweepOnce(dryRun = opts.dryRun ?? false): Promise<SweepReport | null> {
    if (stopping) return null;
    if (!(await lock.lead())) return null;
    last = await runSweep(deps, {
      ...opts,
      now: clock(),
      dryRun,
      stopping: () => stopping,
      ...(opts.hooks ? { hooks: opts.hooks } : {}),
    });
    log.info(
      { sweep: last.id, status: last.status, tasks: last.tasks.map((t) => `${t.task}=${t.count}`).join(' ') },
      'maintenance sweep done',
    );
    return last;
  }

  const sweep = (o: { dryRun?: boolean } = {}): Promise<SweepReport | null> => {
    const next = chain.then(() => sweepOnce(o.dryRun));
    chain = next.catch(() => {});
    return next;
  };
  const tick = () => {
    sweep().catch((err) =>
      log.warn({ err: (err as Error).message }, 'maintenance sweep failed; retried next time'),
    );
  };

  const timer = setInterval(tick, opts.everyMs);
  timer.unref();
  const lc = createLifecycle(async () => {
    stopping = true;
    clearInterval(timer);
    await chain;
    await lock.release();
  });
  if (opts.sweepAtStart !== false) tick();
  lc.running();
  return lc.role<Omit<Maintenance, keyof Role>>({
    sweep,
    get leader() {
      return lock.leader;
    },
    get last() {
      return last;
    },
  });
}
