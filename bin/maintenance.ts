// `npm run maintenance -- [--dry-run] [--now ISO]`: one maintenance sweep now (the maintenance role of
// `npm start` runs the same sweep on a timer). --dry-run prints what the sweep would delete and deletes
// nothing; --now sweeps as of another time (to see what a date would take away). Needs PostgreSQL and
// the object store, not Kafka. Exit codes: 0 done, 1 a task failed, 2 bad flags, 3 another process
// holds the maintenance lock.
import { ArgError, parseFlags, runMain } from '../lib/cli.ts';
import { createLogger } from '../lib/log.ts';
import { loadSettings } from '../lib/settings.ts';
import { runSweep, type SweepReport } from '../maintenance/index.ts';
import { maintenanceOptionsFor } from '../runtime/deps.ts';
import { AudioStore, createS3 } from '../storage/audioStore.ts';
import { createPool } from '../storage/db.ts';
import { migrate } from '../storage/migrate.ts';
import { stepDownMaintenance, tryLeadMaintenance } from '../storage/retention.ts';

const USAGE = `usage: npm run maintenance -- [--dry-run] [--now 2026-01-31T00:00:00Z]
  --dry-run   print what would be deleted; delete nothing
  --now ISO   sweep as of this time instead of now`;

export function printReport(r: SweepReport, out: (s: string) => void = console.log): void {
  out(
    `${r.dryRun ? 'dry run' : 'sweep'} ${r.id} as of ${new Date(r.now).toISOString()}: ${r.status}` +
      (r.dryRun ? ' (nothing deleted)' : ''),
  );
  const verb = r.dryRun ? 'would' : 'did';
  for (const t of r.tasks) {
    const what = t.task === 'partitions_ahead' ? 'create' : 'delete';
    out(
      `  ${t.task.padEnd(18)} ${verb} ${what} ${String(t.count).padStart(7)}   ${t.ms} ms${t.error ? `   ERROR ${t.error}` : ''}`,
    );
    for (const s of t.sample ?? []) out(`      ${s}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const v = parseFlags(argv, { 'dry-run': { type: 'boolean' }, now: { type: 'string' } }, USAGE);
  let now = Date.now();
  if (typeof v.now === 'string') {
    now = Date.parse(v.now);
    if (!Number.isFinite(now)) throw new ArgError(`--now must be an ISO time, got "${v.now}"\n${USAGE}`);
  }
  const cfg = loadSettings(undefined, { logLevel: 'error' });
  const log = createLogger(cfg.logLevel);
  await migrate(cfg.database.url, log);
  const pool = createPool(cfg, log, 3);
  const s3 = createS3(cfg);
  const lock = await pool.connect();
  try {
    const dryRun = v['dry-run'] === true;
    // A dry run deletes nothing: it may look while the maintenance role of a running process sweeps.
    if (!dryRun && !(await tryLeadMaintenance(lock))) {
      console.error('another maintenance process is sweeping (it holds the lock); try again later');
      return 3;
    }
    const report = await runSweep(
      { pool, audio: new AudioStore(s3, cfg.s3.bucket), log },
      { ...maintenanceOptionsFor(cfg), now, dryRun },
    );
    printReport(report);
    if (!dryRun) await stepDownMaintenance(lock);
    return report.status === 'completed' ? 0 : 1;
  } finally {
    lock.release();
    await pool.end();
    s3.destroy();
  }
}

runMain(import.meta.url, main, (err) => !err.canRetry);
