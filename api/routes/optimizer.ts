// Optimizer API (DESIGN §9): run the online optimizer now for a call (or for a station's recent calls
// of a tenant) from the latest persisted snapshots, start a batch run over a time range of history
// (202 with the run id; it goes on in the background), and read any run back with its progress.
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { stationById } from '../../catalog/index.ts';
import type { ChangeService } from '../../config/changes.ts';
import { type CallMemory, decideAndApply } from '../../consumers/online/index.ts';
import { VoiceloopError, validationError } from '../../lib/errors.ts';
import { type BatchRunner, parseBatchRequest } from '../../optimizer/batch/index.ts';
import type { Pool } from '../../storage/db.ts';
import { SNAPSHOT_SELECT, type SnapshotDbRow, snapshotFromRow } from '../../storage/snapshots.ts';
import { assertTenant, requireRole } from '../auth.ts';
import { idString, stationIdSchema } from '../schemas.ts';

export interface OptimizerRouteDeps {
  pool: Pool;
  changes: ChangeService;
  tokenSecret: string;
  /** The running online optimizer's memory, so an API run continues the same controller. */
  memory?: (tenantId: string, callId: string, stationId: number) => CallMemory | undefined;
  callTtlMs?: number;
  /** The batch optimizer role; without it a batch request is refused (400 on `mode`). */
  batch?: BatchRunner;
}

const BATCH_BODY_DOC = `mode "batch": {"mode": "batch", "from": ISO 8601 | epoch ms, "to": ISO 8601 | epoch ms,
"scope": {"level": "global" | "tenant", "tenant_id": string, "station_ids": [int]}, "budget"?: int, "margin"?: number,
"seed"?: int} -> 202 {"run_id"}; at most 7 days; follow it with GET /v1/optimizer/runs/{run_id}.`;

const isBatchBody = (b: unknown): b is Record<string, unknown> =>
  typeof b === 'object' && b !== null && (b as { mode?: unknown }).mode === 'batch';

export const optimizerRoutes: FastifyPluginAsync<OptimizerRouteDeps> = async (app, deps) => {
  const operatorOnly = requireRole(deps.tokenSecret, 'operator');
  runRoute(app, deps, operatorOnly);

  app.get<{ Params: { id: string } }>(
    '/v1/optimizer/runs/:id',
    {
      preHandler: requireRole(deps.tokenSecret, 'operator', 'viewer'),
      schema: {
        summary: 'One optimizer run with its scorecard, analysis, changes and progress',
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', format: 'uuid' } } },
      },
    },
    async (req) => {
      const { rows } = await deps.pool.query(
        'SELECT * FROM optimizer_runs WHERE run_id = $1 AND stream = $2',
        [req.params.id, deps.changes.stream],
      );
      const run = rows[0];
      if (!run) throw new VoiceloopError('NOT_FOUND', `run ${req.params.id} does not exist`);
      assertTenant(req, run.tenant_id);
      const changes = await deps.pool.query(
        'SELECT change_id, station_id, status, before, after, reason, config_version, rollback_of, created_at FROM parameter_changes WHERE run_id = $1 ORDER BY created_at',
        [run.run_id],
      );
      return { ...run, changes: changes.rows };
    },
  );
};

