// Echo canceller: a partitioned-block frequency-domain NLMS adaptive filter (the "multidelay block
// frequency-domain" filter of Soo & Pang, IEEE Trans. ASSP 1990, the core of Speex's MDF) that models
// the echo path from the far-end reference to the near-end signal over `tailMs` and subtracts it.
//
// Why frequency domain: a time-domain NLMS over a 64 ms tail at 16 kHz costs ~2,000 multiply-adds per
// sample, ~30x real time at best in JS; the partitioned form does the same adaptation with FFTs at a few
// percent of that. Overlap-save with blocks of ~8 ms (B) and FFTs of 2B; the tail is split into
// P = ceil(tail / B) partitions, each bin normalized by the far-end energy over the tail (that per-bin
// normalization is what makes it an NLMS). The gradient constraint (time-domain windowing that keeps
// each partition a linear, not circular, convolution) is applied to one partition per block in turn.
//
// Double talk: two filters, as in Speex's two-path MDF. The background filter adapts on every block with
// far-end signal (except when a Geigel detector sees the near end peak above GEIGEL_RATIO x the far-end
// peak over the tail); the foreground filter, which produces the output, is only ever a copy of the
// background taken when the background has been clearly better (lower error) for a few blocks. A near-end
// talker the detector misses detunes the background, whose error then grows, so nothing is copied and the
// output keeps the converged foreground; a background far worse than the foreground restarts from it.
//
// The output is one block (B samples) late. Without a reference (no far-end frames, or silence) it is the
// near end delayed by the same B samples, so the chain's latency never changes mid-call.
import { RealFft } from './realFft.ts';
import type { AudioBlock } from './types.ts';
import { dbToPower, onePole } from './units.ts';

export interface EchoCancellerSettings {
  tailMs: number;
}

const BLOCK_MS = 8;
const MU = 0.5;
// Step regularization as a fraction of the mean per-bin far-end energy (see adapt()).
const REGULARIZATION = 0.1;
// Far-end power smoothing per bin, per block (~8 ms): ~40 ms memory.
const POWER_SMOOTHING = 0.8;
// Line echo has at least 6 dB of return loss (ITU-T G.168 assumes 6 dB ERL): a near-end peak above
// half the far-end peak cannot be echo alone.
const GEIGEL_RATIO = 0.5;
const DOUBLE_TALK_HOLD_MS = 40;
// Error energies are compared over ~4 blocks (one-pole per block).
const COMPARE_SMOOTHING = 0.75;
// Copy background -> foreground when its error energy is below this fraction of the foreground's.
const COPY_RATIO = 0.7;
// Restart the background from the foreground when its error energy is above this multiple.
const RESET_RATIO = 4;
// Far-end blocks quieter than this (mean square) carry no usable reference: adapting on them is noise.
const FAR_ACTIVE_POWER = dbToPower(-60);

export class EchoCanceller implements AudioBlock {
  readonly latency: number;
  readonly tailMs: number;
  readonly partitions: number;
  private readonly block: number;
  private readonly bins: number;
  private readonly fft: RealFft;
  private readonly mic: Float64Array;
  private readonly farFrame: Float64Array;
  private readonly out: Float64Array;
  private pos = 0;
  // Far-end spectra of the last P blocks (ring, newest at xHead), and the two filters, bins 0..B each.
  private readonly xr: Float64Array;
  private readonly xi: Float64Array;
  private readonly bgr: Float64Array;
  private readonly bgi: Float64Array;
  private readonly fgr: Float64Array;
  private readonly fgi: Float64Array;
  private readonly power: Float64Array;
  private readonly real: Float64Array;
  private readonly spec: Float64Array;
  private readonly bgTime: Float64Array;
  private readonly fgTime: Float64Array;
  private readonly farPeaks: Float64Array;
  private xHead = 0;
  private constrainNext = 0;
  private silentBlocks: number;
  private doubleTalkHold = 0;
  private readonly doubleTalkBlocks: number;
  private readonly absRegularization: number;
  private bgErr = 0;
  private fgErr = 0;
  private micPower = 0;
  private outPower = 0;
  private readonly erleCoef: number;

