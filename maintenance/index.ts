// The maintenance role (issue 13): on a timer, one sweep of everything that ages out (maintenance/sweep.ts).
// One leader at a time per database, by a PostgreSQL session advisory lock held on a connection of its
// own, as the outbox relay does: partitions and the bucket are the whole deployment's, so two sweepers
// would only race. A process that is not the leader tries again at the next tick.
import type { RetentionSettings } from '../domain/retention.ts';
import { createLifecycle, type Role } from '../lib/lifecycle.ts';
import type { PoolClient } from '../storage/db.ts';
import { stepDownMaintenance, tryLeadMaintenance } from '../storage/retention.ts';
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
  let lockConn: PoolClient | null = null;
  let leader = false;
  let last: SweepReport | undefined;
  let chain: Promise<unknown> = Promise.resolve();

  async function lead(): Promise<boolean> {
    if (leader && lockConn) return true;
    const c = await pool.connect();
    // The lock lives with this connection: when it dies, the lock is gone and leadership with it.
    c.on('error', () => {
      if (lockConn === c) [lockConn, leader] = [null, false];
    });
    try {
      if (await tryLeadMaintenance(c)) {
        [lockConn, leader] = [c, true];
        return true;
      }
      c.release();
      return false;
    } catch (err) {
      c.release(err as Error);
      throw err;
    }
  }

  async function sweepOnce(dryRun = opts.dryRun ?? false): Promise<SweepReport | null> {
    if (stopping) return null;
    if (!(await lead())) return null;
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
    const c = lockConn;
    lockConn = null;
    if (c) {
      if (leader) await stepDownMaintenance(c).catch(() => {});
      c.release();
    }
    leader = false;
  });
  if (opts.sweepAtStart !== false) tick();
  lc.running();
  return lc.role<Omit<Maintenance, keyof Role>>({
    sweep,
    get leader() {
      return leader;
    },
    get last() {
      return last;
    },
  });
}
