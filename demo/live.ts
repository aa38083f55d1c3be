// The demo's live loop: the calls run side by side, each segment one iteration — every station
// processes and publishes, the online optimizer decides, a change goes out on the config topic and the
// agents apply it before the next segment. What the loop saw is kept for the summary (live.ts records,
// summarize.ts judges).
import { parameterByName, stationById } from '../catalog/index.ts';
import { DEFAULT_POLICY } from '../config/safety.ts';
import type { DecisionOutcome } from '../consumers/online/index.ts';
import type { StationSnapshot } from '../contracts/generated.ts';
import type { CodecName } from '../media/rtp/codecs.ts';
import { type MediaThread, startMediaThread } from '../media/rtp/mediaThread.ts';
import type { ReceptionFigures } from '../media/rtp/session.ts';
import type { StationAgent } from '../stations/agent/index.ts';
import type { StationInput } from '../stations/pipeline.ts';
import { type ImpairmentSet, type SimSegment, simulateCall } from '../stations/sim/index.ts';
import type { DemoArgs } from './args.ts';
import type { Progress } from './progress.ts';
import { type RtpLeg, startRtpLeg } from './rtpLegs.ts';
import type { DemoSummary } from './types.ts';

/** Wait after a change before the next segment: a little longer than the call-scope cool-down. */
const COOL_DOWN_GAP_MS = DEFAULT_POLICY.coolDownMs.call + 20;
const DECISION_TIMEOUT_MS = 15_000;

type IterationRow = DemoSummary['per_iteration'][number];

/** What the live loop saw, per station (and per call where the summary needs it). */
export interface LiveRecord {
  /** Per station, call and segment: the online optimizer's score of the live snapshot. */
  scores: Map<number, number[][]>;
  counts: Map<number, { changes: number; rejected: number; rollbacks: number }>;
  /** Per station: the set that ran the last call's last segment. */
  lastParams: Map<number, Record<string, number>>;
  /**
   * Per station and call: the inputs of each segment and the parameters that processed it, for the
   * counterfactual evaluation at the end (every parameter set scored on the same audio).
   */
  history: Map<number, { inputs: StationInput[]; params: Record<string, number>[] }[]>;
  boundsViolations: number;
  stepViolations: number;
  perIteration: IterationRow[];
  ttsLatencies: number[];
  rtpCalls: Map<number, ReceptionFigures[]>;
  rtpCodec: Map<number, CodecName>;
}

function newLiveRecord(stations: readonly number[]): LiveRecord {
  return {
    scores: new Map(stations.map((s) => [s, []])),
    counts: new Map(stations.map((s) => [s, { changes: 0, rejected: 0, rollbacks: 0 }])),
    lastParams: new Map(),
    history: new Map(stations.map((s) => [s, []])),
    boundsViolations: 0,
    stepViolations: 0,
    perIteration: [],
    ttsLatencies: [],
    rtpCalls: new Map(),
    rtpCodec: new Map(),
  };
}

/**
 * The online optimizer's decisions, by snapshot id: the role's observer hands them in (possibly before
 * the segment's code asks), `wait` takes one out.
 */
