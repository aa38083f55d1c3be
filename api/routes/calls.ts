// GET /v1/calls and GET /v1/calls/{call_id} (issue 12): calls of the token's tenant, newest first,
// with their scores; one call with every station's score per segment, the parameters each segment ran
// with, and every change made at the call with its judgement.
import type { FastifyPluginAsync } from 'fastify';
import { stationById } from '../../catalog/index.ts';
import { VoiceloopError, validationError } from '../../lib/errors.ts';
import * as callReads from '../../storage/callReads.ts';
import * as changeReads from '../../storage/changeReads.ts';
import type { Pool } from '../../storage/db.ts';
import { snapshotFromRow } from '../../storage/snapshots.ts';
import { requireRole } from '../auth.ts';
import { q, READ_ROLES, readTenant } from '../readAccess.ts';
import {
  assignVerdicts,
  decodeCursor,
  encodeCursor,
  intParam,
  mean,
  numberParam,
  paramsAtVersion,
  round,
  scoreOf,
  stationParam,
  timeParam,
} from '../readModel.ts';
import { changeView } from './changes.ts';

export interface CallRouteDeps {
  pool: Pool;
  stream: string;
  tokenSecret: string;
}

/** With score_below, at most this many calls are scored per request; the cursor goes on from there. */
const MAX_SCANNED = 500;

interface ListQuery {
  tenant_id?: string;
  from?: string;
  to?: string;
  station_id?: string;
  score_below?: string;
  limit?: string;
  cursor?: string;
}

function summarise(call: callReads.CallRow, snaps: ReturnType<typeof snapshotFromRow>[]) {
  const byStation = new Map<number, number[]>();
  for (const s of snaps) {
    const list = byStation.get(s.station_id) ?? [];
    list.push(scoreOf(s).score);
    byStation.set(s.station_id, list);
  }
  const stations = [...byStation.entries()]
    .map(([station_id, l]) => ({ station_id, score: round(mean(l)!), snapshots: l.length }))
    .sort((a, b) => a.station_id - b.station_id);
  const all = [...byStation.values()].flat();
  const worst = [...stations].sort((a, b) => a.score - b.score)[0] ?? null;
  return {
    call_id: call.call_id,
    tenant_id: call.tenant_id,
    first_seen_at: call.first_seen_at.toISOString(),
    last_seen_at: call.last_seen_at.toISOString(),
    codec: call.codec,
    snapshots: all.length,
    score: all.length ? round(mean(all)!) : null,
    worst_station: worst,
    stations,
  };
}

export const callRoutes: FastifyPluginAsync<CallRouteDeps> = async (app, deps) => {
  app.get<{ Querystring: ListQuery }>(
    '/v1/calls',
    {
      preHandler: requireRole(deps.tokenSecret, ...READ_ROLES),
      schema: {
        summary: "Calls of the token's tenant, newest first, with their mean score (cursor pagination)",
        description: `Filters: from/to (ISO 8601; calls overlapping the window), station_id (calls seen at it; the score is then that station's), score_below (0-100), tenant_id (admin tokens only). Scores are the blind scorecard of each persisted snapshot, computed when read. With score_below at most ${MAX_SCANNED} calls are scored per request: a page may hold fewer than limit items (even none) with a next_cursor that goes on from there; follow the cursor until it is null.`,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            tenant_id: q.id,
            from: q.time,
            to: q.time,
            station_id: q.int,
            score_below: q.number,
            limit: q.int,
            cursor: q.cursor,
          },
        },
      },
    },
    async (req) => {
      const qs = req.query;
      const tenant = readTenant(req, qs.tenant_id);
      const from = timeParam(qs.from, 'from');
      const to = timeParam(qs.to, 'to');
      if (from && to && from >= to)
        throw validationError('from must be before to', [{ field: 'from', reason: 'must be before to' }]);
      const stationId = stationParam(qs.station_id);
      const below = numberParam(qs.score_below, 'score_below', 0, 100);
      const limit = intParam(qs.limit, 'limit', 1, 200, 50);
      let after = decodeCursor(qs.cursor, 3);
      const items: ReturnType<typeof summarise>[] = [];
      let scanned = 0;
      let more = true;
      while (items.length < limit && more && scanned < MAX_SCANNED) {
        const want = below === null ? limit - items.length : Math.min(100, MAX_SCANNED - scanned);
        const page = await callReads.pageOfCalls(deps.pool, {
          tenant,
          from,
          to,
          stationId,
          after,
          limit: want,
        });
        more = page.length === want;
        scanned += page.length;
        const snaps = (await callReads.snapshotsOfCalls(deps.pool, page, stationId)).map(snapshotFromRow);
        for (const call of page) {
          after = [call.first_seen_key, call.tenant_id, call.call_id];
          const s = summarise(
            call,
            snaps.filter((x) => x.tenant_id === call.tenant_id && x.call_id === call.call_id),
          );
          if (below === null || (s.score !== null && s.score < below)) items.push(s);
          if (items.length >= limit) {
            more = more || page.indexOf(call) < page.length - 1;
            break;
          }
        }
      }
      return { items, next_cursor: more && after ? encodeCursor(after) : null, scanned };
    },
  );

  app.get<{ Params: { call_id: string }; Querystring: { tenant_id?: string } }>(
    '/v1/calls/:call_id',
    {
      preHandler: requireRole(deps.tokenSecret, ...READ_ROLES),
      schema: {
        summary:
          'One call: every station with its score per segment and the parameters in effect, and every change made at the call with actor, reason, before/after and judgement',
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['call_id'],
          properties: { call_id: q.id },
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { tenant_id: q.id },
        },
      },
    },
    async (req) => {
      const tenant = readTenant(req, req.query.tenant_id);
      const found = await callReads.callsById(deps.pool, tenant, req.params.call_id);
      if (found.length === 0)
        throw new VoiceloopError('NOT_FOUND', `call ${req.params.call_id} does not exist`);
      if (found.length > 1)
        throw validationError(
          `call ${req.params.call_id} exists in several tenants; name one with tenant_id`,
          [{ field: 'tenant_id', reason: 'required: the call id is not unique across tenants' }],
        );
      const call = found[0]!;
      return callDetail(deps, call);
    },
  );
};

