// One maintenance sweep: every task in turn, each timed, counted and recorded in maintenance_sweeps as
// it ends (a sweep killed half-way still says what it did; the next one marks it interrupted). Deletes
// are whole units — one partition with its day's idempotency keys per transaction, one statement per
// table otherwise — and objects go through the object_deletions journal: decided and journalled in one
// commit, deleted one by one, unjournalled once gone. The next sweep first finishes whatever journal a
// killed one left. A dry run counts the same things and deletes nothing.
import {
  audioCutoffFor,
  type Cutoffs,
  cutoffs,
  DAY_MS,
  oldObjects,
  partitionsToDrop,
  type RetentionSettings,
} from '../domain/retention.ts';
import type { Logger } from '../lib/log.ts';
import type { Metrics } from '../lib/metrics.ts';
import type { AudioStore } from '../storage/audioStore.ts';
import type { Pool } from '../storage/db.ts';
import { ensurePartitionsAhead } from '../storage/partitions.ts';
import type { TaskOutcome } from '../storage/retention.ts';
import * as store from '../storage/retention.ts';
import { deleteJournalled } from './journal.ts';

export interface SweepDeps {
  pool: Pool;
  audio: Pick<AudioStore, 'list' | 'delete' | 'modifiedMs'>;
  log: Logger;
  metrics?: Metrics;
}

export interface SweepHooks {
  /** Called after each object deletion (tests pause here to SIGKILL a sweep half-way). */
  afterObjectDelete?(key: string, n: number): Promise<void> | void;
}

export interface SweepOptions extends RetentionSettings {
  now: number;
  dryRun: boolean;
  /** Checked between tasks and objects: a sweep asked to stop ends early, recorded as interrupted. */
  stopping?: () => boolean;
  hooks?: SweepHooks;
}

export interface SweepReport {
  id: string;
  now: number;
  dryRun: boolean;
  status: 'completed' | 'failed' | 'interrupted';
  tasks: TaskOutcome[];
}

const SAMPLE = 20;

class Stopped extends Error {}

interface Ctx {
  deps: SweepDeps;
  opts: SweepOptions;
  cut: Cutoffs;
  check(): void;
}

function drainJournal(ctx: Ctx, keys?: string[]): Promise<number> {
  return deleteJournalled(ctx.deps, {
    ...(keys ? { keys } : {}),
    audioCutoff: (key) => audioCutoffFor(key, ctx.cut),
    check: ctx.check,
    ...(ctx.opts.hooks?.afterObjectDelete ? { afterDelete: ctx.opts.hooks.afterObjectDelete } : {}),
  });
}

/** What a real sweep would keep of the snapshot rows (partitions go by whole days). */
function keptFrom(ctx: Ctx): store.KeptFrom {
  return { globalMs: Math.floor(ctx.cut.snapshots / DAY_MS) * DAY_MS, tenants: ctx.cut.tenantSnapshots };
}

type Task = (ctx: Ctx) => Promise<{ count: number; sample?: string[] }>;

