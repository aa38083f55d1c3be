// Declipper (issue 10): puts back the speech peaks a hard clip upstream flattened (an overdriven
// microphone, ADC or gain stage before this station: nothing in the chain after it can undo that, and
// lowering the station's own gain does not touch it). Consistent iterative hard thresholding, the idea
// of the sparse declipping literature (Kitic, Bertin and Gribonval's SPADE; Adler et al.'s constrained
// sparse recovery), in a streaming form: per Hann-windowed frame of about 32 ms (half-overlapping, the
// windowed frames simply added back) that holds clipped samples, the estimate alternates between the k
// strongest bins of its spectrum (speech is sparse there, the clip's flat tops are not) and the samples
// the clip allows (every unclipped sample as it came, every clipped one at or beyond its clip level,
// same sign, both times the window), k growing until the two agree. Frames without a clipped sample
// pass through unchanged (the windows sum to 1).
//
// Where the clip is: the extremes of the last second of input, each side on its own (a DC offset before
// the clip makes it asymmetric), by the test the snapshot's input_clipping_ratio uses (clipLevels). A
// call-long running extreme, confirmed once 8 samples had sat on it, was held by the natural peaks of a
// quiet unclipped line too, and the block changed audio it should have left alone.
//
// Measured on the simulator's speech (Asterisk prompts, 3 seeds, 8 s each), clipped as the generated
// profiles clip it (active level -15..-3 dBov before the clip at full scale), PESQ against the clean
// speech, clipped -> declipped: 8 kHz 3.82 -> 4.34 (-11 dBov), 3.03 -> 3.99 (-7), 2.37 -> 3.43 (-3);
// 16 kHz 2.95 -> 3.93, 1.99 -> 3.24, 1.49 -> 2.34; unclipped speech unchanged (4.549, 4.644); 7-36 ms
// of CPU per second of audio here (scratch timing beside two evals; `npm run bench` times it alone). Sparsity over the unwindowed frame (the bins leak) gained half as
// much (16 kHz: 3.58, 2.59, 1.83), 16 ms frames a third, so the frame is 32 ms: the block's delay. The
// delay is why the switch is cold: off (the default), the block is not in the chain at all and costs
// nothing; the controller turns it on for the next call when the input clips
// (metrics.input_clipping_ratio, the settings guard declip_need).
import { quickselect } from 'simple-statistics';
import { WasmRealFft } from './pffft.ts';
import type { AudioBlock } from './types.ts';

/** Frame length, seconds (rounded to a power of two in samples). */
const FRAME_S = 0.032;
/** A side's extreme held by this many samples is a clip level, not a peak. */
const MIN_PLATEAU = 8;
/** Samples this close to a clip level (full scale = 1) sit on it: two 16-bit steps. */
const TOLERANCE = 2 / 32768;
/**
 * The band under an extreme that a clip level must outnumber (a share of the level), at 8 kHz; at higher
 * rates, where a clipped peak's flanks put twice the samples in it, proportionally narrower (G.711's
 * coarse codes are narrowband only). A 10% band at 16 kHz missed enough clipped frames to cost a
 * seventh of the declipper's PESQ gain.
 */
const SPIKE_BAND = 0.1;
/** An extreme nearer zero than this is silence or a quiet line, never a clip (-26 dBFS). */
const MIN_CLIP_LEVEL = 0.05;
/** Iterations per frame, at most; the bins kept grow by `kStep` every second one. */
const MAX_ITERATIONS = 60;
/** Squared disagreement per sample at which the estimate is taken (-60 dBFS RMS). */
const CONVERGED_MS = 1e-6;
/**
 * A frame with more of its samples on a clip than this holds too little of the signal to restore from
 * (a DC offset driven past full scale leaves a square wave: generated profile gen-1-3 station 3, every
 * sample on a clip): it passes as it came. Speech whose peaks go 12 dB past full scale has frames 73%
 * on the clip at most.
 */
const MAX_CLIPPED_SHARE = 0.9;
/** A restored peak goes no further than this over its clip level (12 dB). */
const MAX_RESTORE = 4;