  constructor(sampleRate: number, settings: EchoCancellerSettings) {
    // A power of two near BLOCK_MS: 128 samples at 16 kHz, 64 at 8 kHz.
    const b = 2 ** Math.round(Math.log2((BLOCK_MS / 1000) * sampleRate));
    this.block = b;
    this.bins = b + 1;
    this.latency = b;
    this.tailMs = settings.tailMs;
    this.partitions = Math.max(1, Math.ceil(((settings.tailMs / 1000) * sampleRate) / b));
    const n = this.partitions * this.bins;
    this.fft = new RealFft(2 * b);
    this.mic = new Float64Array(b);
    this.farFrame = new Float64Array(2 * b);
    this.out = new Float64Array(b);
    this.xr = new Float64Array(n);
    this.xi = new Float64Array(n);
    this.bgr = new Float64Array(n);
    this.bgi = new Float64Array(n);
    this.fgr = new Float64Array(n);
    this.fgi = new Float64Array(n);
    this.power = new Float64Array(this.bins);
    this.real = new Float64Array(2 * b);
    this.spec = new Float64Array(4 * b);
    this.bgTime = new Float64Array(2 * b);
    this.fgTime = new Float64Array(2 * b);
    this.farPeaks = new Float64Array(this.partitions + 1);
    this.silentBlocks = this.partitions + 1;
    this.doubleTalkBlocks = Math.ceil((DOUBLE_TALK_HOLD_MS / 1000) * (sampleRate / b));
    // Absolute per-bin regularization: the periodogram of -70 dBFS white noise in a 2B-point frame.
    this.absRegularization = 2 * b * dbToPower(-70);
    this.erleCoef = onePole(500, sampleRate, b);
  }

  /**
   * Echo return loss enhancement (dB) over roughly the last half second of far-end single talk:
   * near-end power over output power. 0 before any far-end signal.
   */
  erleDb(): number {
    return this.outPower > 0 ? 10 * Math.log10(this.micPower / this.outPower) : 0;
  }

  /** Processes `buf` (near end) in place, with `far` the far-end reference of the same length, if any. */
  process(buf: Float32Array, far?: Float32Array): void {
    if (far !== undefined && far.length !== buf.length) {
      throw new RangeError(`far-end frame has ${far.length} samples, near-end frame ${buf.length}`);
    }
    const b = this.block;
    const mic = this.mic;
    const farCur = this.farFrame;
    const out = this.out;
    let pos = this.pos;
    for (let i = 0; i < buf.length; i++) {
      mic[pos] = buf[i] as number;
      farCur[b + pos] = far === undefined ? 0 : (far[i] as number);
      buf[i] = out[pos] as number;
      if (++pos === b) {
        this.processBlock();
        pos = 0;
      }
    }
    this.pos = pos;
  }

  private processBlock(): void {
    const b = this.block;
    const bins = this.bins;
    const P = this.partitions;
    const frame = this.farFrame;
    let farPeak = 0;
    let farPower = 0;
    for (let i = b; i < 2 * b; i++) {
      const v = frame[i] as number;
      farPower += v * v;
      const a = v < 0 ? -v : v;
      if (a > farPeak) farPeak = a;
    }
    farPower /= b;
    this.xHead = (this.xHead + 1) % P;
    this.farPeaks[this.xHead % this.farPeaks.length] = farPeak;
    this.silentBlocks = farPeak === 0 ? this.silentBlocks + 1 : 0;
    if (this.silentBlocks > P + 1) {
      // No reference anywhere in the tail: the estimate is zero, pass the near end through.
      this.out.set(this.mic);
      frame.copyWithin(0, b);
      return;
    }
    const spec = this.spec;
    this.fft.forward(frame, spec);
    frame.copyWithin(0, b);
    const head = this.xHead * bins;
    const pw = this.power;
    for (let k = 0; k < bins; k++) {
      const re = spec[2 * k] as number;
      const im = spec[2 * k + 1] as number;
      this.xr[head + k] = re;
      this.xi[head + k] = im;
      pw[k] = POWER_SMOOTHING * (pw[k] as number) + (1 - POWER_SMOOTHING) * (re * re + im * im);
    }
    this.estimate(this.bgr, this.bgi, this.bgTime);
    this.estimate(this.fgr, this.fgi, this.fgTime);
    const mic = this.mic;
    const out = this.out;
    const real = this.real;
    let micPow = 0;
    let bgPow = 0;
    let fgPow = 0;
    let micPeak = 0;
    for (let i = 0; i < b; i++) {
      const d = mic[i] as number;
      const eb = d - (this.bgTime[b + i] as number);
      const ef = d - (this.fgTime[b + i] as number);
      out[i] = ef;
      real[i] = 0;
      real[b + i] = eb;
      micPow += d * d;
      bgPow += eb * eb;
      fgPow += ef * ef;
      const a = d < 0 ? -d : d;
      if (a > micPeak) micPeak = a;
    }
    if (farPower < FAR_ACTIVE_POWER) return;
    // Which filter is better: near-end speech is in both errors alike, so only echo modelling differs.
    const s = COMPARE_SMOOTHING;
    this.bgErr = s * this.bgErr + (1 - s) * bgPow;
    this.fgErr = s * this.fgErr + (1 - s) * fgPow;
    if (this.bgErr < COPY_RATIO * this.fgErr) {
      this.fgr.set(this.bgr);
      this.fgi.set(this.bgi);
      this.fgErr = this.bgErr;
    } else if (this.bgErr > RESET_RATIO * this.fgErr) {
      this.bgr.set(this.fgr);
      this.bgi.set(this.fgi);
      this.bgErr = this.fgErr;
    }
    let farMax = 0;
    for (let i = 0; i < this.farPeaks.length; i++) farMax = Math.max(farMax, this.farPeaks[i] as number);
    if (micPeak > GEIGEL_RATIO * farMax) this.doubleTalkHold = this.doubleTalkBlocks;
    else if (this.doubleTalkHold > 0) this.doubleTalkHold--;
    if (this.doubleTalkHold > 0) return;
    const c = this.erleCoef;
    this.micPower = c * this.micPower + (1 - c) * micPow;
    this.outPower = c * this.outPower + (1 - c) * fgPow;
    this.adapt();
  }

