// Daily partitions of station_snapshots are made ahead by this maintenance job, never by a record: a
// record could name any day, and one partition per named day let a single field create hundreds of
// tables (issue 9, 121 from two snapshots; back to 1970 PostgreSQL ran out of shared memory). The job
// covers the retention window behind now and a few days ahead; records outside the window are refused
// before they get here (API 400, persister dead letter).
import { DAY_MS, firstKeptDay } from '../domain/retention.ts';
import { wrapIo } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { Pool } from './db.ts';

const DAY = DAY_MS;
export const PARTITION_DAYS_AHEAD = 3;

/**
 * Creates the missing daily partitions from the day holding now - retention (the first day the maintenance
 * role keeps, domain/retention.ts) to now + PARTITION_DAYS_AHEAD days, one day
 * per statement: a day that cannot get its partition (rows for it already sit in the default
 * partition) is reported and does not stop the days after it.
 */
export async function ensurePartitionsAhead(
  pool: Pool,
  retentionMs: number,
  now = Date.now(),
): Promise<{ created: number; failed: string[] }> {
  let created = 0;
  const failed: string[] = [];
  const first = firstKeptDay(now, retentionMs) / DAY;
  const last = Math.floor(now / DAY) + PARTITION_DAYS_AHEAD;
  for (let d = first; d <= last; d++) {
    try {
      const { rows } = await pool.query<{ created: number }>(
        'SELECT ensure_snapshot_partitions(to_timestamp($1::float8 / 1000), to_timestamp($1::float8 / 1000)) AS created',
        [d * DAY],
      );
      created += rows[0]?.created ?? 0;
    } catch (err) {
      const e = wrapIo(
        'DATABASE',
        `creating the partition of ${new Date(d * DAY).toISOString().slice(0, 10)}`,
        err,
      );
      if (e.canRetry && /ECONN|terminated|not queryable|connecting/i.test(e.message)) throw e;
      failed.push(e.message);
    }
  }
  return { created, failed };
}

/** Runs the job now and then every `everyMs` (hourly by default); a failure is logged and retried next time. */
export function startPartitionMaintenance(
  pool: Pool,
  log: Logger,
  retentionMs: number,
  everyMs = 3_600_000,
): { ready: Promise<void>; stop(): void } {
  const run = () =>
    ensurePartitionsAhead(pool, retentionMs).then(
      ({ created, failed }) => {
        if (created > 0) log.info({ created }, 'snapshot partitions created ahead');
        if (failed.length > 0) log.warn({ failed }, 'some snapshot partitions could not be created');
      },
      (err) =>
        log.warn({ err: (err as Error).message }, 'snapshot partition maintenance failed; retried later'),
    );
  const ready = run();
  const timer = setInterval(run, everyMs);
  timer.unref();
  return { ready, stop: () => clearInterval(timer) };
}
