// The per-station processing pipeline (DESIGN §3): one segment of a station's input in, the processed
// audio and the station's Metrics record out. Pure apart from the per-call state it is handed: the
// station agent runs it online with one StationState per call, the batch optimizer runs it on stored
// segments with candidate parameters (processBufferOnce, counterfactual replay), and the simulator's
// segments feed both the same way.
//
// Network stations (catalog `network`, stations 2 and 10) take RTP packets with arrival times: they go
// through a jitter buffer whose playout delay is `jitter_buffer_ms`, then the DSP chain. Their network
// metrics come from the packet trace: loss as the jitter buffer saw it (late packets are lost too),
// burstiness of that loss, RFC 3550 jitter, and mouth-to-ear delay, rated by the G.107 E-model.
//
// `reference_seg_snr_db` is set only when the input carries the clean signal (a simulator's truth).
// Stage metrics: STT confidence and WER come from a real recognizer, run by the agent's stage engine
// after this pure step (engines/); TTS latency is the synthesizer's measured time plus the chain's
// delay; the emotion confidence is engines/emotion/model.ts's unless the agent's Hume engine's.
import {
  clippedRatio,
  createChain,
  type DspChain,
  HUM_RELEASE_ANALYSES,
  HumDetector,
  JitterBuffer,
  NoiseNeed,
  type RtpPacket,
  type SetParamsResult,
} from '../audio/dsp/index.ts';
import {
  type EchoReading,
  familyShare,
  lossStats,
  measureAudio,
  networkMetrics,
  ResidualEcho,
  Rfc3550Jitter,
  speechLevelOrNull,
  speechLossDb,
} from '../audio/metrics/index.ts';
import { type StationSpec, stationById } from '../catalog/index.ts';
import type { Metrics, NetworkMetrics } from '../contracts/generated.ts';
import { modelledEmotionConfidence } from '../engines/emotion/model.ts';
import type { SegmentResult, StationInput, TransportFigures } from './segment.ts';
import { bestLag, segmentalSnrDb } from './sim/reference.ts';

export type { SegmentResult, StationInput, TransportFigures, Utterance } from './segment.ts';

/** Per-call state of one station: the DSP chain, the jitter buffer and the jitter estimator. */
export interface StationState {
  readonly stationId: number;
  readonly sampleRate: number;
  readonly chain: DspChain;
  /**
   * Hot parameters take effect now (jitter_buffer_ms from the next segment's playout); cold ones (the
   * echo canceller's tail) at resetForNewCall().
   */
  setParams(params: Readonly<Record<string, number>>): SetParamsResult;
  /** Parameters in effect now. */
  params(): Record<string, number>;
  /** Starts a new call: queued cold parameters apply, every signal and network state starts over. */
  resetForNewCall(): void;
}

// Packetization interval of the network legs (RTP default for G.711, RFC 3551).
const FRAME_MS = 20;
// How far back the input's noise margin looks: longer than RNNoise's own 3 s, which a clean talker can
// fill without a pause (gen-5-1 station 3 read 50 dB, as noisy, for a segment), so a snapshot's reading
// says whether the input holds noise. Noise that starts mid-call shows once it has filled the window.
const INPUT_NOISE_WINDOW_S = 6;
// Frames the jitter buffer may have started late by (lost first packets) when aligning with the clean.
const MAX_ANCHOR_SHIFT_FRAMES = 4;
type Params = Readonly<Record<string, number>>;

class State implements StationState {
  readonly spec: StationSpec;
  private jb: JitterBuffer | undefined;
  private readonly jitter = new Rfc3550Jitter();
  /** The last `latencySamples` clean samples of the previous segment (the chain's delay line). */
  private cleanTail: Float32Array;
  /**
   * The chain's tap (its near end after the echo canceller) delayed to line up with its output: the
   * reference the speech loss is measured against. Its delay line holds what the tap is ahead by.
   */
  private tapTail: Float32Array;
  /** The input's noise margin (metrics.input_noise_margin_db), read from the tap over the call. */
  private readonly inputNoise: NoiseNeed;
  /** The output's residual echo (metrics.residual_echo_db), read against the far end over the call. */
  private readonly echo: ResidualEcho;
  /**
   * The input's hum family, followed over the call from the tap (the hum canceller's detector: any
   * stationary line family from 16 to 950 Hz, 2.5 s of spectra). metrics.audio.hum_ratio counts it at
   * the output as well as the 50/60 Hz ones (a 1 s segment alone could not tell such a line from a
   * voice's steady pitch), metrics.input_hum_ratio at the input. A replay of one stored 1 s segment
   * (processBufferOnce) is too short for it to find one: there hum_ratio reads the 50/60 Hz families
   * only, and input_hum_ratio null (as in a call's first 2.5 s, before the detector could say none).
   */
  private readonly hum: HumDetector;
  private humHz = 0;
  private humMissed = 0;
  /** RTP timestamp of the jitter buffer's slot 0 (its first packet). */
  private anchorTs: number | undefined;

