// The adaptive core of the echo canceller (echoCanceller.ts): the partitioned-block frequency-domain
// NLMS filter pair of a two-path MDF (Soo & Pang 1990; Speex's MDF): the far-end spectra of the last P
// blocks in a ring, a background filter that adapts and a foreground filter that only ever receives
// copies of it, both as P partitions of B + 1 bins. Overlap-save with 2B-point FFTs. The canceller
// decides when to adapt, copy, restart and clear; this class does the spectral arithmetic.
import { RealFft } from './realFft.ts';
import { dbToPower } from './units.ts';

// Step regularization as a fraction of the mean per-bin far-end energy (see adapt()).
const REGULARIZATION = 0.1;
// Far-end power smoothing per bin, per block (~8 ms): ~40 ms memory.
const POWER_SMOOTHING = 0.8;
// Proportionate step: the floor of each partition's weight, as a fraction of the largest (see proportions()).
const PROP_FLOOR = 0.1;
// Noise-aware step (see adapt(), observeNoise()): power per bin smoothed per block; the noise floor
// follows the echo-free near end's down at once and up by NOISE_RISE per block it sees (~2.7 dB/s at 8 ms
// blocks); the floor counts as noise times NOISE_BIAS (the minimum of a smoothed periodogram reads below
// the noise's mean); and the least fraction of the step a bin keeps.
const ERR_SMOOTHING = 0.6;
const NOISE_RISE = 1.005;
const NOISE_BIAS = 5;
const STEP_FLOOR = 0.05;

/**
 * The gradient constraint on one partition (at `ws` in `wr`, `wi`, `bins` bins): only the first B taps of
 * its impulse response stay, so it remains a linear, not a circular, convolution. `spec` (2B + 2) and
 * `scratch` (2B) are work space. Returns the partition's energy afterwards (sum over bins of |W|^2).
 */
export function constrainPartition(
  fft: RealFft,
  wr: Float64Array,
  wi: Float64Array,
  ws: number,
  bins: number,
  spec: Float64Array,
  scratch: Float64Array,
): number {
  for (let k = 0; k < bins; k++) {
    spec[2 * k] = wr[ws + k] as number;
    spec[2 * k + 1] = wi[ws + k] as number;
  }
  fft.inverse(spec, scratch);
  scratch.fill(0, bins - 1);
  fft.forward(scratch, spec);
  let e = 0;
  for (let k = 0; k < bins; k++) {
    const nr = spec[2 * k] as number;
    const ni = spec[2 * k + 1] as number;
    wr[ws + k] = nr;
    wi[ws + k] = ni;
    e += nr * nr + ni * ni;
  }
  return e;
}

export class PartitionedFilters {
  readonly block: number;
  readonly partitions: number;
  private readonly bins: number;
  private readonly fft: RealFft;
  // Far-end spectra of the last P blocks (ring, newest at xHead), and the two filters, bins 0..B each.
  // Read by the Kalman path (echoKalman.ts), which shares the far-end spectra and their ring.
  readonly xr: Float64Array;
  readonly xi: Float64Array;
  private readonly bgr: Float64Array;
  private readonly bgi: Float64Array;
  private readonly fgr: Float64Array;
  private readonly fgi: Float64Array;
  private readonly power: Float64Array;
  private readonly spec: Float64Array;
  /** The background's error frame for adapt(): B zeros, then the block's error. */
  readonly errorFrame: Float64Array;
  /** Echo estimates of the last estimate() (the last B samples of each are valid). */
  readonly bgTime: Float64Array;
  readonly fgTime: Float64Array;
  // Second spectrum accumulator (the foreground's, estimated in the same pass as the background's), the
  // per-bin far-end energy over the tail, and where each partition's far-end spectrum sits in the ring.
  private readonly specFg: Float64Array;
  private readonly tailEnergy: Float64Array;
  readonly ringAt: Int32Array;
  private readonly prop: Float64Array;
  // Each background partition's energy (sum over bins of |W|^2), kept by adapt(); stale after a copy into it.
  private readonly partEnergy: Float64Array;
  // The background error's smoothed power per bin (adapt()); the near end's with no echo in it, and its
  // floor, the line noise (observeNoise()).
  private readonly errPow: Float64Array;
  private readonly noisePow: Float64Array;
  private readonly noiseFloor: Float64Array;
  private partEnergyStale = true;
  // The foreground is all zeros (no echo model yet, or cleared): its estimate is zero without computing it.
  private fgZero = true;
  private xHead = 0;
  private constrainNext = 0;
  readonly absRegularization: number;

