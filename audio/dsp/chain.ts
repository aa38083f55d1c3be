// The per-station DSP chain (DESIGN §3): declipper (when on) -> high-pass -> hum canceller -> echo canceller -> input gain ->
// noise gate -> RNNoise -> spectral noise suppression -> AGC -> compressor -> limiter, then the VAD
// (analysis only). RNNoise comes before the spectral suppressor because it was trained on unprocessed
// noisy speech. The high-pass runs first, as on a capture path, so DC and mains hum never reach the echo
// canceller's adaptive filter (they dominated its error: on a line with hum it removed 0-3 dB of echo,
// after the swap the same call's reference quality rose 1.7 dB with a tail that covers the echo); the
// hum canceller's notches follow it at once, so the harmonics it leaves do not either. Which blocks run is
// the station's catalog entry, so a new station is data, not code. The jitter buffer is packet-level
// and lives outside the chain (`jitterBuffer.ts`, driven by stations/pipeline.ts); its parameter is
// carried and validated here so a network station's parameter set stays whole, and, being hot, is in
// params() at once for the pipeline to apply at its next segment.
//
// Parameters follow the catalog's hot/cold rule: a hot parameter takes effect on the next sample
// (each block ramps or glides its own change, the high-pass cutoff included; the echo canceller's tail
// resizes its adaptive filter with the converged model kept), a cold one waits for resetForNewCall().
// The declipper is the cold one because it is only in the chain when on: the chain's delay
// (latencySamples) can change at resetForNewCall(), never mid-call.
import {
  type DspBlockName,
  type ParameterError,
  parameterByName,
  parametersForStation,
  type StationSpec,
  stationById,
  validateParameterSet,
} from '../../catalog/index.ts';
import { Agc } from './agc.ts';
import { Compressor } from './compressor.ts';
import { DcBlocker } from './dcBlocker.ts';
import { Declipper } from './declipper.ts';
import { EchoCanceller } from './echoCanceller.ts';
import type { EchoSeen } from './echoDelay.ts';
import { HighPassFilter } from './highpass.ts';
import { HumCanceller } from './humCanceller.ts';
import { InputGain } from './inputGain.ts';
import { Limiter } from './limiter.ts';
import { NoiseGate } from './noiseGate.ts';
import { NoiseSuppressor } from './noiseSuppressor.ts';
import { RNNOISE_RATE, type RnnoiseSettings, RnnoiseSuppressor } from './rnnoise.ts';
import type { AudioBlock } from './types.ts';
import { Vad, type VadStats } from './vad.ts';

export type AudioBlockName = Exclude<DspBlockName, 'jitter_buffer'>;

/** The order audio blocks run in; a station runs the subset its catalog entry lists. */
export const AUDIO_BLOCK_ORDER: readonly AudioBlockName[] = [
  'declipper',
  'highpass',
  'hum_canceller',
  'echo_canceller',
  'input_gain',
  'noise_gate',
  'rnnoise',
  'noise_suppression',
  'agc',
  'compressor',
  'limiter',
  'vad',
];

export interface ChainOptions {
  sampleRate: number;
}

export interface SetParamsResult {
  /** Hot parameters now in effect. */
  applied: string[];
  /** Cold parameters waiting for resetForNewCall(). */
  queued: string[];
}

export interface ChainStats {
  latencySamples: number;
  agcGainDb?: number;
  compressorGainReductionDb?: number;
  /** Deepest limiter gain reduction since the previous stats() call, dB (>= 0). */
  limiterGainReductionDb?: number;
  noiseGateOpen?: boolean;
  echoErleDb?: number;
  vad?: VadStats;
}

