// A third path for the echo canceller (echoCanceller.ts): a partitioned frequency-domain adaptive Kalman
// filter (Enzner & Vary, Signal Processing 2006; partitioned as in Kuech et al., IEEE/ACM TASLP 2014) on
// the same far-end spectra as the NLMS pair (echoFilter.ts), adapting on every block with far-end signal,
// double talk included.
//
// Why: the NLMS background adapts only over far-end single talk (a Geigel detector) with a fixed step,
// so while both ends talk it either stands still or takes the near-end talker for echo error. On the
// demo's station 1 (a talker 6-9 dB above an 80 ms echo, both talking throughout) it removed 0.6-6.2 dB
// of the echo over seconds 2-6. The Kalman filter's gain per bin and partition is the coefficient's
// uncertainty over the error's expected power, which counts whatever the far end does not explain (a
// near-end talker included) as observation noise: large while the model is unsure and the microphone is
// echo, small once it has learned or while the near end dominates. The canceller copies this path's
// model to the output (foreground) only when it is clearly better than the foreground, as it does the
// NLMS background's.
import { constrainPartition, type PartitionedFilters } from './echoFilter.ts';
import { RealFft } from './realFft.ts';

// State transition factor per block (how far the echo path may drift: 0.9995 at 8 ms blocks; 0.99995 did
// not re-learn a changed path, 0.999 let double talk detune a converged model by 4 dB more), the
// uncertainty of a coefficient never learned, and its floor (without one, seconds of far end with no echo
// shrink it to nothing and an echo that then appears is never learned; higher floors leave the model
// noisier under double talk), the observation-noise power smoothing, and the overlap-save frame-to-block
// ratio.
const A = 0.9995;
const P_START = 0.005;
const P_FLOOR = 0.00003;
const OBS_SMOOTHING = 0.5;
const R = 2;
// The observation noise is the error power minus the residual the uncertainty predicts (the error power
// itself doubled the noise and halved convergence), at least this share of the error power.
const OBS_FLOOR = 0.01;

export class KalmanPath {
  private readonly block: number;
  private readonly bins: number;
  readonly partitions: number;
  private readonly fft: RealFft;
  private readonly wr: Float64Array;
  private readonly wi: Float64Array;
  private readonly unc: Float64Array;
  private readonly obs: Float64Array;
  private readonly spec: Float64Array;
  /** The echo estimate of the last estimate() (the last B samples valid). */
  readonly time: Float64Array;
  /** The error frame for adapt(): B zeros, then the block's error against this path's estimate. */
  readonly errorFrame: Float64Array;
  /** The last measure()'s error energy and estimate-difference energy. */
  errorEnergy = 0;
  diffEnergy = 0;
  private constrainNext = 0;
  private readonly absRegularization: number;

  constructor(block: number, partitions: number, absRegularization: number) {
    this.block = block;
    this.bins = block + 1;
    this.partitions = partitions;
    this.fft = new RealFft(2 * block);
    const n = partitions * this.bins;
    this.wr = new Float64Array(n);
    this.wi = new Float64Array(n);
    this.unc = new Float64Array(n).fill(P_START);
    this.obs = new Float64Array(this.bins);
    this.spec = new Float64Array(4 * block);
    this.time = new Float64Array(2 * block);
    this.errorFrame = new Float64Array(2 * block);
    this.absRegularization = absRegularization;
  }

  /** A copy with `partitions` partitions: each partition's model and uncertainty kept by age, new ones fresh. */
  resized(partitions: number): KalmanPath {
    const next = new KalmanPath(this.block, partitions, this.absRegularization);
    const keep = Math.min(this.partitions, partitions) * this.bins;
    next.wr.set(this.wr.subarray(0, keep));
    next.wi.set(this.wi.subarray(0, keep));
    next.unc.set(this.unc.subarray(0, keep));
    next.obs.set(this.obs);
    return next;
  }

  /** Gives this path's model to `f` as its foreground (the NLMS background keeps its own). */
  giveModel(f: PartitionedFilters): void {
    f.setForeground(this.wr, this.wi);
  }

