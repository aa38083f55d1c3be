// PostgreSQL side of a batch run: its optimizer_runs row (request, live progress, the result), the
// observations it learned from and leaves for the next run (batch_observations, sql/0003), and the
// parameter sets behind the config versions the replayed snapshots ran with.

import { enqueue } from '../../config/outbox.ts';
import type { OptimizerResult } from '../../contracts/generated.ts';
import { wrapIo } from '../../lib/errors.ts';
import { inTransaction, type Pool } from '../../storage/db.ts';
import { insertLearnedRegions, type LearnedRegionRow } from '../../storage/learnedRegions.ts';
import * as runs from '../../storage/runs.ts';
import type { BatchRequest } from './request.ts';

export interface ObservationRow {
  stationId: number;
  contextKey: string;
  tenantId: string | null;
  params: Record<string, number>;
  score: number;
  samples: number;
  source: 'history' | 'counterfactual';
}

export async function insertRun(
  pool: Pool,
  stream: string,
  r: { runId: string; request: BatchRequest; actor: string; progress: object },
): Promise<void> {
  const s = r.request.scope;
  try {
    await runs.insertRunningRun(pool, {
      runId: r.runId,
      stream,
      mode: 'batch',
      scope: s,
      stationId: s.station_ids?.length === 1 ? s.station_ids[0]! : null,
      requestedBy: r.actor,
      request: {
        mode: 'batch',
        from: new Date(r.request.from).toISOString(),
        to: new Date(r.request.to).toISOString(),
        scope: s,
        budget: r.request.budget,
        margin: r.request.margin,
        seed: r.request.seed,
      },
      progress: r.progress,
    });
  } catch (err) {
    throw wrapIo('DATABASE', `recording batch run ${r.runId}`, err);
  }
}

export async function saveProgress(pool: Pool, runId: string, progress: object): Promise<void> {
  await runs.saveProgress(pool, runId, progress);
}

export interface Completion {
  result: object;
  scorecard: object;
  newParameters: object[];
  analysis: string;
  nextIteration: object;
  progress: object;
  observations: ObservationRow[];
  /** Published on the optimizer-results topic through the outbox, in the same transaction. */
  message: OptimizerResult;
  /** Learned regions for the online controller (tenant-scoped runs), versioned in learned_regions. */
  regions?: LearnedRegionRow[];
}

/** Marks the run completed with its result and observations, and queues its OptimizerResult: one unit. */
export async function completeRun(pool: Pool, stream: string, runId: string, c: Completion): Promise<void> {
  await inTransaction(pool, async (tx) => {
    await runs.finishRun(tx, runId, {
      status: 'completed',
      result: c.result,
      scorecard: c.scorecard,
      newParameters: c.newParameters,
      analysis: c.analysis,
      nextIteration: c.nextIteration,
      progress: c.progress,
    });
    const o = c.observations;
    if (o.length > 0) {
      await tx.query(
        `INSERT INTO batch_observations (stream, run_id, station_id, context_key, tenant_id, params, score, samples, source)
         SELECT $1, $2, * FROM unnest($3::int[], $4::text[], $5::text[], $6::jsonb[], $7::float8[], $8::int[], $9::text[])`,
        [
          stream,
          runId,
          o.map((x) => x.stationId),
          o.map((x) => x.contextKey),
          o.map((x) => x.tenantId),
          o.map((x) => JSON.stringify(x.params)),
          o.map((x) => x.score),
          o.map((x) => x.samples),
          o.map((x) => x.source),
        ],
      );
    }
    if (c.regions && c.regions.length > 0) await insertLearnedRegions(tx, stream, c.regions);
    await enqueue(tx, stream, [
      {
        role: 'results',
        contract: 'OptimizerResult',
        key: c.message.scope.tenant_id ?? 'global',
        payload: c.message,
      },
    ]);
  });
}