  constructor(block: number, partitions: number) {
    const b = block;
    this.block = b;
    this.partitions = partitions;
    this.bins = b + 1;
    const n = partitions * this.bins;
    this.fft = new RealFft(2 * b);
    this.xr = new Float64Array(n);
    this.xi = new Float64Array(n);
    this.bgr = new Float64Array(n);
    this.bgi = new Float64Array(n);
    this.fgr = new Float64Array(n);
    this.fgi = new Float64Array(n);
    this.power = new Float64Array(this.bins);
    this.errorFrame = new Float64Array(2 * b);
    this.spec = new Float64Array(4 * b);
    this.bgTime = new Float64Array(2 * b);
    this.fgTime = new Float64Array(2 * b);
    this.specFg = new Float64Array(4 * b);
    this.tailEnergy = new Float64Array(this.bins);
    this.ringAt = new Int32Array(partitions);
    this.prop = new Float64Array(partitions);
    this.partEnergy = new Float64Array(partitions);
    this.errPow = new Float64Array(this.bins);
    this.noisePow = new Float64Array(this.bins);
    this.noiseFloor = new Float64Array(this.bins);
    // Absolute per-bin regularization: the periodogram of -70 dBFS white noise in a 2B-point frame.
    this.absRegularization = 2 * b * dbToPower(-70);
  }

  /**
   * A copy of these filters with `partitions` partitions, the converged model kept: partition p models
   * the echo path p blocks behind in both, so the first min(P, P') partitions of both filters and the
   * far-end spectra of the last min(P, P') blocks carry over, by age; a longer tail's new partitions
   * start empty (and learn from the next blocks), a shorter one's lost partitions are dropped. The
   * per-bin power, error and noise statistics carry over whole.
   */
  resized(partitions: number): PartitionedFilters {
    const next = new PartitionedFilters(this.block, partitions);
    const bins = this.bins;
    const P = this.partitions;
    const keep = Math.min(P, partitions);
    for (let a = 0; a < partitions; a++) {
      // Far-end spectrum of age a: at slot head - a here, at slot -a (head 0) there.
      const to = ((partitions - a) % partitions) * bins;
      next.ringAt[a] = to;
      if (a >= keep) continue;
      const from = ((this.xHead - a + P) % P) * bins;
      next.xr.set(this.xr.subarray(from, from + bins), to);
      next.xi.set(this.xi.subarray(from, from + bins), to);
      const w = a * bins;
      next.bgr.set(this.bgr.subarray(w, w + bins), w);
      next.bgi.set(this.bgi.subarray(w, w + bins), w);
      next.fgr.set(this.fgr.subarray(w, w + bins), w);
      next.fgi.set(this.fgi.subarray(w, w + bins), w);
    }
    for (const k of ['power', 'errPow', 'noisePow', 'noiseFloor'] as const) next[k].set(this[k]);
    next.fgZero = this.fgZero;
    return next;
  }

  /** Position of the newest far-end block in the ring (0..P-1); it advances by one per pushFar(). */
  head(): number {
    return this.xHead;
  }

  /** Advances the ring by one block without a spectrum (a silent far end); pushFar() then fills it. */
  advance(): void {
    this.xHead = (this.xHead + 1) % this.partitions;
  }

  /** Takes the spectrum of the 2B-sample far-end frame (previous block, newest block) into the ring's head. */
  pushFar(frame: Float64Array): void {
    const bins = this.bins;
    const P = this.partitions;
    const spec = this.spec;
    this.fft.forward(frame, spec);
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
  }

  /** Background -> foreground. */
  copyToForeground(): void {
    this.fgr.set(this.bgr);
    this.fgi.set(this.bgi);
    this.fgZero = false;
  }