/** POST /v1/optimizer/run: an online decision now, or a batch run submitted. */
function runRoute(
  app: FastifyInstance,
  deps: OptimizerRouteDeps,
  operatorOnly: ReturnType<typeof requireRole>,
): void {
  app.post<{ Body: { mode: 'online' | 'batch'; station_id: number; tenant_id: string; call_id?: string } }>(
    '/v1/optimizer/run',
    {
      // A batch body has its own shape (a time range and a scope, not a call): it is taken here, before
      // the online body schema runs, so the online mode's validation and answers stay exactly as they are.
      preValidation: async (req, reply) => {
        if (!isBatchBody(req.body)) return;
        await operatorOnly(req, reply);
        const r = parseBatchRequest(req.body);
        assertTenant(req, r.scope.tenant_id);
        if (!deps.batch)
          throw validationError(
            'mode batch is not available: this process runs without the batch optimizer',
            [{ field: 'mode', reason: 'the batch optimizer role is not running in this process' }],
          );
        const runId = await deps.batch.submit(r, `user:${req.principal?.sub ?? 'unknown'}:batch`);
        return reply.status(202).send({
          mode: 'batch',
          run_id: runId,
          status: 'running',
          status_url: `/v1/optimizer/runs/${runId}`,
        });
      },
      preHandler: operatorOnly,
      schema: {
        summary:
          'Run the optimizer now (online: for a call, or for the recent calls of a station; batch: over a time range)',
        description: BATCH_BODY_DOC,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['mode', 'station_id', 'tenant_id'],
          properties: {
            mode: { type: 'string', enum: ['online', 'batch'] },
            station_id: stationIdSchema,
            tenant_id: idString,
            call_id: idString,
          },
        },
      },
    },
    async (req, reply) => {
      const b = req.body;
      assertTenant(req, b.tenant_id);
      if (!stationById(b.station_id))
        throw validationError(`unknown station ${b.station_id}`, [
          { field: 'station_id', reason: `unknown station ${b.station_id}` },
        ]);
      if (b.mode !== 'online')
        throw validationError('mode batch is not available yet; use mode online', [
          { field: 'mode', reason: 'batch is not available yet' },
        ]);
      const { rows } = b.call_id
        ? await deps.pool.query<SnapshotDbRow>(
            `${SNAPSHOT_SELECT} WHERE s.tenant_id = $1 AND s.call_id = $2 AND s.station_id = $3 ORDER BY s.captured_at DESC LIMIT 1`,
            [b.tenant_id, b.call_id, b.station_id],
          )
        : await deps.pool.query<SnapshotDbRow>(
            `SELECT DISTINCT ON (s.call_id) s.*, g.start_ms, g.end_ms, g.utterance_id FROM station_snapshots s
               LEFT JOIN segments g ON g.tenant_id = s.tenant_id AND g.call_id = s.call_id AND g.channel = s.channel AND g.segment_index = s.segment_index
              WHERE s.tenant_id = $1 AND s.station_id = $2 AND s.captured_at > now() - interval '15 minutes'
              ORDER BY s.call_id, s.captured_at DESC LIMIT 50`,
            [b.tenant_id, b.station_id],
          );
      if (rows.length === 0) {
        throw new VoiceloopError(
          'NOT_FOUND',
          `no snapshot of station ${b.station_id} for ${b.call_id ? `call ${b.call_id}` : `tenant ${b.tenant_id} in the last 15 minutes`}`,
        );
      }
      const runs = [];
      for (const row of rows) {
        const snap = snapshotFromRow(row);
        const mem = deps.memory?.(snap.tenant_id, snap.call_id, snap.station_id) ?? {
          state: null,
          lastChangeId: null,
        };
        const out = await decideAndApply(
          {
            pool: deps.pool,
            changes: deps.changes,
            callTtlMs: deps.callTtlMs ?? 15 * 60_000,
            explore: false,
            clock: Date.now,
          },
          snap,
          mem,
          `user:${req.principal?.sub ?? 'unknown'}:online`,
        );
        runs.push({
          run_id: out.runId,
          call_id: snap.call_id,
          score: out.decision.score.score,
          analysis: out.decision.analysis,
          proposals: out.decision.proposals,
          change: out.change
            ? {
                status: out.change.status,
                change_id: out.change.change.change_id,
                version: out.change.change.config_version,
                reasons: out.change.reasons,
              }
            : null,
          next_iteration: out.decision.nextIteration,
        });
      }
      return reply.status(200).send({ mode: 'online', station_id: b.station_id, runs });
    },
  );
}