/**
 * The clip levels of `x`, one per side: a side of the signal is clipped when at least MIN_PLATEAU
 * samples sit at its extreme (within TOLERANCE) and no fewer than sit in the SPIKE_BAND under it. A hard
 * clip piles the peaks up at one value, while speech that merely reaches high thins out toward its peak,
 * G.711's coarse top codes included (mu-law speech peaking at -4 dBFS put 0.05% of its samples on its
 * top code, with more on the codes below). The threshold a clipped sample reaches, or +-Infinity for a
 * side that is not clipped; with the count on each side. Pure.
 */
export function clipLevels(
  x: Float32Array,
  sampleRate = 8000,
): { hi: number; lo: number; atHi: number; atLo: number } {
  const band = SPIKE_BAND * Math.min(1, 8000 / sampleRate);
  let top = 0;
  let bottom = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    if (v > top) top = v;
    if (v < bottom) bottom = v;
  }
  let atHi = 0;
  let nearHi = 0;
  let atLo = 0;
  let nearLo = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    if (v >= top - TOLERANCE) atHi++;
    else if (v >= top * (1 - band)) nearHi++;
    if (v <= bottom + TOLERANCE) atLo++;
    else if (v <= bottom * (1 - band)) nearLo++;
  }
  const clipped = (at: number, near: number, level: number) =>
    at >= MIN_PLATEAU && at >= near && Math.abs(level) >= MIN_CLIP_LEVEL;
  const hiOk = clipped(atHi, nearHi, top);
  const loOk = clipped(atLo, nearLo, bottom);
  return {
    hi: hiOk ? top - TOLERANCE : Number.POSITIVE_INFINITY,
    lo: loOk ? bottom + TOLERANCE : Number.NEGATIVE_INFINITY,
    atHi: hiOk ? atHi : 0,
    atLo: loOk ? atLo : 0,
  };
}

/** Samples on a clip level in `x` (clipLevels), a share of its length: the input's clipping (pure). */
export function clippedRatio(x: Float32Array, sampleRate = 8000): number {
  if (x.length === 0) return 0;
  const c = clipLevels(x, sampleRate);
  return (c.atHi + c.atLo) / x.length;
}

export class Declipper implements AudioBlock {
  readonly latency: number;
  private readonly n: number;
  private readonly hop: number;
  private readonly fft: WasmRealFft;
  private readonly window: Float64Array;
  /** The last `n` input samples. */
  private readonly frame: Float64Array;
  /** The last second of input (whole hops), where the clip levels are read. */
  private readonly history: Float32Array;
  private readonly est: Float64Array;
  private readonly mags: Float64Array;
  private readonly sorted: Float64Array;
  /** Overlap-add accumulator, `n` long: its first hop is complete after each frame. */
  private readonly ola: Float64Array;
  /** The completed hop being played out. */
  private readonly outHop: Float64Array;
  private readonly kStep: number;
  private fill = 0;

  constructor(private readonly sampleRate: number) {
    this.n = 2 ** Math.round(Math.log2(FRAME_S * sampleRate));
    this.hop = this.n / 2;
    this.latency = this.n;
    this.fft = new WasmRealFft(this.n);
    // Hann (sin^2 at half-sample offsets): at half overlap the windows sum to exactly 1.
    this.window = Float64Array.from(
      { length: this.n },
      (_, i) => Math.sin((Math.PI * (i + 0.5)) / this.n) ** 2,
    );
    this.frame = new Float64Array(this.n);
    this.history = new Float32Array(Math.max(1, Math.round(sampleRate / this.hop)) * this.hop);
    this.est = new Float64Array(this.n);
    this.mags = new Float64Array(this.n / 2 + 1);
    this.sorted = new Float64Array(this.n / 2 + 1);
    this.ola = new Float64Array(this.n);
    this.outHop = new Float64Array(this.hop);
    this.kStep = Math.max(1, Math.round(this.n / 200));
  }