  constructor(
    readonly chain: DspChain,
    spec: StationSpec,
  ) {
    this.spec = spec;
    this.cleanTail = new Float32Array(chain.latencySamples);
    this.tapTail = new Float32Array(chain.latencySamples - chain.tapLatencySamples);
    this.inputNoise = new NoiseNeed(
      chain.sampleRate,
      Math.round(chain.sampleRate / 100),
      INPUT_NOISE_WINDOW_S,
    );
    this.echo = new ResidualEcho(chain.sampleRate);
    this.hum = new HumDetector(chain.sampleRate);
  }

  get stationId(): number {
    return this.chain.stationId;
  }

  get sampleRate(): number {
    return this.chain.sampleRate;
  }

  setParams(params: Params): SetParamsResult {
    return this.chain.setParams(params);
  }

  params(): Record<string, number> {
    return this.chain.params();
  }

  /** Applies only what differs from what is in effect or queued, so an unchanged set never re-ramps a block. */
  sync(params: Params): void {
    const now = this.chain.params();
    const queued = this.chain.pendingParams();
    const diff: Record<string, number> = {};
    let any = false;
    for (const [name, value] of Object.entries(params)) {
      if (value !== (queued[name] ?? now[name])) {
        diff[name] = value;
        any = true;
      }
    }
    if (any) this.chain.setParams(diff);
  }

  resetForNewCall(): void {
    this.chain.resetForNewCall();
    this.jb = undefined;
    this.jitter.reset();
    // A cold switch (the declipper) may have changed the chain's delay.
    this.cleanTail = new Float32Array(this.chain.latencySamples);
    this.tapTail = new Float32Array(this.chain.latencySamples - this.chain.tapLatencySamples);
    this.inputNoise.reset();
    this.echo.reset();
    this.hum.reset();
    this.humHz = 0;
    this.humMissed = 0;
    this.anchorTs = undefined;
  }

  /** Clean reference aligned with the chain's output: the input's clean delayed by the chain latency. */
  delayedClean(clean: Float32Array): Float32Array {
    const { ext, tail } = delayed(this.cleanTail, clean);
    this.cleanTail = tail;
    return ext;
  }

  /** The chain's tap aligned with its output (the first `tap.length` samples of the result). */
  delayedTap(tap: Float32Array): Float32Array {
    const { ext, tail } = delayed(this.tapTail, tap);
    this.tapTail = tail;
    return ext;
  }

  /**
   * Reads a segment of the near end into the input's noise margin, in 10 ms frames (a segment's tail
   * short of a frame is left out), and returns the margin over the last INPUT_NOISE_WINDOW_S; null before a first frame.
   */
  inputNoiseMargin(near: Float32Array): number | null {
    const hop = this.inputNoise.frameSamples;
    let frames = 0;
    for (let i = 0; i + hop <= near.length; i += hop, frames++)
      this.inputNoise.push(near.subarray(i, i + hop));
    return frames > 0 || this.inputNoise.value() > 0 ? this.inputNoise.value() : null;
  }

  /** Whether the hum detector has read a full history of the input: its 0 then says no family. */
  get humSettled(): boolean {
    return this.hum.settled;
  }

  /** Reads a segment of the near end into the hum detector: the fundamental of its hum family, 0 for none. */
  inputHumHz(near: Float32Array): number {
    for (let i = 0; i < near.length; i++) {
      if (!this.hum.push(near[i] as number)) continue;
      const family = this.hum.analyze(true);
      if (family !== null) {
        this.humHz = family.f0;
        this.humMissed = 0;
      } else if (this.humHz > 0 && ++this.humMissed >= HUM_RELEASE_ANALYSES) this.humHz = 0;
    }
    return this.humHz;
  }