  /** This path's echo estimate, Y = sum_p W_p X_(now - p), into `time` (the last B samples valid). */
  estimate(f: PartitionedFilters): void {
    f.convolve(this.wr, this.wi, this.spec);
    this.fft.inverse(this.spec, this.time);
  }

  /**
   * The block's error against this path's estimate (`mic` minus the last B samples of `time`) into
   * errorFrame; sets `errorEnergy`, and `diffEnergy`, the energy of its estimate's difference from `other`'s
   * (the foreground's, in the same layout).
   */
  measure(mic: Float64Array, other: Float64Array): void {
    const b = this.block;
    const frame = this.errorFrame;
    const time = this.time;
    let err = 0;
    let diff = 0;
    frame.fill(0, 0, b);
    for (let i = 0; i < b; i++) {
      const y = time[b + i] as number;
      const e = (mic[i] as number) - y;
      frame[b + i] = e;
      err += e * e;
      const d = y - (other[b + i] as number);
      diff += d * d;
    }
    this.errorEnergy = err;
    this.diffEnergy = diff;
  }

  /**
   * One Kalman step on `errorFrame`: per bin, the gain of partition p is P_p / (sum_q P_q |X_q|^2 + R Phi),
   * with Phi the observation noise (the error power less the residual the uncertainty predicts); each
   * coefficient's uncertainty shrinks by what the step learned and grows back toward (1 - A^2) |W|^2.
   * Returns the share of the block's error power that the model's own uncertainty accounts for (0..1):
   * near 1 while the error is residual echo, near 0 while something else fills it (a near-end talker).
   */
  adapt(f: PartitionedFilters): number {
    let sumE = 0;
    let sumX = 0;
    const bins = this.bins;
    const P = this.partitions;
    const spec = this.spec;
    this.fft.forward(this.errorFrame, spec);
    const { xr, xi, ringAt } = f;
    const wr = this.wr;
    const wi = this.wi;
    const unc = this.unc;
    const obs = this.obs;
    const a2 = A * A;
    for (let k = 0; k < bins; k++) {
      const er = spec[2 * k] as number;
      const ei = spec[2 * k + 1] as number;
      const e2 = er * er + ei * ei;
      let expected = 0;
      for (let p = 0; p < P; p++) {
        const x = (ringAt[p] as number) + k;
        const ar = xr[x] as number;
        const ai = xi[x] as number;
        expected += (unc[p * bins + k] as number) * (ar * ar + ai * ai);
      }
      sumE += e2;
      sumX += expected;
      const o =
        OBS_SMOOTHING * (obs[k] as number) + (1 - OBS_SMOOTHING) * Math.max(OBS_FLOOR * e2, e2 - expected);
      obs[k] = o;
      const inv = 1 / (R * o + this.absRegularization + expected);
      for (let p = 0; p < P; p++) {
        const x = (ringAt[p] as number) + k;
        const w = p * bins + k;
        const ar = xr[x] as number;
        const ai = xi[x] as number;
        const u = unc[w] as number;
        const mu = u * inv;
        const nr = (wr[w] as number) + mu * (ar * er + ai * ei);
        const ni = (wi[w] as number) + mu * (ar * ei - ai * er);
        wr[w] = nr;
        wi[w] = ni;
        const learned = (mu * (ar * ar + ai * ai)) / R;
        unc[w] = Math.max(P_FLOOR, a2 * (1 - learned) * u + (1 - a2) * (nr * nr + ni * ni));
      }
    }
    const c = this.constrainNext;
    this.constrainNext = (c + 1) % P;
    constrainPartition(this.fft, wr, wi, c * bins, bins, spec, this.errorFrame);
    return sumE > 0 ? Math.min(1, sumX / sumE) : 1;
  }

  /**
   * Restarts from the NLMS background's model (the arbiter's `kalman-restart`: this path far worse than
   * it). Each coefficient keeps its uncertainty: the background's model is taken as this path's estimate.
   */
  restartFrom(f: PartitionedFilters): void {
    const { wr, wi } = f.backgroundModel();
    this.wr.set(wr);
    this.wi.set(wi);
  }

  reset(): void {
    this.wr.fill(0);
    this.wi.fill(0);
    this.unc.fill(P_START);
    this.obs.fill(0);
    this.constrainNext = 0;
  }
}
