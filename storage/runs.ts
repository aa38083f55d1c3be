// The optimizer_runs table (sql/0001, 0003, 0004): every statement that writes a run — online decisions,
// batch runs and A/B experiments — lives here, named by what it does. Reads for the API live beside
// the API's queries (storage/snapshots.ts, optimizer/ab/store.ts).
import type pg from 'pg';
import type { OptimizerResult, Scope } from '../contracts/generated.ts';

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;
const json = (x: unknown) => (x === undefined ? null : JSON.stringify(x));

/** An online decision's run, finished when recorded. */
export async function insertOnlineRun(
  c: Queryable,
  stream: string,
  run: OptimizerResult,
  extra: { stationId: number | null; requestedBy: string; status?: string; verdict?: unknown },
): Promise<void> {
  await c.query(
    `INSERT INTO optimizer_runs (run_id, stream, mode, status, scope_level, tenant_id, call_id, station_id, requested_by,
       scorecard, new_parameters, analysis, next_iteration, verdict, finished_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, now())`,
    [
      run.run_id,
      stream,
      run.mode,
      extra.status ?? 'completed',
      run.scope.level,
      run.scope.tenant_id,
      run.scope.call_id,
      extra.stationId,
      extra.requestedBy,
      json(run.scorecard),
      json(run.new_parameters),
      run.analysis,
      json(run.next_iteration),
      json(extra.verdict),
    ],
  );
}

/** Several online decisions' runs in one statement (a decision batch), each with the snapshot it answered. */
export async function insertOnlineRuns(
  c: Queryable,
  stream: string,
  runs: {
    run: OptimizerResult;
    stationId: number | null;
    requestedBy: string;
    verdict?: unknown;
    snapshotId: string;
  }[],
): Promise<void> {
  if (runs.length === 0) return;
  const rows = runs.map(({ run, stationId, requestedBy, verdict, snapshotId }) => ({
    run_id: run.run_id,
    mode: run.mode,
    scope_level: run.scope.level,
    tenant_id: run.scope.tenant_id,
    call_id: run.scope.call_id,
    station_id: stationId,
    requested_by: requestedBy,
    scorecard: run.scorecard,
    new_parameters: run.new_parameters,
    analysis: run.analysis,
    next_iteration: run.next_iteration,
    verdict: verdict ?? null,
    snapshot_id: snapshotId,
  }));
  await c.query(
    `INSERT INTO optimizer_runs (run_id, stream, mode, status, scope_level, tenant_id, call_id, station_id, requested_by,
       scorecard, new_parameters, analysis, next_iteration, verdict, snapshot_id, finished_at)
     SELECT r.run_id, $1, r.mode, 'completed', r.scope_level, r.tenant_id, r.call_id, r.station_id, r.requested_by,
            r.scorecard, r.new_parameters, r.analysis, r.next_iteration, r.verdict, r.snapshot_id, now()
       FROM jsonb_to_recordset($2::jsonb) AS r(run_id text, mode text, scope_level text, tenant_id text, call_id text,
            station_id integer, requested_by text, scorecard jsonb, new_parameters jsonb, analysis text,
            next_iteration jsonb, verdict jsonb, snapshot_id text)`,
    [stream, JSON.stringify(rows)],
  );
}

/** A run that goes on in the background (batch, experiment): 'running' with its request and progress. */
export async function insertRunningRun(
  c: Queryable,
  r: {
    runId: string;
    stream: string;
    mode: 'batch' | 'experiment';
    scope: Pick<Scope, 'level' | 'tenant_id'>;
    stationId: number | null;
    requestedBy: string;
    request: unknown;
    progress: unknown;
    analysis?: string | null;
    startedAt?: Date;
  },
): Promise<void> {
  await c.query(
    `INSERT INTO optimizer_runs (run_id, stream, mode, status, scope_level, tenant_id, station_id, requested_by,
       request, progress, analysis, started_at)
     VALUES ($1, $2, $3, 'running', $4, $5, $6, $7, $8, $9, $10, coalesce($11, now()))`,
    [
      r.runId,
      r.stream,
      r.mode,
      r.scope.level,
      r.scope.tenant_id,
      r.stationId,
      r.requestedBy,
      json(r.request),
      json(r.progress),
      r.analysis ?? null,
      r.startedAt ?? null,
    ],
  );
}

/** Live progress of a run still running (a finished run's progress is final). */
export async function saveProgress(c: Queryable, runId: string, progress: unknown): Promise<void> {
  await c.query(`UPDATE optimizer_runs SET progress = $2 WHERE run_id = $1 AND status = 'running'`, [
    runId,
    json(progress),
  ]);
}

export interface RunOutcome {
  status: 'completed' | 'stopped';
  result?: unknown;
  verdict?: unknown;
  scorecard: unknown;
  newParameters: unknown;
  analysis: string;
  nextIteration: unknown;
  progress: unknown;
}

/** A running run's end with its outcome. */
export async function finishRun(c: Queryable, runId: string, o: RunOutcome): Promise<void> {
  await c.query(
    `UPDATE optimizer_runs SET status = $2, result = $3, verdict = $4, scorecard = $5, new_parameters = $6,
       analysis = $7, next_iteration = $8, progress = $9, finished_at = now()
     WHERE run_id = $1`,
    [
      runId,
      o.status,
      json(o.result),
      json(o.verdict),
      json(o.scorecard),
      json(o.newParameters),
      o.analysis,
      json(o.nextIteration),
      json(o.progress),
    ],
  );
}

/** Ends a run that did not complete; the error says why. */
export async function failRun(
  c: Queryable,
  runId: string,
  status: 'failed' | 'stopped',
  error: string,
  progress: unknown,
): Promise<void> {
  await c.query(
    `UPDATE optimizer_runs SET status = $2, error = $3, progress = $4, finished_at = now()
      WHERE run_id = $1 AND status = 'running'`,
    [runId, status, error.slice(0, 2000), json(progress)],
  );
}