const tasks: Record<string, Task> = {
  // Objects a killed sweep (or an erasure) journalled and did not get to.
  async object_journal(ctx) {
    if (ctx.opts.dryRun) {
      const rows = await store.journalled(ctx.deps.pool, 100_000);
      return { count: rows.length, sample: rows.slice(0, SAMPLE).map((r) => r.object_key) };
    }
    return { count: await drainJournal(ctx) };
  },
  async partitions_ahead(ctx) {
    if (ctx.opts.dryRun) return { count: 0 };
    const { created, failed } = await ensurePartitionsAhead(
      ctx.deps.pool,
      ctx.opts.snapshotRetentionMs,
      ctx.opts.now,
    );
    if (failed.length) ctx.deps.log.warn({ failed }, 'some snapshot partitions could not be created');
    return { count: created };
  },
  async partitions_drop(ctx) {
    const names = await store.snapshotPartitions(ctx.deps.pool);
    const drop = partitionsToDrop(names, ctx.cut.snapshots);
    if (!ctx.opts.dryRun) {
      const c = await ctx.deps.pool.connect();
      try {
        for (const p of drop) {
          ctx.check();
          await store.dropPartition(c, p.name, p.fromMs, p.toMs);
        }
      } finally {
        c.release();
      }
    }
    return { count: drop.length, sample: drop.slice(0, SAMPLE).map((p) => p.name) };
  },
  async snapshots_default(ctx) {
    const { pool } = ctx.deps;
    return {
      count: ctx.opts.dryRun
        ? await store.countDefaultOlder(pool, ctx.cut.snapshots)
        : await store.deleteDefaultOlder(pool, ctx.cut.snapshots),
    };
  },
  async tenant_snapshots(ctx) {
    let count = 0;
    const sample: string[] = [];
    for (const [tenant, cutoff] of ctx.cut.tenantSnapshots) {
      ctx.check();
      const n = await store.tenantSnapshotsOlder(ctx.deps.pool, tenant, cutoff, ctx.opts.dryRun);
      if (n > 0) sample.push(`${tenant}: ${n}`);
      count += n;
    }
    return { count, sample };
  },
  async calls(ctx) {
    let count = 0;
    for (;;) {
      ctx.check();
      const n = await store.oldCalls(
        ctx.deps.pool,
        ctx.cut.snapshots,
        ctx.cut.tenantSnapshots,
        ctx.opts.dryRun,
      );
      count += n;
      if (ctx.opts.dryRun || n < 1000) return { count };
    }
  },
  async audio(ctx) {
    const { pool, audio } = ctx.deps;
    let count = 0;
    const sample: string[] = [];
    for await (const page of audio.list()) {
      ctx.check();
      const old = oldObjects(page, ctx.cut);
      const referenced = await store.referencedKeys(
        pool,
        old.map((o) => o.key),
        ctx.opts.dryRun ? keptFrom(ctx) : undefined,
      );
      const gone = old.map((o) => o.key).filter((k) => !referenced.has(k));
      if (ctx.opts.dryRun) {
        count += gone.length;
        sample.push(...gone.slice(0, SAMPLE - sample.length));
        continue;
      }
      await store.journalObjects(pool, gone, 'audio_retention');
      count += await drainJournal(ctx, gone);
    }
    return { count, sample };
  },
  async outbox(ctx) {
    return { count: await store.publishedOutbox(ctx.deps.pool, ctx.cut.outbox, ctx.opts.dryRun) };
  },
  async config_state(ctx) {
    return { count: await store.expiredCallConfig(ctx.deps.pool, ctx.cut.configState, ctx.opts.dryRun) };
  },
  async runs(ctx) {
    return { count: await store.oldRuns(ctx.deps.pool, ctx.cut.runs, ctx.opts.dryRun) };
  },
  async observations(ctx) {
    return { count: await store.oldObservations(ctx.deps.pool, ctx.cut.observations, ctx.opts.dryRun) };
  },
  // Finished webhook deliveries; their attempts (the delivery log) go with them, said in the sample.
  async webhook_deliveries(ctx) {
    const n = await store.finishedWebhookDeliveries(ctx.deps.pool, ctx.cut.webhooks, ctx.opts.dryRun);
    return { count: n.deliveries, sample: [`${n.attempts} attempt(s) with them`] };
  },
};

export const TASKS = Object.keys(tasks);

/** Runs one sweep. The caller holds the maintenance lock (maintenance/index.ts, bin/maintenance.ts), unless dry. */
export async function runSweep(deps: SweepDeps, opts: SweepOptions): Promise<SweepReport> {
  const { pool, log, metrics } = deps;
  // A dry run may run beside the leader (it deletes nothing), so it leaves the sweeps' states alone.
  const interrupted = opts.dryRun ? 0 : await store.markInterrupted(pool);
  if (interrupted > 0)
    log.warn({ interrupted }, 'an earlier maintenance sweep did not finish; this one completes it');
  const id = await store.beginSweep(pool, opts.now, opts.dryRun);
  const ctx: Ctx = {
    deps,
    opts,
    cut: cutoffs(opts.now, opts, await store.tenantRetentions(pool)),
    check() {
      if (opts.stopping?.()) throw new Stopped('the maintenance role is stopping');
    },
  };
  const out: TaskOutcome[] = [];
  let status: SweepReport['status'] = 'completed';
  for (const [task, run] of Object.entries(tasks)) {
    if (opts.stopping?.()) {
      status = 'interrupted';
      break;
    }
    const t0 = performance.now();
    let outcome: TaskOutcome;
    try {
      const r = await run(ctx);
      outcome = {
        task,
        count: r.count,
        ms: Math.round(performance.now() - t0),
        ...(r.sample ? { sample: r.sample } : {}),
      };
    } catch (err) {
      if (err instanceof Stopped) status = 'interrupted';
      else status = 'failed';
      outcome = { task, count: 0, ms: Math.round(performance.now() - t0), error: (err as Error).message };
      log.warn({ task, err: (err as Error).message }, 'maintenance task failed; the next sweep retries it');
    }
    out.push(outcome);
    metrics?.maintenanceTaskSeconds.observe({ task }, outcome.ms / 1000);
    if (!opts.dryRun && outcome.count > 0) metrics?.maintenanceItems.inc({ task }, outcome.count);
    await store.recordTask(pool, id, outcome);
    if (status === 'interrupted') break;
  }
  await store.endSweep(pool, id, status, out.find((t) => t.error)?.error ?? null);
  metrics?.maintenanceSweeps.inc({ status, dry_run: String(opts.dryRun) });
  return { id, now: opts.now, dryRun: opts.dryRun, status, tasks: out };
}
