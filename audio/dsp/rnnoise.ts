// RNNoise (Valin, "A hybrid DSP/deep learning approach to real-time full-band speech enhancement", 2018)
// as a DSP block: Xiph's recurrent-network suppressor (RNNoise 0.1's model) compiled to WebAssembly with
// SIMD (rnnoiseWasm.ts: the build `@sapphi-red/web-noise-suppressor` ships; until 2026-12-03
// `@echogarden/rnnoise-wasm`, the same model without SIMD, itself chosen over `@jitsi/rnnoise-wasm`).
//
// RNNoise runs on 10 ms frames at 48 kHz. The station's audio is brought to 48 kHz and back by the
// polyphase resampler (resampler.ts), so the block works at any rate that divides 48 kHz (8, 16, 24 kHz).
// Its delay, constant whatever the settings: one 10 ms frame of buffering, RNNoise's own 10 ms window
// overlap, and the two resampling filters (2 x 16 samples at the station rate): 22 ms at 16 kHz.
//
// Settings, both hot: `enabled` (off: the network is not run at all and the block is a pure delay of the
// same length, so the chain's latency never changes mid-call), and the attenuation limit: the output is
// wet + a (dry - wet) with a = -limit dB, so no noise is taken down by more than the limit (a wet/dry mix
// in dB). The mix glides over 20 ms, so switching RNNoise on, off or changing the limit never clicks.
import { NoiseNeed } from './noiseNeed.ts';
import { Downsampler, Upsampler } from './resampler.ts';
import { loadRnnoiseWasm } from './rnnoiseWasm.ts';
import type { AudioBlock } from './types.ts';
import { dbToGain } from './units.ts';

export interface RnnoiseSettings {
  enabled: boolean;
  attenuationLimitDb: number;
}

export const RNNOISE_RATE = 48000;
const RNNOISE_FRAME = 480;
// RNNoise takes 16-bit-scaled floats.
const PCM_SCALE = 32768;
const MIX_GLIDE_MS = 20;
// The limit applies in full while the input's broadband noise sits within NEED_FULL_DB of the speech's
// peaks (noiseNeed.ts), and fades to nothing (the dry input) by NEED_DRY_DB: where there is no noise to
// take away, the network only colours the speech.
const NEED_FULL_DB = 65;
const NEED_DRY_DB = 80;
// Until the need has a whole window behind it (the first 3 s of a call), only clear evidence of noise
// counts: a clean talker who has not paused yet reads 45-58 dB (generated profiles), as noise at a
// 40-46 dB SNR does, and the network would colour the first seconds of every clean call.
const EARLY_FULL_DB = 45;
const EARLY_DRY_DB = 55;

// Loaded once per process at import (~157 kB of wasm); every block then runs synchronously.
const wasm = loadRnnoiseWasm();

interface WasmHandles {
  state: number;
  ptr: number;
}

// A chain is rebuilt for every call and blocks are simply dropped: the network state and frame buffer
// live in wasm memory, which the JS collector does not see, so they are freed when the block is collected.
// Finalizers run only between event-loop turns, so a synchronous loop that builds thousands of chains
// (a counterfactual search) would pile up ~23 kB of wasm memory per block: the state is therefore made
// when the block is first switched on, and a block that stays off (the catalog default) holds none.
const wasmFreer = new FinalizationRegistry<WasmHandles>((h) => {
  if (h.state !== 0) wasm.destroy(h.state);
  if (h.ptr !== 0) wasm.free(h.ptr);
});

export class RnnoiseSuppressor implements AudioBlock {
  readonly latency: number;
  readonly sampleRate: number;
  private readonly hop: number;
  private readonly up: Upsampler;
  private readonly down: Downsampler;
  private readonly handles: WasmHandles;
  private readonly inFrame: Float64Array;
  private readonly hi: Float64Array;
  private readonly ready: Float64Array;
  // Dry signal delayed by the wet path's delay (ring), for the mix.
  private readonly dry: Float64Array;
  private dryAt = 0;
  private pos = 0;
  private enabled = false;
  private mix = 1;
  private mixTarget = 1;
  private readonly mixStep: number;
  private lastVad = 0;
  private limitDb = 0;
  private readonly need: NoiseNeed;

  constructor(sampleRate: number, settings: RnnoiseSettings) {
    const factor = RNNOISE_RATE / sampleRate;
    if (!Number.isInteger(factor) || factor < 1) {
      throw new RangeError(`RNNoise runs at 48 kHz: the station rate ${sampleRate} Hz must divide it`);
    }
    this.sampleRate = sampleRate;
    this.hop = RNNOISE_FRAME / factor;
    this.up = new Upsampler(factor);
    this.down = new Downsampler(factor);
    this.latency = 2 * this.hop + this.up.delay + this.down.delay;
    this.handles = { state: 0, ptr: 0 };
    wasmFreer.register(this, this.handles);
    this.inFrame = new Float64Array(this.hop);
    this.hi = new Float64Array(RNNOISE_FRAME);
    this.ready = new Float64Array(this.hop);
    this.dry = new Float64Array(this.latency);
    this.mixStep = 1 / ((MIX_GLIDE_MS / 1000) * sampleRate);
    this.need = new NoiseNeed(sampleRate, this.hop);
    this.update(settings);
    this.mix = this.mixTarget;
  }