  /** Reads a segment of the far end and the output into the residual echo; null without a far end. */
  residualEcho(far: Float32Array | undefined, output: Float32Array): EchoReading | null {
    if (far === undefined) return null;
    this.echo.push(far, output);
    return this.echo.read();
  }

  /**
   * Plays `frames` frames out of the jitter buffer, pushing `packets` at their arrival times. Returns
   * the audio and which frames came from a packet (the rest were concealed). With `firstTimestamp`
   * (the RTP timestamp of the segment's first frame) output frames follow the sender's frame grid;
   * without it they follow the buffer's, which starts at the first packet to arrive.
   */
  playout(
    packets: readonly RtpPacket[],
    frames: number,
    firstTimestamp: number | undefined,
  ): { audio: Float32Array; received: boolean[]; fill: number } {
    const targetMs = this.chain.params()['jitter_buffer_ms'];
    if (targetMs === undefined)
      throw new Error(`station ${this.stationId} has no jitter_buffer_ms parameter`);
    this.jb ??= new JitterBuffer({ targetMs, sampleRate: this.sampleRate, frameMs: FRAME_MS });
    const jb = this.jb;
    // jitter_buffer_ms is hot: a new target takes effect from this segment's first frame (the buffer
    // grows by delaying playout, or shrinks by dropping quiet or missing frames at the playout boundary).
    if (jb.targetMs !== targetMs) jb.setTargetMs(targetMs);
    const fs = jb.frameSamples;
    const audio = new Float32Array(frames * fs);
    const received: boolean[] = [];
    const skipped = new Float32Array(fs);
    let fillSum = 0;
    let done = 0;
    // Buffer slot of output frame `done` (the jitter buffer's numbering: slot 0 is its first packet).
    const slotOf = (): number => {
      if (firstTimestamp === undefined || this.anchorTs === undefined) return jb.nextSlotIndex;
      return Math.round(((firstTimestamp + done * fs - this.anchorTs) | 0) / fs);
    };
    const playOne = (): void => {
      const frame = audio.subarray(done * fs, (done + 1) * fs);
      const slot = slotOf();
      // The buffer's own next slot, not a count of slots pulled: playout starts before slot 0 when the
      // first packets arrive reordered but in time, and a count would then put every later frame that
      // many frames late (40 ms behind the sender's grid with a 300 ms buffer on 128 ms of jitter).
      if (jb.started() && slot >= jb.nextSlotIndex) {
        // A gap in the grid (never expected with contiguous segments) is played through and dropped.
        while (jb.nextSlotIndex < slot) jb.pullSlot(skipped);
        // One output frame per slot, on the sender's grid: a slot dropped to shrink the buffer still
        // yields its audio as heard (a quiet packet, or concealment), so the output stays aligned.
        const r = jb.pullSlot(frame);
        received.push(r.fromPacket);
        fillSum += r.fill;
      } else received.push(false);
      done++;
    };
    // Arrival order, as the network delivers them (stable for equal times).
    const order = packets
      .map((p, i) => ({ p, i }))
      .sort((a, b) => a.p.arrivalMs - b.p.arrivalMs || a.i - b.i);
    for (const { p } of order) {
      // Each frame plays at its slot's playout time (frames before the buffer's first slot too, so a
      // reordered first packet still in time is waited for).
      while (done < frames && jb.started() && (jb.slotPlayoutMs(slotOf()) as number) < p.arrivalMs) {
        playOne();
      }
      if (!jb.started()) this.anchorTs = p.timestamp;
      jb.push(p);
      this.jitter.update(p.timestamp, p.arrivalMs, this.sampleRate);
    }
    while (done < frames) playOne();
    return { audio, received, fill: frames === 0 ? 0 : fillSum / frames };
  }

  networkMetrics(
    received: boolean[],
    fill: number,
    networkDelayMs: number,
    transport: TransportFigures | undefined,
  ): NetworkMetrics {
    let jitterMs = this.jitter.jitterMs;
    let networkLoss: number | undefined;
    if (transport !== undefined) {
      networkLoss = transport.expected > 0 ? Math.min(1, transport.lost / transport.expected) : 0;
      jitterMs = transport.jitterMs;
      if (transport.rttMs !== null) networkDelayMs = transport.rttMs / 2;
    }
    const m = networkMetrics({
      loss: lossStats(received),
      jitterMs,
      networkDelayMs,
      jitterBufferDelayMs: this.jb?.playoutDelayMs ?? 0,
      jitterBufferFill: fill,
      // Packetization (one frame) plus the DSP chain's own delay.
      codecDelayMs: FRAME_MS + (1000 * this.chain.latencySamples) / this.sampleRate,
      // Concealment is G.711 Appendix I style, so G.113's G.711-with-PLC robustness applies.
      codec: 'g711-plc',
    });
    // On real RTP the reported loss is the network's, as RTCP counts it; the E-model keeps rating what
    // the listener got (late discards of the jitter buffer included), as it does for a packet trace.
    return networkLoss === undefined ? m : { ...m, packet_loss_ratio: networkLoss };
  }
}