export interface DspChain {
  readonly stationId: number;
  readonly sampleRate: number;
  /** Audio blocks this station runs, in processing order. */
  readonly blocks: readonly AudioBlockName[];
  /**
   * Delay of the chain, in samples (declipper and noise suppressor frames, echo canceller block, limiter
   * look-ahead): fixed within a call; a cold switch (the declipper) may change it at resetForNewCall().
   */
  readonly latencySamples: number;
  /**
   * Processes one frame of any length into `out` (same length; may be `frame` itself) and returns it,
   * `latencySamples` behind. Without `out` the result is a view of a buffer the chain reuses: valid until
   * the next call (copy it to keep it). No allocation per call once that buffer is as long as the frames.
   * `farEnd`, when given, is the echo reference aligned with `frame` (same length).
   */
  process(
    frame: Float32Array,
    farEnd?: Float32Array,
    out?: Float32Array,
    tap?: Float32Array,
    gateIn?: Float32Array,
  ): Float32Array;
  /**
   * Delay, in samples, of the signal `process` writes to its `tap` (same length as `frame`): the near
   * end right after the echo canceller, or the input itself where the chain has none (0). What the
   * chain does to the speech is judged from there (stations/pipeline.ts, speech loss): before the
   * echo canceller the near end holds echo, which the canceller rightly removes. `gateIn`, when given
   * (same length as `frame`), gets the input stage's signal after its DC blocker, before the input gain:
   * the near end as the gate and the AGC see it, less the gain (the high-pass, the hum canceller and
   * the echo canceller before it), for the station's input speech level.
   */
  readonly tapLatencySamples: number;
  /**
   * A reading of the echo left in the output (the station's residual-echo metric, its delay as the echo
   * canceller sees it: the chain's blocks after the canceller taken out), for the canceller to place its
   * tail's window on an echo past it (echoDelay.ts); nothing where the chain has no canceller.
   */
  observeEcho(seen: EchoSeen | null): void;
  setParams(next: Readonly<Record<string, number>>): SetParamsResult;
  /** Parameters in effect now. */
  params(): Record<string, number>;
  /** Cold parameters queued for the next call. */
  pendingParams(): Record<string, number>;
  /** Starts a new call: applies queued cold parameters and clears all signal state. */
  resetForNewCall(): void;
  stats(): ChainStats;
}

export class DspParameterError extends Error {
  override readonly name = 'DspParameterError';
  constructor(
    readonly stationId: number,
    readonly errors: readonly ParameterError[],
  ) {
    super(
      `invalid parameters for station ${stationId}: ${errors.map((e) => `${e.parameter}: ${e.reason}`).join('; ')}`,
    );
  }
}

type Params = Readonly<Record<string, number>>;

function p(params: Params, name: string): number {
  const v = params[name];
  if (v === undefined) throw new Error(`parameter ${name} missing from an already validated set`);
  return v;
}

interface Stage {
  readonly name: AudioBlockName;
  readonly block: AudioBlock;
  update(params: Params): void;
}

/**
 * The echo canceller's own input high-pass where the chain has no high-pass in front of it (stations 2
 * and 10): hum and DC kept it from ever using its echo model (echoCanceller.ts, inputHighpassHz). 100 Hz,
 * fourth order: 50 Hz hum falls by about 24 dB, and the voice band keeps what the settings guard calls
 * free (up to 150 Hz).
 */
const ECHO_INPUT_HIGHPASS_HZ = 100;

/** What a stage's block needs to know of the chain around it. */
interface StageContext {
  /** A high-pass runs in the chain (the echo canceller then needs none of its own). */
  readonly hasHighpass: boolean;
  /** A jitter buffer plays the line out in front of the chain (stations 2 and 10). */
  readonly behindJitterBuffer: boolean;
  /** Sees the input stage's signal once its offset is out, before the gain (DspChain.process `gateIn`). */
  readonly gateIn: (buf: Float32Array) => void;
}

