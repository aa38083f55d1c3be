// What a tenant-scoped batch run hands the online controller (issue 10, batch knowledge served
// online): per station, the winning candidate as the region's centre, and per parameter a radius
// from the Gaussian process's length-scale — a short one means the score changes fast along that
// parameter, so the controller should step finely there. Pure.
import { parameterByName } from '../../catalog/index.ts';
import type { LearnedRegionRow } from '../../storage/learnedRegions.ts';
import type { GroupReport } from './report.ts';
import type { BatchRequest } from './request.ts';

// Half a length-scale is where the GP's correlation is still high (exp(-1/8) for an RBF): inside it
// the learned centre's neighbours score alike. Never beyond a max step, never below an eighth of one.
const RADIUS_PER_LENGTH_SCALE = 0.5;
const RADIUS_MIN_STEPS = 1 / 8;

function lengthShares(model: unknown): Record<string, number> {
  const m = model as { length_scales_share?: Record<string, number> } | null;
  return m?.length_scales_share ?? {};
}

export function regionsOf(
  reports: readonly GroupReport[],
  scope: BatchRequest['scope'],
  runId: string,
): LearnedRegionRow[] {
  if (scope.level !== 'tenant' || !scope.tenant_id) return [];
  const out = new Map<number, LearnedRegionRow>();
  for (const g of reports) {
    if (g.winner === null || out.has(g.context.station_id)) continue;
    const c = g.candidates[g.winner]!;
    const shares = lengthShares(g.learning?.model);
    const params = { ...(g.baseline?.params ?? {}), ...c.params };
    const radius: Record<string, number> = {};
    for (const name of Object.keys(params)) {
      const spec = parameterByName(name);
      if (!spec) continue;
      const share = shares[name];
      const r =
        share === undefined ? spec.max_step / 2 : RADIUS_PER_LENGTH_SCALE * share * (spec.max - spec.min);
      radius[name] = Math.min(spec.max_step, Math.max(RADIUS_MIN_STEPS * spec.max_step, r));
    }
    out.set(g.context.station_id, {
      tenantId: scope.tenant_id,
      stationId: g.context.station_id,
      params,
      radius,
      score: c.expected_score,
      runId,
    });
  }
  return [...out.values()];
}
