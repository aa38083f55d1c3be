// The learned_regions table (sql/0008_learned_regions.sql): what a batch run learned per tenant and station, versioned;
// written in the batch run's completing transaction, read by the online optimizer per new call.
import type { LearnedRegion } from '../optimizer/core/prior.ts';
import type { Pool, PoolClient } from './db.ts';

export interface LearnedRegionRow {
  tenantId: string;
  stationId: number;
  params: Record<string, number>;
  radius: Record<string, number>;
  score: number | null;
  runId: string | null;
}

/** Appends each row as the next version for its (tenant, station); returns the versions written. */
export async function insertLearnedRegions(
  c: PoolClient,
  stream: string,
  rows: readonly LearnedRegionRow[],
): Promise<number[]> {
  const versions: number[] = [];
  for (const r of rows) {
    // Two runs completing together for the same tenant and station would pick the same version: the
    // primary key refuses the second, whose whole completing transaction then fails (nothing half-written).
    const res = await c.query<{ version: number }>(
      `INSERT INTO learned_regions (stream, tenant_id, station_id, version, params, radius, score, run_id)
       SELECT $1, $2, $3, COALESCE(MAX(version), 0) + 1, $4, $5, $6, $7
         FROM learned_regions WHERE stream = $1 AND tenant_id = $2 AND station_id = $3
       RETURNING version`,
      [stream, r.tenantId, r.stationId, JSON.stringify(r.params), JSON.stringify(r.radius), r.score, r.runId],
    );
    versions.push(res.rows[0]!.version);
  }
  return versions;
}

/** The newest learned region of a tenant and station, or null when no batch run has learned one. */
export async function latestLearnedRegion(
  pool: Pool,
  stream: string,
  tenantId: string,
  stationId: number,
): Promise<LearnedRegion | null> {
  const res = await pool.query<{
    version: number;
    params: Record<string, number>;
    radius: Record<string, number>;
  }>(
    `SELECT version, params, radius FROM learned_regions
      WHERE stream = $1 AND tenant_id = $2 AND station_id = $3
      ORDER BY version DESC LIMIT 1`,
    [stream, tenantId, stationId],
  );
  const row = res.rows[0];
  return row ? { version: row.version, params: row.params, radius: row.radius } : null;
}
