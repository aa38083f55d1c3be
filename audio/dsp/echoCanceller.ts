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
// Divergence protection: an adaptive filter fed a far end that is NOT in the near end (a leg without echo,
// e.g. the gateway's outbound leg) still adapts on whatever near-end sound slips past the Geigel detector;
// over short stretches it can even "track" quasi-stationary near-end speech, win the copy test and reach
// the foreground. Subtracting that estimate damages the talker. So the foreground's estimate y is only
// trusted as far as the data show it explains the microphone: over far-end single talk the least-squares
// scale rho = <d, y> / <y, y> is ~1 for a real echo model and ~0 for a spurious one, and the output is
// d - g y with g = 0 for rho <= 0.5 (where subtracting y would add energy: ERLE < 0, so the near end
// passes through untouched), g = 1 for rho >= RHO_FULL, linear in between, ramped sample by sample. g
// starts at 0: until a model has proven itself the canceller is transparent. A foreground that stays
// spurious for SPURIOUS_CLEAR_MS is cleared.
//
// Step-size control: until a foreground has proven itself (g > 0), the background searches with a step
// scaled by how well its own a-priori estimate correlates with the microphone over single talk
// (normalized cross-correlation c = <d, y_bg> / |d| |y_bg|, a coherence measure): a real echo path gives
// c near 1 from the first blocks (its estimate is a scaled copy of the echo) and the full step; sound the
// far end does not explain gives c near 0 and SEARCH_STEP x the step, too slow to track near-end speech.
// That keeps the background from wandering on a leg without echo, while a real echo still converges by
// 20 dB within about a second.
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
// Memory of the echo-model validity statistics (<d, y>, <y, y> over far-end single talk).
const VALIDITY_MS = 150;
// Least-squares scale of the foreground estimate at or below which it is not subtracted at all (subtracting
// y with rho <= 0.5 would raise the output energy above the input's), and at or above which it is in full.
const RHO_OFF = 0.5;
const RHO_FULL = 0.8;
// A foreground that stays unproven (rho below RHO_OFF) this long while it produces an estimate is cleared.
const SPURIOUS_CLEAR_MS = 400;
// Background step while no echo has been proven: MU x max(SEARCH_STEP, c^SEARCH_POWER) (see above).
const SEARCH_STEP = 0.1;
const SEARCH_POWER = 4;

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
  // Second spectrum accumulator (the foreground's, estimated in the same pass as the background's), the
  // per-bin far-end energy over the tail, and where each partition's far-end spectrum sits in the ring.
  private readonly specFg: Float64Array;
  private readonly tailEnergy: Float64Array;
  private readonly ringAt: Int32Array;
  // The foreground is all zeros (no echo model yet, or cleared): its estimate is zero without computing it.
  private fgZero = true;
  private readonly farPeaks: Float64Array;
  private xHead = 0;
  private constrainNext = 0;
  private silentBlocks: number;
  private doubleTalkHold = 0;
  private readonly doubleTalkBlocks: number;
  private readonly absRegularization: number;
  private bgErr = 0;
  private fgErr = 0;
  private micErr = 0;
  private micPower = 0;
  private outPower = 0;
  private readonly erleCoef: number;
  // Over far-end single talk, smoothed: <d, d>, <d, y> and <y, y> of the foreground estimate, and the same
  // of the background's; the gain the foreground estimate is subtracted with; blocks it has been spurious.
  private sdd = 0;
  private sdy = 0;
  private syy = 0;
  private sdyBg = 0;
  private syyBg = 0;
  private gain = 0;
  private spuriousBlocks = 0;
  private readonly validityCoef: number;
  private readonly spuriousClearBlocks: number;

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
    this.specFg = new Float64Array(4 * b);
    this.tailEnergy = new Float64Array(this.bins);
    this.ringAt = new Int32Array(this.partitions);
    this.farPeaks = new Float64Array(this.partitions + 1);
    this.silentBlocks = this.partitions + 1;
    this.doubleTalkBlocks = Math.ceil((DOUBLE_TALK_HOLD_MS / 1000) * (sampleRate / b));
    // Absolute per-bin regularization: the periodogram of -70 dBFS white noise in a 2B-point frame.
    this.absRegularization = 2 * b * dbToPower(-70);
    this.erleCoef = onePole(500, sampleRate, b);
    this.validityCoef = onePole(VALIDITY_MS, sampleRate, b);
    this.spuriousClearBlocks = Math.ceil((SPURIOUS_CLEAR_MS / 1000) * (sampleRate / b));
  }

  /** Gain (0..1) with which the foreground echo estimate is being subtracted: 0 passes the near end through. */
  echoEstimateGain(): number {
    return this.gain;
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
    for (let p = 0; p < P; p++) this.ringAt[p] = ((this.xHead - p + P) % P) * bins;
    this.estimate();
    const mic = this.mic;
    const out = this.out;
    const real = this.real;
    const fgTime = this.fgTime;
    let micPow = 0;
    let bgPow = 0;
    let fgPow = 0;
    let micPeak = 0;
    let dy = 0;
    let yy = 0;
    let dyBg = 0;
    let yyBg = 0;
    for (let i = 0; i < b; i++) {
      const d = mic[i] as number;
      const yf = fgTime[b + i] as number;
      const yb = this.bgTime[b + i] as number;
      dyBg += d * yb;
      yyBg += yb * yb;
      const eb = d - yb;
      const ef = d - yf;
      real[i] = 0;
      real[b + i] = eb;
      micPow += d * d;
      bgPow += eb * eb;
      fgPow += ef * ef;
      dy += d * yf;
      yy += yf * yf;
      const a = d < 0 ? -d : d;
      if (a > micPeak) micPeak = a;
    }
    const farActive = farPower >= FAR_ACTIVE_POWER;
    let singleTalk = false;
    if (farActive) {
      let farMax = 0;
      for (let i = 0; i < this.farPeaks.length; i++) farMax = Math.max(farMax, this.farPeaks[i] as number);
      if (micPeak > GEIGEL_RATIO * farMax) this.doubleTalkHold = this.doubleTalkBlocks;
      else if (this.doubleTalkHold > 0) this.doubleTalkHold--;
      singleTalk = this.doubleTalkHold === 0;
    }
    if (singleTalk) {
      // Only far-end single talk says whether y explains d: under double talk the near end swamps <d, y>.
      const v = this.validityCoef;
      this.sdd = v * this.sdd + (1 - v) * micPow;
      this.sdy = v * this.sdy + (1 - v) * dy;
      this.syy = v * this.syy + (1 - v) * yy;
      this.sdyBg = v * this.sdyBg + (1 - v) * dyBg;
      this.syyBg = v * this.syyBg + (1 - v) * yyBg;
    }
    const rho = this.syy > 0 ? this.sdy / this.syy : 0;
    const target = Math.min(1, Math.max(0, (rho - RHO_OFF) / (RHO_FULL - RHO_OFF)));
    // Ramp the gain across the block so a change of trust never steps the output.
    const g0 = this.gain;
    const step = (target - g0) / b;
    let outPow = 0;
    for (let i = 0; i < b; i++) {
      const e = (mic[i] as number) - (g0 + step * (i + 1)) * (fgTime[b + i] as number);
      out[i] = e;
      outPow += e * e;
    }
    this.gain = target;
    if (!farActive) return;
    // Which filter is better: near-end speech is in both errors alike, so only echo modelling differs.
    const s = COMPARE_SMOOTHING;
    this.bgErr = s * this.bgErr + (1 - s) * bgPow;
    this.fgErr = s * this.fgErr + (1 - s) * fgPow;
    this.micErr = s * this.micErr + (1 - s) * micPow;
    if (this.bgErr < COPY_RATIO * this.fgErr) {
      this.fgr.set(this.bgr);
      this.fgi.set(this.bgi);
      this.fgZero = false;
      this.fgErr = this.bgErr;
    } else if (this.bgErr > RESET_RATIO * this.fgErr) {
      this.bgr.set(this.fgr);
      this.bgi.set(this.fgi);
      this.bgErr = this.fgErr;
    }
    // A foreground that keeps producing an estimate the microphone does not contain is a spurious model:
    // clear it, so the output is exactly the near end until a real echo path is found.
    if (yy > 0 && target === 0) {
      if (++this.spuriousBlocks >= this.spuriousClearBlocks) {
        this.fgr.fill(0);
        this.fgi.fill(0);
        this.fgZero = true;
        this.fgErr = this.micErr;
        this.sdy = 0;
        this.syy = 0;
        this.spuriousBlocks = 0;
      }
    } else this.spuriousBlocks = 0;
    if (!singleTalk) return;
    const c = this.erleCoef;
    this.micPower = c * this.micPower + (1 - c) * micPow;
    this.outPower = c * this.outPower + (1 - c) * outPow;
    let mu = MU;
    if (this.gain === 0) {
      // Not yet proven: search with a step scaled by how well the background explains the microphone.
      const corr = this.syyBg > 0 && this.sdd > 0 ? this.sdyBg / Math.sqrt(this.syyBg * this.sdd) : 0;
      mu *= Math.max(SEARCH_STEP, Math.min(1, Math.max(0, corr)) ** SEARCH_POWER);
    }
    this.adapt(mu);
  }

  /**
   * Echo estimates of both filters, Y = sum_p W_p X_(now - p), inverse-transformed into bgTime and fgTime
   * (last B valid), in one pass over the far-end spectra; each bin sums its partitions in the same order.
   */
  private estimate(): void {
    const bins = this.bins;
    const P = this.partitions;
    const xr = this.xr;
    const xi = this.xi;
    const bgr = this.bgr;
    const bgi = this.bgi;
    const fgr = this.fgr;
    const fgi = this.fgi;
    const sb = this.spec;
    const sf = this.specFg;
    const at = this.ringAt;
    const withFg = !this.fgZero;
    sb.fill(0, 0, 2 * bins);
    if (withFg) sf.fill(0, 0, 2 * bins);
    for (let p = 0; p < P; p++) {
      const xs = at[p] as number;
      const ws = p * bins;
      for (let k = 0; k < bins; k++) {
        const br = xr[xs + k] as number;
        const bi = xi[xs + k] as number;
        const ar = bgr[ws + k] as number;
        const ai = bgi[ws + k] as number;
        sb[2 * k] = (sb[2 * k] as number) + ar * br - ai * bi;
        sb[2 * k + 1] = (sb[2 * k + 1] as number) + ar * bi + ai * br;
        if (withFg) {
          const cr = fgr[ws + k] as number;
          const ci = fgi[ws + k] as number;
          sf[2 * k] = (sf[2 * k] as number) + cr * br - ci * bi;
          sf[2 * k + 1] = (sf[2 * k + 1] as number) + cr * bi + ci * br;
        }
      }
    }
    this.fft.inverse(sb, this.bgTime);
    if (withFg) this.fft.inverse(sf, this.fgTime);
    else this.fgTime.fill(0);
  }

  /** One NLMS step (step size `mu`) of the background filter on the error frame in `real` ([0 x B, e]). */
  private adapt(mu: number): void {
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
    // Per-bin far-end energy over the tail, partitions summed newest first, then the step per bin.
    const at = this.ringAt;
    const energy = this.tailEnergy;
    energy.fill(0);
    for (let p = 0; p < P; p++) {
      const xs = at[p] as number;
      for (let k = 0; k < bins; k++) {
        const ar = xr[xs + k] as number;
        const ai = xi[xs + k] as number;
        energy[k] = (energy[k] as number) + (ar * ar + ai * ai);
      }
    }
    for (let k = 0; k < bins; k++) {
      const scale = mu / (Math.max(energy[k] as number, pw[k] as number) + reg);
      spec[2 * k] = (spec[2 * k] as number) * scale;
      spec[2 * k + 1] = (spec[2 * k + 1] as number) * scale;
    }
    for (let p = 0; p < P; p++) {
      const xs = at[p] as number;
      const ws = p * bins;
      for (let k = 0; k < bins; k++) {
        const er = spec[2 * k] as number;
        const ei = spec[2 * k + 1] as number;
        const ar = xr[xs + k] as number;
        const ai = xi[xs + k] as number;
        // W += mu conj(X) E / energy
        wr[ws + k] = (wr[ws + k] as number) + ar * er + ai * ei;
        wi[ws + k] = (wi[ws + k] as number) + ar * ei - ai * er;
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
    this.fgZero = true;
    this.silentBlocks = this.partitions + 1;
    this.doubleTalkHold = 0;
    this.bgErr = 0;
    this.fgErr = 0;
    this.micErr = 0;
    this.micPower = 0;
    this.outPower = 0;
    this.sdd = 0;
    this.sdy = 0;
    this.syy = 0;
    this.sdyBg = 0;
    this.syyBg = 0;
    this.gain = 0;
    this.spuriousBlocks = 0;
  }
}
