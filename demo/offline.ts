// The yardstick for the online loop: the best score an offline search over the catalog finds for each
// station on the same impaired audio, with the same pipeline and scorecard (issue 4, "Done when").
import { parametersForStation } from '../catalog/index.ts';
import type { StationSnapshot } from '../contracts/generated.ts';
import { scoreSnapshot, searchBest } from '../optimizer/core/index.ts';
import { buildSnapshot } from '../producers/snapshot.ts';
import { processBufferOnce, type StationInput } from '../stations/pipeline.ts';

export function scoreInput(
  stationId: number,
  params: Record<string, number>,
  input: StationInput,
): { score: number; ref: number | null } {
  const { metrics } = processBufferOnce(stationId, params, input);
  const snap: StationSnapshot = buildSnapshot({
    tenant_id: 'offline',
    call_id: 'offline',
    channel: 'A',
    segment: { index: 0, start_ms: 0, end_ms: 1000, utterance_id: null },
    station_id: stationId,
    metrics,
  });
  return { score: scoreSnapshot(snap).score, ref: metrics.reference_seg_snr_db };
}

export interface OfflineBest {
  params: Record<string, number>;
  score: number;
  evaluations: number;
}

/** Best mean score over `inputs` found by the offline search, with the catalog defaults as start. */
export function offlineBest(
  stationId: number,
  inputs: readonly StationInput[],
  budget: number,
  seed: number,
  start: Record<string, number>,
): OfflineBest {
  const evaluate = (params: Record<string, number>) => {
    let sum = 0;
    for (const input of inputs) sum += scoreInput(stationId, params, input).score;
    return sum / inputs.length;
  };
  const r = searchBest(evaluate, parametersForStation(stationId), { start, budget, seed });
  return { params: r.params, score: r.score, evaluations: r.evaluations };
}