function buildStage(name: AudioBlockName, sr: number, params: Params, ctx: StageContext): Stage {
  switch (name) {
    case 'echo_canceller': {
      // The tail sizes the adaptive filter; a change resizes it with the converged model kept.
      // The station's residual-echo reading places the tail's window (DspChain.observeEcho).
      const b = new EchoCanceller(sr, {
        tailMs: p(params, 'echo_canceller_tail_ms'),
        findDelay: false,
        ...(ctx.hasHighpass ? {} : { inputHighpassHz: ECHO_INPUT_HIGHPASS_HZ }),
        // Behind a jitter buffer the echo's timing moves with the playout and the residual-echo metric
        // reads only its coherent part, a strong echo as a weak one (generated profile gen-6-3, station 10:
        // an echo 6 dB down read as 21-27 dB of the output, the detector's ratio 0.11-0.21, and PESQ of the
        // loop's final set 1.51 -> 1.37; gen-1-1 station 10: 1.63 -> 1.50), so the ratio stays 0.5 there.
        ratioFromReadings: !ctx.behindJitterBuffer,
      });
      return { name, block: b, update: (x) => b.setTail(p(x, 'echo_canceller_tail_ms')) };
    }
    case 'declipper': {
      // Cold: off, the block is absent and adds no delay.
      if (!(p(params, 'declip_enabled') >= 0.5)) return { name, block: PASS_THROUGH, update: () => {} };
      return { name, block: new Declipper(sr), update: () => {} };
    }
    case 'highpass': {
      const b = new HighPassFilter(sr, { cutoffHz: p(params, 'highpass_cutoff_hz') });
      return { name, block: b, update: (x) => b.update({ cutoffHz: p(x, 'highpass_cutoff_hz') }) };
    }
    case 'hum_canceller': {
      const settings = (x: Params) => ({ enabled: p(x, 'hum_canceller_enabled') >= 0.5 });
      const b = new HumCanceller(sr, settings(params));
      return { name, block: b, update: (x) => b.update(settings(x)) };
    }
    case 'input_gain': {
      // The input stage: the offset out (dcBlocker.ts), then the gain.
      const dc = new DcBlocker(sr);
      const b = new InputGain(sr, { gainDb: p(params, 'input_gain_db') });
      const block: AudioBlock = {
        latency: dc.latency + b.latency,
        process: (buf) => {
          dc.process(buf);
          ctx.gateIn(buf);
          b.process(buf);
        },
        reset: () => {
          dc.reset();
          b.reset();
        },
      };
      return { name, block, update: (x) => b.update({ gainDb: p(x, 'input_gain_db') }) };
    }
    case 'noise_gate': {
      const b = new NoiseGate(sr, { thresholdDbfs: p(params, 'noise_gate_threshold_dbfs') });
      return {
        name,
        block: b,
        update: (x) => b.update({ thresholdDbfs: p(x, 'noise_gate_threshold_dbfs') }),
      };
    }
    case 'noise_suppression': {
      const b = new NoiseSuppressor(sr, { suppressionDb: p(params, 'noise_suppression_db') });
      return { name, block: b, update: (x) => b.update({ suppressionDb: p(x, 'noise_suppression_db') }) };
    }
    case 'rnnoise': {
      const settings = (x: Params): RnnoiseSettings => ({
        enabled: p(x, 'rnnoise_enabled') >= 0.5,
        attenuationLimitDb: p(x, 'rnnoise_attenuation_limit_db'),
      });
      // At a rate RNNoise cannot run at, the block is absent (no delay); checked() refuses turning it on.
      if (RNNOISE_RATE % sr !== 0) return { name, block: PASS_THROUGH, update: () => {} };
      const b = new RnnoiseSuppressor(sr, settings(params));
      return { name, block: b, update: (x) => b.update(settings(x)) };
    }
    case 'agc': {
      const settings = (x: Params) => ({
        targetDbfs: p(x, 'agc_target_dbfs'),
        maxGainDb: p(x, 'agc_max_gain_db'),
      });
      const b = new Agc(sr, settings(params));
      return { name, block: b, update: (x) => b.update(settings(x)) };
    }
    case 'compressor': {
      const settings = (x: Params) => ({
        thresholdDbfs: p(x, 'compressor_threshold_dbfs'),
        ratio: p(x, 'compressor_ratio'),
      });
      const b = new Compressor(sr, settings(params));
      return { name, block: b, update: (x) => b.update(settings(x)) };
    }
    case 'limiter': {
      const b = new Limiter(sr, { ceilingDbfs: p(params, 'limiter_ceiling_dbfs') });
      return { name, block: b, update: (x) => b.update({ ceilingDbfs: p(x, 'limiter_ceiling_dbfs') }) };
    }
    case 'vad': {
      const b = new Vad(sr, { threshold: p(params, 'vad_threshold') });
      return { name, block: b, update: (x) => b.update({ threshold: p(x, 'vad_threshold') }) };
    }
  }
}