/** Ends a run that did not complete; the error says why. */
export async function endRun(
  pool: Pool,
  runId: string,
  status: 'failed' | 'stopped',
  error: string,
  progress: object,
): Promise<void> {
  await runs.failRun(pool, runId, status, error, progress);
}

/**
 * The full parameter set each config version put in effect at its station (parameter_changes.after is
 * the whole effective set at the change's scope). Version 0 is not here: it means catalog defaults.
 */
export async function paramsByVersion(
  pool: Pool,
  stream: string,
  versions: readonly number[],
): Promise<Map<number, { stationId: number; params: Record<string, number> }>> {
  const wanted = versions.filter((v) => v > 0);
  const out = new Map<number, { stationId: number; params: Record<string, number> }>();
  if (wanted.length === 0) return out;
  const { rows } = await pool.query<{
    config_version: string;
    station_id: number;
    after: Record<string, number>;
  }>(
    `SELECT config_version, station_id, after FROM parameter_changes
      WHERE stream = $1 AND config_version = ANY($2::bigint[]) AND status IN ('applied', 'rolled_back')`,
    [stream, wanted],
  );
  for (const r of rows) out.set(Number(r.config_version), { stationId: r.station_id, params: r.after });
  return out;
}

export interface StoredObservation {
  runId: string;
  params: Record<string, number>;
  score: number;
  samples: number;
  source: 'history' | 'counterfactual';
}

/** What earlier completed runs observed for the same station, context and tenant (newest first). */
export async function earlierObservations(
  pool: Pool,
  stream: string,
  stationId: number,
  contextKey: string,
  tenantId: string | null,
  limit = 200,
): Promise<StoredObservation[]> {
  const { rows } = await pool.query<{
    run_id: string;
    params: Record<string, number>;
    score: number;
    samples: number;
    source: 'history' | 'counterfactual';
  }>(
    `SELECT o.run_id, o.params, o.score, o.samples, o.source FROM batch_observations o
       JOIN optimizer_runs r ON r.run_id = o.run_id AND r.status = 'completed'
      WHERE o.stream = $1 AND o.station_id = $2 AND o.context_key = $3 AND o.tenant_id IS NOT DISTINCT FROM $4
      ORDER BY o.created_at DESC, o.id DESC LIMIT $5`,
    [stream, stationId, contextKey, tenantId, limit],
  );
  return rows.map((r) => ({
    runId: r.run_id,
    params: r.params,
    score: r.score,
    samples: r.samples,
    source: r.source,
  }));
}

/**
 * The parameter sets earlier completed runs proposed (their verified winner) for the same station,
 * context and tenant, newest first: the warm start re-evaluates these and verifies them again, where
 * the best observed scores alone would include sets the reference guard refused as gamed.
 */
export async function earlierProposals(
  pool: Pool,
  stream: string,
  stationId: number,
  contextKey: string,
  tenantId: string | null,
  limit = 2,
): Promise<{ runId: string; params: Record<string, number> }[]> {
  const { rows } = await pool.query<{ run_id: string; params: Record<string, number> }>(
    `SELECT r.run_id, g->'candidates'->((g->>'winner')::int)->'params' AS params
       FROM optimizer_runs r CROSS JOIN LATERAL jsonb_array_elements(r.result->'groups') g
      WHERE r.stream = $1 AND r.mode = 'batch' AND r.status = 'completed'
        AND r.tenant_id IS NOT DISTINCT FROM $4 AND jsonb_typeof(g->'winner') = 'number'
        AND (g->'context'->>'station_id')::int = $2 AND g->'context'->>'key' = $3
        AND (g->'context'->>'tenant_id') IS NOT DISTINCT FROM $4
      ORDER BY r.finished_at DESC NULLS LAST, r.run_id LIMIT $5`,
    [stream, stationId, contextKey, tenantId, limit],
  );
  return rows.filter((r) => r.params !== null).map((r) => ({ runId: r.run_id, params: r.params }));
}
