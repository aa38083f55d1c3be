// GET /v1/stations and GET /v1/stations/{id}/summary (issue 12): every station of the catalog with its
// live score and trend over a window, where along the path quality is lost, and one station's score
// distribution, worst calls and share of the pipeline's quality loss.
import type { FastifyPluginAsync } from 'fastify';
import { loadCatalog, stationById } from '../../catalog/index.ts';
import * as callReads from '../../storage/callReads.ts';
import type { Pool } from '../../storage/db.ts';
import { snapshotFromRow } from '../../storage/snapshots.ts';
import { requireRole } from '../auth.ts';
import { q, READ_ROLES, readTenant } from '../readAccess.ts';
import {
  componentLosses,
  distribution,
  intParam,
  mean,
  pathLoss,
  round,
  type Scored,
  scoreOf,
  stationParam,
  trend,
  worstCalls,
} from '../readModel.ts';

export interface StationRouteDeps {
  pool: Pool;
  tokenSecret: string;
}

/** Scores are computed on read from the stored metrics: at most this many snapshots per station. */
const MAX_SNAPSHOTS_PER_STATION = 2000;
const TREND_BUCKETS = 24;

const CAP_NOTE = `Scores are the blind scorecard of each stored snapshot, computed when read (no rollup table): each station's figures come from at most its newest ${MAX_SNAPSHOTS_PER_STATION} snapshots in the window (GET /v1/stations says how many it read, in \`snapshots\`), so a busy station's mean and distribution cover the most recent part of a long window. No PESQ or STOI: a StationSnapshot carries no such field (its one reference-based measure is \`reference_seg_snr_db\`, in simulation); PESQ and STOI are computed by the demo and the evaluation against the clean speech, outside the stored snapshots.`;

interface WindowQuery {
  tenant_id?: string;
  window_minutes?: string;
}

const windowQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { tenant_id: q.id, window_minutes: q.int },
} as const;

async function scoredWindow(deps: StationRouteDeps, tenant: string | null, stationId: number, from: Date) {
  const rows = await callReads.recentSnapshotsOfStation(
    deps.pool,
    tenant,
    stationId,
    from,
    MAX_SNAPSHOTS_PER_STATION,
  );
  return rows.map((r): Scored => {
    const s = snapshotFromRow(r);
    const sc = scoreOf(s);
    return {
      station_id: stationId,
      tenant_id: s.tenant_id,
      call_id: s.call_id,
      at: s.captured_at,
      score: sc.score,
      components: sc.components,
    };
  });
}

function windowOf(qs: WindowQuery) {
  const minutes = intParam(qs.window_minutes, 'window_minutes', 1, 7 * 24 * 60, 60);
  const to = Date.now();
  return { minutes, from: to - minutes * 60_000, to };
}

export const stationRoutes: FastifyPluginAsync<StationRouteDeps> = async (app, deps) => {
  app.get<{ Querystring: WindowQuery }>(
    '/v1/stations',
    {
      preHandler: requireRole(deps.tokenSecret, ...READ_ROLES),
      schema: {
        summary:
          'Every station with its score over the window (default 60 minutes), its trend, and where along the path quality is lost',
        description: CAP_NOTE,
        querystring: windowQuery,
      },
    },
    async (req) => {
      const tenant = readTenant(req, req.query.tenant_id);
      const w = windowOf(req.query);
      const scored = await Promise.all(
        loadCatalog().stations.map((s) => scoredWindow(deps, tenant, s.id, new Date(w.from))),
      );
      // The trend spans the window's activity (its first snapshot to now), so a short run is a line, not a dot.
      const first = Math.min(w.to - 60_000, ...scored.flat().map((x) => x.at));
      const means = loadCatalog().stations.map((s, i) => ({
        station_id: s.id,
        mean: mean(scored[i]!.map((x) => x.score)),
      }));
      const path = pathLoss(means);
      return {
        window: {
          minutes: w.minutes,
          from: new Date(w.from).toISOString(),
          to: new Date(w.to).toISOString(),
        },
        largest_drop_station_id: path.largest_drop_station_id,
        stations: loadCatalog().stations.map((s, i) => {
          const list = scored[i]!;
          const newest = list[0];
          const { station_id: _id, ...loss } = path.stations[i]!;
          return {
            station_id: s.id,
            component: s.component,
            position: s.position,
            leg: s.leg,
            score: means[i]!.mean === null ? null : round(means[i]!.mean!),
            latest_score: newest ? newest.score : null,
            last_seen_at: newest ? new Date(newest.at).toISOString() : null,
            snapshots: list.length,
            trend: trend(list, Math.max(w.from, first), w.to + 1, TREND_BUCKETS),
            ...loss,
          };
        }),
      };
    },
  );

  app.get<{ Params: { id: string }; Querystring: WindowQuery }>(
    '/v1/stations/:id/summary',
    {
      preHandler: requireRole(deps.tokenSecret, ...READ_ROLES),
      schema: {
        summary:
          "One station over the window: score distribution, the worst calls, what its score loses on, and its share of the pipeline's quality loss",
        description: CAP_NOTE,
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['id'],
          properties: { id: q.int },
        },
        querystring: windowQuery,
      },
    },
    async (req) => {
      const tenant = readTenant(req, req.query.tenant_id);
      const id = stationParam(req.params.id, 'id')!;
      const w = windowOf(req.query);
      const scored = await Promise.all(
        loadCatalog().stations.map((s) => scoredWindow(deps, tenant, s.id, new Date(w.from))),
      );
      const idx = loadCatalog().stations.findIndex((s) => s.id === id);
      const mine = scored[idx]!;
      const path = pathLoss(
        loadCatalog().stations.map((s, i) => ({
          station_id: s.id,
          mean: mean(scored[i]!.map((x) => x.score)),
        })),
      );
      const spec = stationById(id)!;
      const { station_id: _id, ...loss } = path.stations[idx]!;
      return {
        station_id: id,
        component: spec.component,
        position: spec.position,
        leg: spec.leg,
        window: {
          minutes: w.minutes,
          from: new Date(w.from).toISOString(),
          to: new Date(w.to).toISOString(),
        },
        distribution: distribution(mine.map((x) => x.score)),
        worst_calls: worstCalls(mine, 10),
        component_losses: componentLosses(mine),
        ...loss,
      };
    },
  );
};