  /** Echo estimate of filter (wr, wi): Y = sum_p W_p X_(now - p), inverse-transformed into `time` (last B valid). */
  private estimate(wr: Float64Array, wi: Float64Array, time: Float64Array): void {
    const bins = this.bins;
    const P = this.partitions;
    const xr = this.xr;
    const xi = this.xi;
    const spec = this.spec;
    spec.fill(0, 0, 2 * bins);
    for (let p = 0; p < P; p++) {
      const xs = ((this.xHead - p + P) % P) * bins;
      const ws = p * bins;
      for (let k = 0; k < bins; k++) {
        const ar = wr[ws + k] as number;
        const ai = wi[ws + k] as number;
        const br = xr[xs + k] as number;
        const bi = xi[xs + k] as number;
        spec[2 * k] = (spec[2 * k] as number) + ar * br - ai * bi;
        spec[2 * k + 1] = (spec[2 * k + 1] as number) + ar * bi + ai * br;
      }
    }
    this.fft.inverse(spec, time);
  }

  /** One NLMS step of the background filter on the error frame in `real` ([0 x B, e]). */
  private adapt(): void {
    const b = this.block;
    const bins = this.bins;
    const P = this.partitions;
    const spec = this.spec;
    const fft = this.fft;
    fft.forward(this.real, spec);
    const xr = this.xr;
    const xi = this.xi;
    const wr = this.bgr;
    const wi = this.bgi;
    const pw = this.power;
    // Normalize each bin by the far-end energy summed over the tail, as time-domain NLMS normalizes by the
    // energy of its whole regressor (the smoothed newest-block power floors it at onsets). Speech leaves
    // many bins nearly empty (between harmonics, above the telephone band); there E / X would be huge, so a
    // regularization of REGULARIZATION x the mean per-bin energy caps the step in those bins.
    let mean = 0;
    for (let k = 0; k < bins; k++) mean += pw[k] as number;
    const reg = this.absRegularization + (REGULARIZATION * P * mean) / bins;
    for (let k = 0; k < bins; k++) {
      let energy = 0;
      for (let p = 0; p < P; p++) {
        const xs = ((this.xHead - p + P) % P) * bins + k;
        const ar = xr[xs] as number;
        const ai = xi[xs] as number;
        energy += ar * ar + ai * ai;
      }
      const scale = MU / (Math.max(energy, pw[k] as number) + reg);
      const er = (spec[2 * k] as number) * scale;
      const ei = (spec[2 * k + 1] as number) * scale;
      for (let p = 0; p < P; p++) {
        const xs = ((this.xHead - p + P) % P) * bins + k;
        const ws = p * bins + k;
        const ar = xr[xs] as number;
        const ai = xi[xs] as number;
        // W += mu conj(X) E / energy
        wr[ws] = (wr[ws] as number) + ar * er + ai * ei;
        wi[ws] = (wi[ws] as number) + ar * ei - ai * er;
      }
    }
    // Gradient constraint on one partition: keep only the first B taps of its impulse response.
    const p = this.constrainNext;
    this.constrainNext = (p + 1) % P;
    const ws = p * bins;
    for (let k = 0; k < bins; k++) {
      spec[2 * k] = wr[ws + k] as number;
      spec[2 * k + 1] = wi[ws + k] as number;
    }
    const time = this.bgTime;
    fft.inverse(spec, time);
    const real = this.real;
    for (let i = 0; i < b; i++) {
      real[i] = time[i] as number;
      real[b + i] = 0;
    }
    fft.forward(real, spec);
    for (let k = 0; k < bins; k++) {
      wr[ws + k] = spec[2 * k] as number;
      wi[ws + k] = spec[2 * k + 1] as number;
    }
  }

  reset(): void {
    this.mic.fill(0);
    this.farFrame.fill(0);
    this.out.fill(0);
    this.pos = 0;
    for (const a of [this.xr, this.xi, this.bgr, this.bgi, this.fgr, this.fgi, this.power, this.farPeaks])
      a.fill(0);
    this.xHead = 0;
    this.constrainNext = 0;
    this.silentBlocks = this.partitions + 1;
    this.doubleTalkHold = 0;
    this.bgErr = 0;
    this.fgErr = 0;
    this.micPower = 0;
    this.outPower = 0;
  }
}
