// Reads of ab_experiments for the read API's experiment list (issue 12); the full view of one
// experiment is the experiment service's (optimizer/ab/service.ts).
import type pg from 'pg';

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/** Experiment ids newest first; `tenant` null: every tenant's and the global ones (admin). */
export async function recentExperimentIds(
  q: Queryable,
  stream: string,
  tenant: string | null,
  limit: number,
): Promise<string[]> {
  const { rows } = await q.query<{ experiment_id: string }>(
    `SELECT experiment_id FROM ab_experiments
      WHERE stream = $1 AND ($2::text IS NULL OR tenant_id = $2)
      ORDER BY started_at DESC, experiment_id DESC LIMIT $3`,
    [stream, tenant, limit],
  );
  return rows.map((r) => r.experiment_id);
}