  process(buf: Float32Array): void {
    const { n, hop } = this;
    for (let i = 0; i < buf.length; i++) {
      const v = buf[i] as number;
      buf[i] = this.outHop[this.fill] as number;
      this.frame[n - hop + this.fill] = v;
      if (++this.fill === hop) {
        this.fill = 0;
        this.processFrame();
        this.frame.copyWithin(0, hop);
      }
    }
  }

  reset(): void {
    this.frame.fill(0);
    this.ola.fill(0);
    this.outHop.fill(0);
    this.fill = 0;
    this.history.fill(0);
  }

  private processFrame(): void {
    const { n, hop, est, window, ola } = this;
    // The clip levels of the last second, by the metric's own test (clipLevels).
    const { history } = this;
    history.copyWithin(0, hop);
    for (let i = 0; i < hop; i++) history[history.length - hop + i] = this.frame[n - hop + i] as number;
    const { hi, lo } = clipLevels(history, this.sampleRate);
    let clipped = 0;
    for (let i = 0; i < n; i++) {
      const v = this.frame[i] as number;
      est[i] = (window[i] as number) * v;
      if (v >= hi || v <= lo) clipped++;
    }
    if (clipped > 0 && clipped <= MAX_CLIPPED_SHARE * n) this.restore(hi, lo);
    for (let i = 0; i < n; i++) ola[i] = (ola[i] as number) + (est[i] as number);
    for (let i = 0; i < hop; i++) this.outHop[i] = ola[i] as number;
    ola.copyWithin(0, hop);
    ola.fill(0, n - hop);
  }

  /**
   * Consistent iterative hard thresholding of `est` (the windowed frame) in place. The transforms are
   * PFFFT's (pffft.ts, single precision, in wasm memory: its spectrum is [DC, Nyquist, re, im, ...]).
   */
  private restore(hi: number, lo: number): void {
    const { n, est, mags, sorted, frame, window, fft } = this;
    const bins = n / 2 + 1;
    const hiCap = hi * MAX_RESTORE;
    const loCap = lo * MAX_RESTORE;
    const heap = fft.heap();
    const t0 = fft.time;
    const f0 = fft.spectrum;
    let k = this.kStep;
    for (let it = 0; it < MAX_ITERATIONS; it++) {
      for (let i = 0; i < n; i++) heap[t0 + i] = est[i] as number;
      fft.forward();
      // Squared magnitudes: the same order, no square roots.
      mags[0] = (heap[f0] as number) ** 2;
      mags[bins - 1] = (heap[f0 + 1] as number) ** 2;
      for (let b = 1; b < bins - 1; b++)
        mags[b] = (heap[f0 + 2 * b] as number) ** 2 + (heap[f0 + 2 * b + 1] as number) ** 2;
      if (k < bins) {
        // The k-th largest: Floyd-Rivest selection (simple-statistics), linear on average, where a
        // sort per iteration had taken two thirds of the block's time.
        sorted.set(mags);
        quickselect(sorted as unknown as number[], bins - k);
        const thr = sorted[bins - k] as number;
        if ((mags[0] as number) < thr) heap[f0] = 0;
        if ((mags[bins - 1] as number) < thr) heap[f0 + 1] = 0;
        for (let b = 1; b < bins - 1; b++) {
          if ((mags[b] as number) < thr) {
            heap[f0 + 2 * b] = 0;
            heap[f0 + 2 * b + 1] = 0;
          }
        }
      }
      fft.inverse();
      let disagreement = 0;
      for (let i = 0; i < n; i++) {
        const s = (heap[t0 + i] as number) / n;
        const w = window[i] as number;
        const y = frame[i] as number;
        let v: number;
        if (y >= hi) v = Math.min(w * hiCap, Math.max(s, w * y));
        else if (y <= lo) v = Math.max(w * loCap, Math.min(s, w * y));
        else v = w * y;
        disagreement += (v - s) * (v - s);
        est[i] = v;
      }
      if (disagreement < CONVERGED_MS * n) break;
      if (it % 2 === 1) k += this.kStep;
    }
  }
}
