// The online loop of one station over one call, in process: the same station pipeline, snapshot,
// controller and safety rules as the demo's, without Kafka, PostgreSQL and the outbox between them
// (those are the demo's and the integration tests' business; here thousands of iterations must
// run in minutes). Each segment is one iteration: the station processes it with the set in effect, the
// controller decides on its snapshot, the safety layer accepts or refuses, and an accepted change runs
// from the next segment, as the station agent applies it.
import { stationById } from '../catalog/index.ts';
import { checkChange } from '../config/safety.ts';
import { buildSnapshot } from '../domain/snapshot.ts';
import { type ControllerState, decide, markApplied, markRejected } from '../optimizer/core/index.ts';
import type { LearnedRegion } from '../optimizer/core/prior.ts';
import { createStationState, processSegment, type StationInput } from '../stations/pipeline.ts';

export interface LoopStart {
  /** Parameters in effect when the call starts (tenant/global config: catalog defaults or a batch prior). */
  params: Readonly<Record<string, number>>;
  /** Optional seed for the controller's exploration (default: its own hash of call and station). */
  seed?: number;
  /** The batch optimizer's learned region for the call's tenant and station. */
  prior?: LearnedRegion;
}

export interface LoopRun {
  /** The set that processed each segment, in order. */
  params: Record<string, number>[];
  /** Live scores of each segment's snapshot. */
  liveScores: number[];
  changes: number;
  rejected: number;
  rollbacks: number;
  /**
   * The set the controller stood by when the call ended: its known-good set (the last set it judged not
   * worse), with the cold values it queued. The last second's set unless that second ran a step the call
   * ended before judging (a probe, or a rule's step), or one the last verdict took back.
   */
  standing: Record<string, number>;
}

/** Simulated time between segments: a segment is a second of speech. */
const SEGMENT_MS = 1000;
// Call-scoped changes expire with the call, as the online optimizer's do.
const CALL_TTL_MS = 3_600_000;

export function runCallLoop(
  stationId: number,
  tenantId: string,
  callId: string,
  inputs: readonly StationInput[],
  start: LoopStart,
): LoopRun {
  const first = inputs[0];
  if (!first) throw new RangeError('a call needs at least one segment');
  const leg = stationById(stationId)?.leg === 'B' ? 'B' : 'A';
  const state = createStationState(stationId, start.params, first.sampleRate);
  let params: Record<string, number> = { ...start.params };
  let ctl: ControllerState | null = null;
  let version = 0;
  let lastChangeAt: number | null = null;
  const run: LoopRun = { params: [], liveScores: [], changes: 0, rejected: 0, rollbacks: 0, standing: {} };
  for (const [i, input] of inputs.entries()) {
    const now = i * SEGMENT_MS;
    run.params.push({ ...params });
    const { metrics } = processSegment(state, params, input);
    const snapshot = buildSnapshot(
      {
        tenant_id: tenantId,
        call_id: callId,
        channel: leg,
        segment: { index: i, start_ms: now, end_ms: now + SEGMENT_MS, utterance_id: null },
        station_id: stationId,
        metrics,
        applied_config_version: version,
      },
      now,
    );
    const d = decide({
      snapshot,
      current: params,
      state: ctl,
      now,
      explore: true,
      ...(start.seed === undefined ? {} : { seed: start.seed }),
      ...(start.prior ? { prior: start.prior } : {}),
    });
    run.liveScores.push(d.score.score);
    ctl = d.state;
    const set = d.rollback
      ? Object.fromEntries(
          Object.entries(d.rollback.to).filter(([k, v]) => Math.abs((params[k] ?? v) - v) > 1e-9),
        )
      : Object.fromEntries(d.proposals.map((p) => [p.name, p.new]));
    if (Object.keys(set).length === 0) continue;
    const verdict = checkChange({
      stationId,
      scope: { level: 'call', tenant_id: tenantId, call_id: callId },
      before: params,
      set,
      ttlMs: CALL_TTL_MS,
      isRollback: d.rollback !== null,
      lastChangeAt,
      now,
    });
    if (!verdict.ok) {
      ctl = markRejected(ctl);
      run.rejected++;
      continue;
    }
    params = verdict.after;
    lastChangeAt = now;
    ctl = markApplied(ctl, ++version);
    if (d.rollback) run.rollbacks++;
    else run.changes++;
  }
  const good = ctl?.known_good?.params;
  run.standing = good ? { ...good, ...ctl?.cold_queued } : { ...params };
  return run;
}