async function callDetail(deps: CallRouteDeps, call: callReads.CallRow) {
  const snaps = (await callReads.snapshotsOfCalls(deps.pool, [call])).map(snapshotFromRow);
  const stationIds = [...new Set(snaps.map((s) => s.station_id))].sort((a, b) => a - b);
  const maxVersion = Math.max(0, ...snaps.map((s) => s.applied_config_version));
  const [changes, versions, verdicts] = await Promise.all([
    changeReads.changesOfCall(deps.pool, deps.stream, call.tenant_id, call.call_id),
    changeReads.versionsReaching(
      deps.pool,
      deps.stream,
      call.tenant_id,
      call.call_id,
      stationIds,
      maxVersion,
    ),
    changeReads.verdictsOfCall(deps.pool, deps.stream, call.tenant_id, call.call_id),
  ]);
  const versioned = versions.map((v) => ({ ...v, config_version: Number(v.config_version) }));
  const judged = assignVerdicts(
    changes
      .filter((c) => c.status !== 'rejected')
      .map((c) => ({
        change_id: c.change_id,
        station_id: c.station_id,
        created_at: c.created_at.getTime(),
        run_id: c.run_id,
      })),
    verdicts.map((v) => ({
      run_id: v.run_id,
      station_id: v.station_id,
      at: v.started_at.getTime(),
      verdict: v.verdict,
    })),
  );
  const stations = stationIds.map((id) => {
    const mine = snaps.filter((s) => s.station_id === id);
    const segments = mine.map((s) => {
      const sc = scoreOf(s);
      return {
        snapshot_id: s.snapshot_id,
        channel: s.channel,
        segment_index: s.segment.index,
        start_ms: s.segment.start_ms,
        end_ms: s.segment.end_ms,
        captured_at: new Date(s.captured_at).toISOString(),
        score: sc.score,
        components: sc.components,
        applied_config_version: s.applied_config_version,
        parameters: paramsAtVersion(id, s.applied_config_version, versioned),
      };
    });
    const spec = stationById(id);
    return {
      station_id: id,
      component: spec?.component ?? 'unknown',
      leg: spec?.leg ?? null,
      score: segments.length ? round(mean(segments.map((g) => g.score))!) : null,
      segments,
    };
  });
  return {
    call_id: call.call_id,
    tenant_id: call.tenant_id,
    first_seen_at: call.first_seen_at.toISOString(),
    last_seen_at: call.last_seen_at.toISOString(),
    codec: call.codec,
    labels: call.labels,
    stations,
    changes: changes.map((c) => {
      const v = judged.get(c.change_id);
      return {
        ...changeView(c),
        judgement: v
          ? {
              ...v.verdict,
              before: round(v.verdict.before),
              after: round(v.verdict.after),
              run_id: v.run_id,
              judged_at: new Date(v.at).toISOString(),
            }
          : null,
      };
    }),
  };
}