  /** The foreground takes another path's model (the Kalman path's, of the same size). */
  setForeground(wr: Float64Array, wi: Float64Array): void {
    this.fgr.set(wr);
    this.fgi.set(wi);
    this.fgZero = false;
  }

  /** Foreground -> background (a background gone far astray restarts from the foreground). */
  restartBackground(): void {
    this.bgr.set(this.fgr);
    this.bgi.set(this.fgi);
    this.partEnergyStale = true;
  }

  /** The background's model, not a copy (the Kalman path restarts from it: echoKalman.ts). */
  backgroundModel(): { readonly wr: Float64Array; readonly wi: Float64Array } {
    return { wr: this.bgr, wi: this.bgi };
  }

  clearForeground(): void {
    this.fgr.fill(0);
    this.fgi.fill(0);
    this.fgZero = true;
  }

  /**
   * Echo estimates of both filters, Y = sum_p W_p X_(now - p), inverse-transformed into bgTime and fgTime
   * (last B valid): convolve() for both in one pass over the far-end spectra, each bin summing its
   * partitions in the same order (two convolve() calls measured 5-10% slower on the chains with a
   * canceller, 2026-12-06).
   */
  estimate(): void {
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

  /**
   * The spectrum of a filter's echo estimate over the ring, Y = sum_p W_p X_(now - p), into `out` (bins
   * 0..B, interleaved), partitions summed newest first (the Kalman path's estimate; estimate() fuses it
   * for the pair).
   */
  convolve(wr: Float64Array, wi: Float64Array, out: Float64Array): void {
    const bins = this.bins;
    const xr = this.xr;
    const xi = this.xi;
    const at = this.ringAt;
    out.fill(0, 0, 2 * bins);
    for (let p = 0; p < this.partitions; p++) {
      const xs = at[p] as number;
      const ws = p * bins;
      for (let k = 0; k < bins; k++) {
        const br = xr[xs + k] as number;
        const bi = xi[xs + k] as number;
        const ar = wr[ws + k] as number;
        const ai = wi[ws + k] as number;
        out[2 * k] = (out[2 * k] as number) + ar * br - ai * bi;
        out[2 * k + 1] = (out[2 * k + 1] as number) + ar * bi + ai * br;
      }
    }
  }

  /**
   * Takes a near-end block recorded while the far end was quiet over the whole tail (so it holds no echo:
   * line noise, perhaps a near-end talker) into the noise floor per bin: the block's power, smoothed as
   * the error's is in adapt(), followed down at once and up by NOISE_RISE per call, so a talker's pauses
   * set it. The block goes in as the error does ([0 x B, block]).
   */
  observeNoise(block: Float64Array): void {
    const b = this.block;
    const frame = this.errorFrame;
    frame.fill(0, 0, b);
    frame.set(block.subarray(0, b), b);
    const spec = this.spec;
    this.fft.forward(frame, spec);
    const np = this.noisePow;
    const nf = this.noiseFloor;
    for (let k = 0; k < this.bins; k++) {
      const re = spec[2 * k] as number;
      const im = spec[2 * k + 1] as number;
      const p = ERR_SMOOTHING * (np[k] as number) + (1 - ERR_SMOOTHING) * (re * re + im * im);
      np[k] = p;
      const was = nf[k] as number;
      // A floor of 0 (the start, or a silent bin) has nothing to rise from: it takes the power.
      nf[k] = was === 0 || p < was ? p : was * NOISE_RISE;
    }
  }

  /**
   * One NLMS step (step size `mu`) of the background filter on the error frame in `errorFrame` ([0 x B, e]);
   * with `noiseAware`, each bin's step is scaled down by the share of line noise in its error.
   */
  adapt(mu: number, noiseAware: boolean): void {
    const bins = this.bins;
    const P = this.partitions;
    const spec = this.spec;
    const fft = this.fft;
    fft.forward(this.errorFrame, spec);
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
    // Noise-aware step per bin: the error is residual echo plus whatever the far end does not explain
    // (line noise); only the residual echo's share of it is worth a step. observeNoise() keeps the line
    // noise's level per bin, so each bin's step is scaled by 1 - NOISE_BIAS x noise / error power (the
    // estimated echo-to-error ratio, as the optimal NLMS step of Valin 2007, with the residual echo taken
    // as what is above the noise), at least STEP_FLOOR. While the echo is unlearned, or after the path
    // changes, the error is far above the noise and the step is whole; once the residual sinks into the
    // noise the step shrinks, so the noise no longer holds the filter's misadjustment at its own level
    // (on the echo bench's pink-noise profiles the residual echo with noise fell by 1.5-5.7 dB, 2026-12-03).
    const ep = this.errPow;
    const nf = this.noiseFloor;
    for (let k = 0; k < bins; k++) {
      const re = spec[2 * k] as number;
      const im = spec[2 * k + 1] as number;
      const e2 = ERR_SMOOTHING * (ep[k] as number) + (1 - ERR_SMOOTHING) * (re * re + im * im);
      ep[k] = e2;
      // The noise is part of this error: a floor above the error's own power was read with a near-end
      // talker in it, and comes down to it.
      if (e2 < (nf[k] as number)) nf[k] = e2;
      const r = noiseAware && e2 > 0 ? Math.max(STEP_FLOOR, 1 - (NOISE_BIAS * (nf[k] as number)) / e2) : 1;
      const scale = (mu * r) / (Math.max(energy[k] as number, pw[k] as number) + reg);
      spec[2 * k] = (spec[2 * k] as number) * scale;
      spec[2 * k + 1] = (spec[2 * k + 1] as number) * scale;
    }
    const prop = this.proportions();
    for (let p = 0; p < P; p++) {
      const xs = at[p] as number;
      const ws = p * bins;
      const g = prop[p] as number;
      let e = 0;
      for (let k = 0; k < bins; k++) {
        const er = g * (spec[2 * k] as number);
        const ei = g * (spec[2 * k + 1] as number);
        const ar = xr[xs + k] as number;
        const ai = xi[xs + k] as number;
        // W += mu conj(X) E / energy
        const nr = (wr[ws + k] as number) + ar * er + ai * ei;
        const ni = (wi[ws + k] as number) + ar * ei - ai * er;
        wr[ws + k] = nr;
        wi[ws + k] = ni;
        e += nr * nr + ni * ni;
      }
      this.partEnergy[p] = e;
    }
    // Gradient constraint on one partition in turn.
    const p = this.constrainNext;
    this.constrainNext = (p + 1) % P;
    this.partEnergy[p] = constrainPartition(fft, wr, wi, p * bins, bins, spec, this.errorFrame);
  }

  /**
   * Per-partition step weights (mean 1): proportionate adaptation (Duttweiler's PNLMS, in the
   * partitioned form of Speex's MDF): each partition's share follows its filter's magnitude, with a floor
   * of PROP_FLOOR x the largest so an empty partition still learns.
   */
  private proportions(): Float64Array {
    const P = this.partitions;
    const bins = this.bins;
    const wr = this.bgr;
    const wi = this.bgi;
    const prop = this.prop;
    const energy = this.partEnergy;
    if (this.partEnergyStale) {
      for (let p = 0; p < P; p++) {
        let e = 0;
        const ws = p * bins;
        for (let k = 0; k < bins; k++) {
          const a = wr[ws + k] as number;
          const b = wi[ws + k] as number;
          e += a * a + b * b;
        }
        energy[p] = e;
      }
      this.partEnergyStale = false;
    }
    let max = 0;
    for (let p = 0; p < P; p++) {
      const m = Math.sqrt(energy[p] as number);
      prop[p] = m;
      if (m > max) max = m;
    }
    if (max === 0) return prop.fill(1);
    let sum = 0;
    for (let p = 0; p < P; p++) {
      const v = (prop[p] as number) + PROP_FLOOR * max;
      prop[p] = v;
      sum += v;
    }
    for (let p = 0; p < P; p++) prop[p] = (P * (prop[p] as number)) / sum;
    return prop;
  }

  reset(): void {
    for (const a of [this.xr, this.xi, this.bgr, this.bgi, this.fgr, this.fgi, this.power]) a.fill(0);
    this.xHead = 0;
    this.constrainNext = 0;
    this.fgZero = true;
    this.partEnergyStale = true;
    this.errPow.fill(0);
    this.noisePow.fill(0);
    this.noiseFloor.fill(0);
  }
}