  update(settings: RnnoiseSettings): void {
    if (settings.enabled && !this.enabled) {
      // Switched on mid-call: the network starts from where it is; the glide hides its first frames.
      this.enabled = true;
    } else if (!settings.enabled) this.enabled = false;
    this.limitDb = settings.attenuationLimitDb;
    this.mixTarget = this.targetMix();
  }

  /** The wet/dry mix the settings and the input's noise call for. */
  private targetMix(): number {
    if (!this.enabled) return 1;
    const need = this.need.value();
    const [full, dry] = this.need.settled() ? [NEED_FULL_DB, NEED_DRY_DB] : [EARLY_FULL_DB, EARLY_DRY_DB];
    const share = need <= full ? 1 : need >= dry ? 0 : (dry - need) / (dry - full);
    return dbToGain(-this.limitDb * share);
  }

  /** RNNoise's voice-activity probability for its last frame (0 while disabled). */
  vadProbability(): number {
    return this.enabled ? this.lastVad : 0;
  }

  process(buf: Float32Array): void {
    // Off and fully dry: the output is the dry delay line, in a loop with no mix arithmetic.
    if (!this.enabled && this.mix === 1 && this.mixTarget === 1) {
      this.delayOnly(buf);
      return;
    }
    const hop = this.hop;
    const dry = this.dry;
    const lat = this.latency;
    let pos = this.pos;
    for (let i = 0; i < buf.length; i++) {
      const x = buf[i] as number;
      this.inFrame[pos] = x;
      // Dry sample `latency` old, then today's sample into its place.
      const d = dry[this.dryAt] as number;
      dry[this.dryAt] = x;
      this.dryAt = this.dryAt + 1 === lat ? 0 : this.dryAt + 1;
      const m = this.mix;
      if (m !== this.mixTarget) {
        this.mix =
          m < this.mixTarget
            ? Math.min(this.mixTarget, m + this.mixStep)
            : Math.max(this.mixTarget, m - this.mixStep);
      }
      const wet = this.ready[pos] as number;
      buf[i] = wet + m * (d - wet);
      if (++pos === hop) {
        this.processFrame();
        pos = 0;
      }
    }
    this.pos = pos;
  }

  /** The pure delay of a block that is off (the frame buffer is still filled, for a switch-on mid-frame). */
  private delayOnly(buf: Float32Array): void {
    const lat = this.latency;
    const dry = this.dry;
    const inFrame = this.inFrame;
    for (let i = 0; i < buf.length; ) {
      const len = Math.min(buf.length - i, this.hop - this.pos, lat - this.dryAt);
      const toFrame = this.pos - i;
      const toDry = this.dryAt - i;
      for (let j = i; j < i + len; j++) {
        const x = buf[j] as number;
        inFrame[toFrame + j] = x;
        buf[j] = dry[toDry + j] as number;
        dry[toDry + j] = x;
      }
      this.dryAt = this.dryAt + len === lat ? 0 : this.dryAt + len;
      this.pos = this.pos + len === this.hop ? 0 : this.pos + len;
      i += len;
    }
  }

  private processFrame(): void {
    // Off and fully dry: nothing of the wet path is heard, so none of it is computed.
    if (!this.enabled && this.mix >= 1) return;
    if (this.enabled) {
      this.need.push(this.inFrame);
      this.mixTarget = this.targetMix();
    }
    this.up.process(this.inFrame, this.hop, this.hi);
    const h = this.handles;
    if (h.state === 0) {
      h.state = wasm.create();
      h.ptr = wasm.malloc(RNNOISE_FRAME * 4);
      if (h.state === 0 || h.ptr === 0)
        throw new RangeError('RNNoise: out of wasm memory for a network state');
    }
    const { state, ptr } = h;
    const heap = wasm.heap();
    const base = ptr >> 2;
    for (let i = 0; i < RNNOISE_FRAME; i++) heap[base + i] = (this.hi[i] as number) * PCM_SCALE;
    this.lastVad = wasm.processFrame(state, ptr, ptr);
    // The heap view is re-read: a wasm memory growth would have detached the old one.
    const out = wasm.heap();
    for (let i = 0; i < RNNOISE_FRAME; i++) this.hi[i] = (out[base + i] as number) / PCM_SCALE;
    this.down.process(this.hi, RNNOISE_FRAME, this.ready);
  }

  reset(): void {
    this.up.reset();
    this.down.reset();
    this.inFrame.fill(0);
    this.ready.fill(0);
    this.dry.fill(0);
    this.dryAt = 0;
    this.pos = 0;
    this.need.reset();
    this.mixTarget = this.targetMix();
    this.mix = this.mixTarget;
    // A fresh network state (RNNoise has no reset of its own), made at the next frame the block runs.
    if (this.handles.state !== 0) {
      wasm.destroy(this.handles.state);
      this.handles.state = 0;
    }
  }
}