function requireStation(stationId: number): StationSpec {
  const station = stationById(stationId);
  if (station === undefined)
    throw new DspParameterError(stationId, [{ parameter: 'station_id', reason: 'unknown station' }]);
  return station;
}

/** Throws when a frame given beside `frame` (far end, output, tap, gateIn) is not as long as it. */
function sameLength(frame: Float32Array, others: Record<string, Float32Array | undefined>): void {
  for (const [name, x] of Object.entries(others)) {
    if (x !== undefined && x.length !== frame.length)
      throw new RangeError(`${name} frame has ${x.length} samples, input frame ${frame.length}`);
  }
}

/** Delay of the tap (after the echo canceller; 0 without one): the latency of the blocks up to it. */
function tapLatency(stages: readonly Stage[]): number {
  const ecAt = stages.findIndex((s) => s.name === 'echo_canceller');
  return stages.slice(0, ecAt + 1).reduce((sum, s) => sum + s.block.latency, 0);
}

const PASS_THROUGH: AudioBlock = { latency: 0, process: () => {}, reset: () => {} };

function checked(stationId: number, params: Params, sampleRate: number): void {
  const v = validateParameterSet(stationId, params);
  if (!v.ok) throw new DspParameterError(stationId, v.errors);
  const on = params['rnnoise_enabled'];
  if (on !== undefined && on >= 0.5 && RNNOISE_RATE % sampleRate !== 0) {
    throw new DspParameterError(stationId, [
      {
        parameter: 'rnnoise_enabled',
        reason: `RNNoise runs at 48 kHz, which ${sampleRate} Hz does not divide`,
      },
    ]);
  }
}

const MIN_SAMPLE_RATE = 8000;
const MAX_SAMPLE_RATE = 48000;

/**
 * Builds the chain of one station. `params` may be partial: missing parameters take their catalog
 * defaults. Throws DspParameterError when a parameter is unknown for the station or out of bounds.
 */
export function createChain(stationId: number, params: Params, opts: ChainOptions): DspChain {
  const station = requireStation(stationId);
  const sr = opts.sampleRate;
  if (!Number.isInteger(sr) || sr < MIN_SAMPLE_RATE || sr > MAX_SAMPLE_RATE) {
    throw new RangeError(
      `sample rate ${sr} Hz must be an integer in [${MIN_SAMPLE_RATE}, ${MAX_SAMPLE_RATE}]`,
    );
  }
  checked(stationId, params, sr);
  const effective: Record<string, number> = {};
  for (const spec of parametersForStation(stationId))
    effective[spec.name] = params[spec.name] ?? spec.default;
  let pending: Record<string, number> = {};
  const names = AUDIO_BLOCK_ORDER.filter((b) => station.dsp_blocks.includes(b));

  let stages: Stage[] = [];
  let echo: EchoCanceller | undefined;
  // The chain's delays, set by build(): a cold switch (the declipper) changes them between calls.
  let latencySamples = 0;
  let tapLatencySamples = 0;
  // process()'s output when the caller gives none: grown to the longest frame seen, then reused.
  let scratch = new Float32Array(0);
  // process()'s `gateIn` for the call in progress (the input stage writes to it).
  let gateTarget: Float32Array | undefined;
  const build = (): void => {
    const ctx = {
      gateIn: (buf: Float32Array) => gateTarget?.set(buf),
      hasHighpass: names.includes('highpass'),
      behindJitterBuffer: station.dsp_blocks.includes('jitter_buffer'),
    };
    stages = names.map((n) => buildStage(n, sr, effective, ctx));
    const ec = stages.find((s) => s.name === 'echo_canceller');
    echo = ec === undefined ? undefined : (ec.block as EchoCanceller);
    latencySamples = stages.reduce((sum, s) => sum + s.block.latency, 0);
    tapLatencySamples = tapLatency(stages);
  };
  build();

  return {
    stationId,
    sampleRate: sr,
    blocks: names,
    get latencySamples() {
      return latencySamples;
    },
    get tapLatencySamples() {
      return tapLatencySamples;
    },

    process(frame, farEnd, out, tap, gateIn) {
      sameLength(frame, { 'far-end': farEnd, output: out, tap, gateIn });
      gateTarget = gateIn;
      if (tap !== undefined && echo === undefined) tap.set(frame);
      let buf = out;
      if (buf === undefined) {
        if (scratch.length < frame.length) scratch = new Float32Array(frame.length);
        buf = scratch.length === frame.length ? scratch : scratch.subarray(0, frame.length);
      }
      if (buf !== frame) buf.set(frame);
      for (let i = 0; i < stages.length; i++) {
        const s = stages[i] as Stage;
        if (s.block === echo) {
          echo.process(buf, farEnd);
          tap?.set(buf);
        } else s.block.process(buf);
      }
      return buf;
    },

    observeEcho(seen) {
      echo?.observeEcho(seen);
    },

    setParams(next) {
      checked(stationId, next, sr);
      const applied: string[] = [];
      const queued: string[] = [];
      const touched = new Set<DspBlockName>();
      for (const [name, value] of Object.entries(next)) {
        const spec = parameterByName(name);
        if (spec === undefined) continue;
        if (spec.hot) {
          effective[name] = value;
          applied.push(name);
          touched.add(spec.block);
        } else if (value === effective[name]) {
          // Asking for what is already in effect cancels a queued change.
          delete pending[name];
        } else {
          pending[name] = value;
          queued.push(name);
        }
      }
      for (const s of stages) if (touched.has(s.name)) s.update(effective);
      return { applied, queued };
    },

    params() {
      return { ...effective };
    },

    pendingParams() {
      return { ...pending };
    },

    resetForNewCall() {
      Object.assign(effective, pending);
      pending = {};
      // Fresh blocks: every filter, estimator and delay line starts clean, and cold settings
      // (filter sizes, coefficients) take effect.
      build();
    },

    stats: () => chainStats(stages, latencySamples),
  };
}

