// One call's observation in an experiment, pure: the scorecard (optimizer/core/scorecard.ts) of the
// call's first k segments at the station after it was enrolled — the same score the online optimizer
// and the batch optimizer judge by, from the persisted snapshots.
import type { Scorecard, StationSnapshot } from '../../contracts/generated.ts';
import { buildScorecard } from '../core/index.ts';

/** Without the input's factors, as the optimizers judge: which callers an arm drew is no config's doing. */
const CHAIN = { input: false } as const;

export interface CallObservation {
  score: number;
  snapshot_ids: string[];
}

/** The first `k` snapshots by segment index, scored; null while the call has fewer than `k`. */
export function callObservation(snaps: readonly StationSnapshot[], k: number): CallObservation | null {
  // A segment seen twice (a replayed agent) counts once.
  const bySegment = new Map<number, StationSnapshot>();
  for (const s of snaps) if (!bySegment.has(s.segment.index)) bySegment.set(s.segment.index, s);
  const first = [...bySegment.values()].sort((a, b) => a.segment.index - b.segment.index).slice(0, k);
  if (first.length < k) return null;
  return { score: buildScorecard(first, CHAIN).overall, snapshot_ids: first.map((s) => s.snapshot_id) };
}

/** The scorecard of an arm: every counted snapshot, components averaged (what made the difference). */
export function armScorecard(snaps: readonly StationSnapshot[]): Scorecard {
  return buildScorecard(snaps, CHAIN);
}
