// Reads of the call table family (calls, segments, station_snapshots) for the read API (issue 12).
// Every statement is scoped by tenant: `tenant` null means every tenant (an admin's token only).
import type pg from 'pg';
import { SNAPSHOT_SELECT, type SnapshotDbRow } from './snapshots.ts';

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

export interface CallRow {
  tenant_id: string;
  call_id: string;
  first_seen_at: Date;
  last_seen_at: Date;
  /** first_seen_at as PostgreSQL prints it: exact to the microsecond, for cursors. */
  first_seen_key: string;
  codec: string | null;
  labels: Record<string, string>;
}

export interface CallPageQuery {
  tenant: string | null;
  from: Date | null;
  to: Date | null;
  stationId: number | null;
  /** The last row of the previous page: [first_seen_key, tenant_id, call_id]. */
  after: readonly string[] | null;
  limit: number;
}

/** Calls newest first, overlapping [from, to), that have a snapshot at the station when one is given. */
export async function pageOfCalls(q: Queryable, p: CallPageQuery): Promise<CallRow[]> {
  const where: string[] = [];
  const args: unknown[] = [];
  const arg = (v: unknown) => {
    args.push(v);
    return `$${args.length}`;
  };
  if (p.tenant !== null) where.push(`c.tenant_id = ${arg(p.tenant)}`);
  if (p.from) where.push(`c.last_seen_at >= ${arg(p.from)}`);
  if (p.to) where.push(`c.first_seen_at < ${arg(p.to)}`);
  if (p.stationId !== null)
    where.push(`EXISTS (SELECT 1 FROM station_snapshots s WHERE s.tenant_id = c.tenant_id
      AND s.call_id = c.call_id AND s.station_id = ${arg(p.stationId)})`);
  if (p.after)
    where.push(
      `(c.first_seen_at, c.tenant_id, c.call_id) < (${arg(p.after[0])}::timestamptz, ${arg(p.after[1])}, ${arg(p.after[2])})`,
    );
  const { rows } = await q.query<CallRow>(
    `SELECT c.tenant_id, c.call_id, c.first_seen_at, c.last_seen_at, c.first_seen_at::text AS first_seen_key,
            c.codec, c.labels
       FROM calls c ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY c.first_seen_at DESC, c.tenant_id DESC, c.call_id DESC
      LIMIT ${arg(p.limit)}`,
    args,
  );
  return rows;
}

/** One call by id; with `tenant` null, every tenant's call of that id. */
export async function callsById(q: Queryable, tenant: string | null, callId: string): Promise<CallRow[]> {
  const { rows } = await q.query<CallRow>(
    `SELECT tenant_id, call_id, first_seen_at, last_seen_at, first_seen_at::text AS first_seen_key, codec, labels
       FROM calls WHERE call_id = $1 AND ($2::text IS NULL OR tenant_id = $2) ORDER BY tenant_id LIMIT 10`,
    [callId, tenant],
  );
  return rows;
}

/** Every snapshot of these calls (optionally at one station), oldest first. */
export async function snapshotsOfCalls(
  q: Queryable,
  calls: readonly { tenant_id: string; call_id: string }[],
  stationId: number | null = null,
): Promise<SnapshotDbRow[]> {
  if (calls.length === 0) return [];
  const { rows } = await q.query<SnapshotDbRow>(
    `${SNAPSHOT_SELECT}
      WHERE (s.tenant_id, s.call_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
        AND ($3::int IS NULL OR s.station_id = $3)
      ORDER BY s.captured_at, s.station_id`,
    [calls.map((c) => c.tenant_id), calls.map((c) => c.call_id), stationId],
  );
  return rows;
}

/** A snapshot by id; with `tenant` null, every tenant's snapshot of that id. */
export async function snapshotsById(
  q: Queryable,
  tenant: string | null,
  snapshotId: string,
): Promise<SnapshotDbRow[]> {
  const { rows } = await q.query<SnapshotDbRow>(
    `${SNAPSHOT_SELECT} WHERE s.snapshot_id = $1 AND ($2::text IS NULL OR s.tenant_id = $2)
      ORDER BY s.tenant_id LIMIT 10`,
    [snapshotId, tenant],
  );
  return rows;
}

/** The newest snapshots of a station since `from` (at most `limit`), newest first. */
export async function recentSnapshotsOfStation(
  q: Queryable,
  tenant: string | null,
  stationId: number,
  from: Date,
  limit: number,
): Promise<SnapshotDbRow[]> {
  const { rows } = await q.query<SnapshotDbRow>(
    `${SNAPSHOT_SELECT}
      WHERE s.station_id = $1 AND s.captured_at >= $2 AND ($3::text IS NULL OR s.tenant_id = $3)
      ORDER BY s.captured_at DESC LIMIT $4`,
    [stationId, from, tenant, limit],
  );
  return rows;
}
