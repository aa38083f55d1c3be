// A station agent (DESIGN §3): per call it keeps the station's DSP state, takes its effective
// parameters from the config feed (call > tenant > global > catalog defaults, TTLs on its own clock),
// applies a new set between segments — hot parameters at once, the rest at the next call — processes
// and measures each segment, uploads the PCM and publishes the snapshot stamped with the config
// version it ran with.
import { stationById } from '../../catalog/index.ts';
import type { Channel, StationSnapshot } from '../../contracts/generated.ts';
import { toPcm16 } from '../../domain/pcm.ts';
import type { StageEngine } from '../../engines/stage.ts';
import { VoiceloopError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import type { StationProducer } from '../../producers/stationProducer.ts';
import type { AudioStore } from '../../storage/audioStore.ts';
import { storeReplayAudio } from '../../storage/replayAudio.ts';
import { createStationState, processSegment, type StationInput, type StationState } from '../pipeline.ts';
import type { ConfigFeed } from './configFeed.ts';

export interface CallInfo {
  tenantId: string;
  callId: string;
  channel: Channel;
  codec?: string | null;
  labels?: Record<string, string>;
}

export interface SegmentInfo {
  index: number;
  startMs: number;
  endMs: number;
  utteranceId?: string | null;
}

export interface StationAgentOptions {
  stationId: number;
  feed: ConfigFeed;
  /** The station producer, or a spooling one in front of it (producers/spool.ts). */
  producer: Pick<StationProducer, 'publish'>;
  log: Logger;
  /** Upload each segment's processed PCM to the object store (off only for latency benchmarks). */
  uploadAudio?: boolean;
  /**
   * Also keep each segment's input (and, from a simulator, the clean reference and far end) in this
   * store, named in the snapshot's `replay.*` labels: what the batch optimizer's counterfactual replay
   * re-runs through the DSP chain. Network stations are skipped (their input is a packet trace).
   */
  replayAudio?: AudioStore;
  clock?: () => number;
  /** The station's stage engine (recognizer at 4, emotion analyzer at 11), run on its output. */
  stage?: StageEngine;
}

interface CallState {
  state: StationState;
  version: number;
  generation: number;
  params: Record<string, number>;
}

export interface ProcessedSegment {
  snapshot: StationSnapshot;
  output: Float32Array;
  params: Record<string, number>;
}

export class StationAgent {
  readonly stationId: number;
  private readonly calls = new Map<string, CallState>();
  private readonly clock: () => number;

  constructor(private readonly opts: StationAgentOptions) {
    if (!stationById(opts.stationId))
      throw new VoiceloopError('VALIDATION', `unknown station ${opts.stationId}`);
    this.stationId = opts.stationId;
    this.clock = opts.clock ?? Date.now;
  }

  /** The parameters this agent would run for a call right now, and their version. */
  effective(tenantId: string, callId: string) {
    return this.opts.feed.view.effective(this.stationId, tenantId, callId, this.clock());
  }

  private callState(call: CallInfo, sampleRate: number): CallState {
    const key = `${call.tenantId}/${call.callId}`;
    let cs = this.calls.get(key);
    const gen = this.opts.feed.generation;
    if (!cs) {
      const eff = this.effective(call.tenantId, call.callId);
      cs = {
        state: createStationState(this.stationId, eff.params, sampleRate),
        version: eff.version,
        generation: gen,
        params: eff.params,
      };
      this.calls.set(key, cs);
    } else if (cs.generation !== gen) {
      // Config moved since the last segment: swap the set in atomically before the next frame.
      const eff = this.effective(call.tenantId, call.callId);
      cs.state.setParams(eff.params);
      cs.version = eff.version;
      cs.generation = gen;
      cs.params = eff.params;
    }
    return cs;
  }

  async processSegment(call: CallInfo, seg: SegmentInfo, input: StationInput): Promise<ProcessedSegment> {
    const cs = this.callState(call, input.sampleRate);
    const { output, metrics } = processSegment(cs.state, cs.params, input);
    let stageLabels: Record<string, string> = {};
    const stage = this.opts.stage;
    if (stage !== undefined && stage.stationId === this.stationId) {
      const m = await stage.measure({
        callKey: `${call.tenantId}/${call.callId}`,
        input,
        output,
        latencySamples: cs.state.chain.latencySamples,
      });
      Object.assign(metrics, m.metrics);
      stageLabels = m.labels;
    }
    const pcm =
      this.opts.uploadAudio === false ? undefined : { bytes: toPcm16(output), sampleRate: input.sampleRate };
    const replay =
      this.opts.replayAudio && !stationById(this.stationId)?.network
        ? await storeReplayAudio(this.opts.replayAudio, call.tenantId, input)
        : {};
    const snapshot = await this.opts.producer.publish(
      {
        tenant_id: call.tenantId,
        call_id: call.callId,
        channel: call.channel,
        segment: {
          index: seg.index,
          start_ms: seg.startMs,
          end_ms: seg.endMs,
          utterance_id: seg.utteranceId ?? null,
        },
        station_id: this.stationId,
        captured_at: this.clock(),
        metrics,
        applied_config_version: cs.version,
        codec: call.codec ?? null,
        labels: { ...(call.labels ?? {}), ...stageLabels, ...replay },
      },
      pcm,
    );
    return { snapshot, output, params: { ...cs.state.params() } };
  }

  /** Forgets a call's state; cold parameters queued for it apply to the next call. */
  endCall(tenantId: string, callId: string): void {
    this.calls.delete(`${tenantId}/${callId}`);
    this.opts.stage?.endCall(`${tenantId}/${callId}`);
  }

  get activeCalls(): number {
    return this.calls.size;
  }
}