/** `x` behind the previous segment's `tail` (a delay line of tail.length samples), and the new tail. */
function delayed(tail: Float32Array, x: Float32Array): { ext: Float32Array; tail: Float32Array } {
  const lat = tail.length;
  const ext = new Float32Array(lat + x.length);
  ext.set(tail);
  ext.set(x, lat);
  return { ext, tail: ext.slice(ext.length - lat) };
}

const attached = new WeakMap<DspChain, State>();

function requireStation(stationId: number): StationSpec {
  const spec = stationById(stationId);
  if (spec === undefined) throw new RangeError(`unknown station ${stationId}`);
  return spec;
}

/** A fresh per-call state; `params` may be partial (catalog defaults fill the rest). */
export function createStationState(stationId: number, params: Params, sampleRate: number): StationState {
  const spec = requireStation(stationId);
  const state = new State(createChain(stationId, params, { sampleRate }), spec);
  attached.set(state.chain, state);
  return state;
}

/** The StationState behind a bare DspChain (created on first use), e.g. to reset it for a new call. */
export function stationStateOf(chain: DspChain): StationState {
  return resolve(chain);
}

function resolve(target: StationState | DspChain): State {
  if (target instanceof State) return target;
  const chain = 'chain' in target ? target.chain : (target as DspChain);
  let state = attached.get(chain);
  if (state === undefined) {
    state = new State(chain, requireStation(chain.stationId));
    attached.set(chain, state);
  }
  return state;
}

function checkInput(state: State, input: StationInput): void {
  if (input.stationId !== state.stationId) {
    throw new RangeError(`input is for station ${input.stationId}, the state for station ${state.stationId}`);
  }
  if (input.sampleRate !== state.sampleRate) {
    throw new RangeError(`input at ${input.sampleRate} Hz, the station runs at ${state.sampleRate} Hz`);
  }
  const n = input.samples.length;
  for (const key of ['farEnd', 'clean'] as const) {
    const x = input[key];
    if (x !== undefined && x.length !== n)
      throw new RangeError(`${key} has ${x.length} samples, samples ${n}`);
  }
}

interface RunOptions {
  /** Flush the chain's delay so the output is time-aligned with the input (counterfactual replay). */
  flush: boolean;
}