function chainStats(stages: readonly Stage[], latencySamples: number): ChainStats {
  const find = <T extends AudioBlock>(name: AudioBlockName): T | undefined =>
    stages.find((s) => s.name === name)?.block as T | undefined;
  const out: ChainStats = { latencySamples };
  const agc = find<Agc>('agc');
  if (agc) out.agcGainDb = agc.currentGainDb();
  const comp = find<Compressor>('compressor');
  if (comp) out.compressorGainReductionDb = comp.gainReductionDb();
  const lim = find<Limiter>('limiter');
  if (lim) out.limiterGainReductionDb = -20 * Math.log10(lim.takeMinGain());
  const gate = find<NoiseGate>('noise_gate');
  if (gate) out.noiseGateOpen = gate.isOpen();
  const echo = find<EchoCanceller>('echo_canceller');
  if (echo) out.echoErleDb = echo.erleDb();
  const vad = find<Vad>('vad');
  if (vad) out.vad = vad.stats();
  return out;
}

const BATCH_CHUNK = 4096;

/**
 * Whole-buffer processing for counterfactual replay: a fresh chain, the samples in, the chain's delay
 * flushed with silence and cut off, so the output is time-aligned with the input and as long.
 */
export function processBuffer(
  stationId: number,
  params: Params,
  samples: Float32Array,
  sampleRate: number,
  farEnd?: Float32Array,
): Float32Array {
  if (farEnd !== undefined && farEnd.length !== samples.length) {
    throw new RangeError(`far-end buffer has ${farEnd.length} samples, near-end buffer ${samples.length}`);
  }
  const chain = createChain(stationId, params, { sampleRate });
  const lat = chain.latencySamples;
  // Silence after the input (near and far) pushes the delayed tail out.
  const near = new Float32Array(samples.length + lat);
  near.set(samples);
  let far: Float32Array | undefined;
  if (farEnd !== undefined) {
    far = new Float32Array(near.length);
    far.set(farEnd);
  }
  const out = new Float32Array(samples.length);
  for (let at = 0; at < near.length; at += BATCH_CHUNK) {
    const end = Math.min(near.length, at + BATCH_CHUNK);
    const chunk = near.subarray(at, end);
    const y = chain.process(chunk, far?.subarray(at, end), chunk);
    // Output sample j is input sample j - lat.
    const from = Math.max(at, lat);
    if (end > from) out.set(y.subarray(from - at, end - at), from - lat);
  }
  return out;
}