export function decisionWaiter() {
  const waiters = new Map<string, (o: DecisionOutcome) => void>();
  const early = new Map<string, DecisionOutcome>();
  return {
    onDecision(snap: StationSnapshot, out: DecisionOutcome): void {
      const w = waiters.get(snap.snapshot_id);
      if (w) w(out);
      else early.set(snap.snapshot_id, out);
    },
    wait(id: string, timeoutMs = DECISION_TIMEOUT_MS): Promise<DecisionOutcome> {
      return new Promise<DecisionOutcome>((resolve, reject) => {
        const got = early.get(id);
        if (got) {
          early.delete(id);
          return resolve(got);
        }
        const t = setTimeout(() => {
          waiters.delete(id);
          reject(new Error(`no online decision for snapshot ${id} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.set(id, (o) => {
          clearTimeout(t);
          waiters.delete(id);
          resolve(o);
        });
      });
    },
  };
}

export type DecisionWaiter = ReturnType<typeof decisionWaiter>;

export interface LiveContext {
  tenant: string;
  stations: readonly number[];
  agents: ReadonlyMap<number, StationAgent>;
  impairments: ImpairmentSet;
  args: Pick<DemoArgs, 'calls' | 'segments' | 'seed'>;
  decisions: DecisionWaiter;
  progress: Progress;
  warn: (line: string) => void;
}

interface CallRun {
  ctx: LiveContext;
  record: LiveRecord;
  call: number;
  callId: string;
  legs: Map<number, RtpLeg>;
  /** Per station: the set that ran the previous segment (for the max_step audit). */
  prevParams: Map<number, Record<string, number>>;
}

async function waitApplied(
  agent: StationAgent,
  tenant: string,
  callId: string,
  version: number,
  timeoutMs = DECISION_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (agent.effective(tenant, callId).version < version) {
    if (Date.now() > deadline)
      throw new Error(
        `station ${agent.stationId} did not apply config version ${version} within ${timeoutMs} ms`,
      );
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Safety audit of what actually ran: inside the catalog bounds, steps within max_step. */
function audit(record: LiveRecord, prev: Record<string, number> | undefined, params: Record<string, number>) {
  for (const [name, v] of Object.entries(params)) {
    const spec = parameterByName(name);
    if (!spec) continue;
    if (v < spec.min - 1e-9 || v > spec.max + 1e-9) record.boundsViolations++;
    const before = prev?.[name];
    if (before !== undefined && Math.abs(v - before) > spec.max_step + 1e-9) record.stepViolations++;
  }
}

/** One station's part of one segment; resolves to the time a change came back, or 0. */
async function stationSegment(run: CallRun, seg: SimSegment, s: number, row: IterationRow): Promise<number> {
  const { ctx, record } = run;
  const simInput = seg.inputs.get(s);
  if (!simInput) return 0;
  const leg = run.legs.get(s);
  const input = leg ? await leg.segment(seg.index, simInput) : simInput;
  const agent = ctx.agents.get(s)!;
  const res = await agent.processSegment(
    {
      tenantId: ctx.tenant,
      callId: run.callId,
      channel: stationById(s)!.leg,
      codec: 'pcmu',
      labels: input.labels,
    },
    { index: seg.index, startMs: seg.startMs, endMs: seg.endMs },
    input,
  );
  leg?.sendOutput(res.output);
  audit(record, run.prevParams.get(s), res.params);
  run.prevParams.set(s, res.params);
  const h = record.history.get(s)![run.call]!;
  h.inputs.push(input);
  h.params.push({ ...res.params });
  if (run.call === ctx.args.calls - 1) record.lastParams.set(s, res.params);
  if (res.snapshot.metrics.tts_latency_ms !== null)
    record.ttsLatencies.push(res.snapshot.metrics.tts_latency_ms);
  const out = await ctx.decisions.wait(res.snapshot.snapshot_id);
  const score = out.decision.score.score;
  record.scores.get(s)![run.call]!.push(score);
  row.scores[s] = score;
  row.ref[s] = res.snapshot.metrics.reference_seg_snr_db;
  const k = record.counts.get(s)!;
  let changedAt = 0;
  if (out.change) {
    changedAt = Date.now();
    if (out.change.status === 'applied') {
      if (out.rolledBack !== null || out.decision.rollback) k.rollbacks++;
      else k.changes++;
      await waitApplied(agent, ctx.tenant, run.callId, out.change.record!.version);
    } else k.rejected++;
  }
  ctx.progress.update(s, {
    call: run.call + 1,
    iteration: seg.index + 1,
    score,
    ref: res.snapshot.metrics.reference_seg_snr_db,
    converged: out.state.converged,
  });
  return changedAt;
}

async function runCall(ctx: LiveContext, record: LiveRecord, media: MediaThread, c: number): Promise<void> {
  const call = simulateCall({
    impairments: ctx.impairments,
    callIndex: c,
    seed: ctx.args.seed,
    segments: ctx.args.segments,
  });
  const run: CallRun = {
    ctx,
    record,
    call: c,
    callId: `${ctx.tenant}-call-${c}`,
    legs: new Map(),
    prevParams: new Map(),
  };
  for (const s of ctx.stations) {
    record.scores.get(s)![c] = [];
    record.history.get(s)![c] = { inputs: [], params: [] };
  }
  // The gateway stations take this call as real RTP on loopback, paced in real time.
  for (const s of ctx.stations)
    if (stationById(s)!.network) run.legs.set(s, await startRtpLeg(media, s, call.segments));
  try {
    for (const seg of call.segments) {
      const row: IterationRow = { call: c, iteration: seg.index + 1, scores: {}, ref: {} };
      const changedAt = await Promise.all(ctx.stations.map((s) => stationSegment(run, seg, s, row)));
      record.perIteration.push(row);
      // A live segment lasts its real second; after a change the next segment waits out the
      // call-scope cool-down before it can lead to another.
      const rest = Math.max(0, ...changedAt) + COOL_DOWN_GAP_MS - Date.now();
      if (rest > 0) await new Promise((r) => setTimeout(r, rest));
    }
  } finally {
    for (const [s, leg] of run.legs) {
      const fig = await leg.close();
      if (fig) record.rtpCalls.set(s, [...(record.rtpCalls.get(s) ?? []), fig]);
      record.rtpCodec.set(s, leg.codec);
    }
  }
  for (const a of ctx.agents.values()) a.endCall(ctx.tenant, run.callId);
}

/** Runs the demo's calls side by side (each paced in real time on its RTP legs, as a live gateway carries them). */
export async function runLiveCalls(ctx: LiveContext): Promise<LiveRecord> {
  const record = newLiveRecord(ctx.stations);
  ctx.progress.start([...ctx.stations], ctx.args.calls * ctx.args.segments);
  const media = startMediaThread(ctx.warn);
  try {
    await Promise.all(Array.from({ length: ctx.args.calls }, (_, c) => runCall(ctx, record, media, c)));
  } finally {
    await media.stop();
  }
  record.perIteration.sort((a, b) => a.call - b.call || a.iteration - b.iteration);
  ctx.progress.stop();
  return record;
}