function run(state: State, input: StationInput, opts: RunOptions): SegmentResult {
  checkInput(state, input);
  const sr = state.sampleRate;
  const n = input.samples.length;
  const lat = state.chain.latencySamples;
  let chainIn = input.samples;
  let network: NetworkMetrics | null = null;
  const packets = state.spec.network ? input.packets : undefined;
  const frame = Math.round((sr * FRAME_MS) / 1000);
  if (packets !== undefined) {
    if (n % frame !== 0) {
      throw new RangeError(`a network segment must be whole ${FRAME_MS} ms frames: ${n} samples at ${sr} Hz`);
    }
    const played = state.playout(packets, n / frame, input.rtpTimestamp);
    chainIn = played.audio;
    network = state.networkMetrics(played.received, played.fill, input.networkDelayMs ?? 0, input.transport);
  }

  let output: Float32Array;
  // The near end after the echo canceller, lined up with the output: what the speech loss is judged from.
  let tapAligned: Float32Array;
  // What the gate and the AGC see, less the input gain: the input speech level is read from it. The
  // tap itself is the raw input where there is no echo canceller, and an offset or a hum the chain
  // takes out before the gate read there as the talker (gen-9-9 station 3: a -0.078 offset read -22
  // dBov under a -44 dBov talker, the gate's margin 48 dB while the gate chopped its quiet syllables).
  let gateIn: Float32Array;
  const tapLat = state.chain.tapLatencySamples;
  if (opts.flush && lat > 0) {
    const near = new Float32Array(n + lat);
    near.set(chainIn);
    let far: Float32Array | undefined;
    if (input.farEnd !== undefined) {
      far = new Float32Array(n + lat);
      far.set(input.farEnd);
    }
    const tap = new Float32Array(n + lat);
    gateIn = new Float32Array(n + lat);
    output = state.chain.process(near, far, near, tap, gateIn).subarray(lat);
    tapAligned = tap.subarray(tapLat, tapLat + n);
  } else {
    // The segment's output is kept by the caller: its own buffer, not the chain's reused one.
    const tap = new Float32Array(n);
    gateIn = new Float32Array(n);
    output = state.chain.process(chainIn, input.farEnd, new Float32Array(n), tap, gateIn);
    tapAligned = state.delayedTap(tap).subarray(0, n);
  }

  const humHz = state.inputHumHz(tapAligned);
  const audio = measureAudio(output, sr, { humHz });
  const speechLoss = speechLossDb(tapAligned, output, sr);
  const inputNoise = state.inputNoiseMargin(tapAligned);
  const echo = state.residualEcho(input.farEnd, output);
  let reference: number | null = null;
  if (input.clean !== undefined) {
    // ext[j] is the clean sample that output[j + shift] should match, for the known chain delay.
    const ext = opts.flush ? input.clean : state.delayedClean(input.clean);
    let aligned = ext;
    if (packets !== undefined && input.rtpTimestamp === undefined) {
      // Without the sender's frame grid the output follows the jitter buffer's, which starts at the
      // first packet to arrive: whole frames ahead of the clean signal if the first ones were lost.
      const candidates = Array.from({ length: MAX_ANCHOR_SHIFT_FRAMES + 1 }, (_, m) => -m * frame);
      const lag = bestLag(output, ext, candidates);
      aligned = ext.subarray(-lag);
    }
    reference = segmentalSnrDb(output, aligned, sr);
  }

  const stages = state.spec.stage_metrics;
  const tts = input.stage?.ttsLatencyMs;
  const metrics: Metrics = {
    audio,
    network,
    stt_confidence: null,
    stt_word_error_rate: null,
    tts_latency_ms: stages.includes('tts_latency_ms') && tts !== undefined ? tts + (1000 * lat) / sr : null,
    emotion_confidence: stages.includes('emotion_confidence')
      ? modelledEmotionConfidence({ audio, referenceSegSnrDb: reference })
      : null,
    reference_seg_snr_db: reference,
    speech_loss_db: speechLoss,
    input_noise_margin_db: inputNoise,
    residual_echo_db: echo?.residualDb ?? null,
    // As the echo canceller sees it: the output trails the canceller by the blocks after it.
    echo_delay_ms: echo?.delayMs == null ? null : Math.max(0, echo.delayMs - (1000 * (lat - tapLat)) / sr),
    input_speech_level_dbov: speechLevelOrNull(gateIn, sr), // the gate's, less the input gain
    sample_rate_hz: sr,
    input_clipping_ratio: clippedRatio(chainIn, sr), // as it arrives, before the declipper
    input_hum_ratio: state.humSettled ? familyShare(tapAligned, sr, humHz) : null,
  };
  // The same reading tells the canceller where an echo past its tail is (audio/dsp/echoDelay.ts), so it
  // runs no detector of its own.
  state.chain.observeEcho(
    echo === null ? null : { residualDb: echo.residualDb, delayMs: metrics.echo_delay_ms ?? null },
  );
  return { output, metrics };
}

/**
 * Processes one segment of a call. `target` is the call's StationState (or a bare DspChain, which
 * gets a StationState attached on first use; see stationStateOf). `params` is the set the station
 * should run with: whatever differs from what is in effect is applied first (hot parameters now,
 * cold ones queued for the next call). The output trails the input by the chain's fixed latency,
 * as a live station's would.
 */
export function processSegment(
  target: StationState | DspChain,
  params: Params,
  input: StationInput,
): SegmentResult {
  const state = resolve(target);
  state.sync(params);
  return run(state, input, { flush: false });
}

/**
 * One segment through a fresh state built with `params` (cold ones included): the counterfactual
 * replay of a stored segment under candidate parameters. The chain's delay is flushed, so the output
 * is time-aligned with the input.
 */
export function processBufferOnce(stationId: number, params: Params, input: StationInput): SegmentResult {
  const state = resolve(createStationState(stationId, params, input.sampleRate));
  return run(state, input, { flush: true });
}
