// High-pass / DC removal: two cascaded second-order high-pass sections with the pole Qs of a 4th-order
// Butterworth, so the pair is maximally flat at 24 dB/octave. Second order alone (12 dB/octave) cuts
// 50 Hz hum by only ~15 dB at a 120 Hz cutoff; fourth order cuts it by ~30 dB and leaves 1 kHz untouched.
//
// Each section is a trapezoidal-integrator state-variable filter (the "topology-preserving transform" of
// the analog SVF). Its transfer function is exactly the RBJ-cookbook high-pass biquad's (both are the
// bilinear transform of s^2 / (s^2 + s/Q + 1) prewarped at the cutoff), but its two states are the
// integrators' own contents, not a mix of past inputs and outputs weighted by the coefficients. That is
// what makes the cutoff hot: new coefficients act on the same physical state, so nothing needs resetting
// and the output does not jump. A change is still glided over RAMP_MS (the coefficient g = tan(pi fc / fs)
// moves linearly, sample by sample), so even a large step in cutoff only fades the hum out.
import type { AudioBlock } from './types.ts';

// k = 1/Q of each section of an n-th order Butterworth: 2 cos(theta_k), theta_k = (2k - 1) pi / (2n), n = 4.
const BUTTERWORTH4_K = [2 * Math.cos(Math.PI / 8), 2 * Math.cos((3 * Math.PI) / 8)] as const;
// Glide time of a cutoff change.
const RAMP_MS = 20;

export interface HighPassSettings {
  cutoffHz: number;
}

export class HighPassFilter implements AudioBlock {
  readonly latency = 0;
  // Integrator states per section: ic1 ic2.
  private readonly state = new Float64Array(4);
  private readonly rampSamples: number;
  // Prewarped coefficient in use, and where a glide is taking it.
  private g = 0;
  private gTarget = 0;
  private gStep = 0;
  private rampLeft = 0;
  private cutoff = 0;

  constructor(
    private readonly sampleRate: number,
    settings: HighPassSettings,
  ) {
    this.rampSamples = Math.max(1, Math.round((RAMP_MS / 1000) * sampleRate));
    this.gTarget = this.prewarp(settings.cutoffHz);
    this.g = this.gTarget;
    this.cutoff = settings.cutoffHz;
  }

  /** The cutoff in effect (the target of a glide in progress), Hz. */
  cutoffHz(): number {
    return this.cutoff;
  }

  /** A new cutoff: glides there over RAMP_MS from the current coefficient, keeping the filter state. */
  update(settings: HighPassSettings): void {
    const g = this.prewarp(settings.cutoffHz);
    this.cutoff = settings.cutoffHz;
    if (g === this.gTarget) return;
    this.gTarget = g;
    this.rampLeft = this.rampSamples;
    this.gStep = (g - this.g) / this.rampSamples;
  }

  process(buf: Float32Array): void {
    let i = 0;
    // Glide: coefficients recomputed every sample while the cutoff moves.
    while (this.rampLeft > 0 && i < buf.length) {
      this.rampLeft--;
      this.g = this.rampLeft === 0 ? this.gTarget : this.g + this.gStep;
      buf[i] = this.sample(buf[i] as number, this.g);
      i++;
    }
    if (i < buf.length) this.run(buf, i);
    // Flush denormals: a decaying state in silence would otherwise slow every later sample.
    const st = this.state;
    for (let s = 0; s < 4; s++) if (Math.abs(st[s] as number) < 1e-30) st[s] = 0;
  }

  reset(): void {
    this.state.fill(0);
    // A new call starts at the cutoff in effect, with no glide left over.
    this.g = this.gTarget;
    this.rampLeft = 0;
  }

  private prewarp(cutoffHz: number): number {
    const nyquist = this.sampleRate / 2;
    if (!(cutoffHz > 0 && cutoffHz < nyquist)) {
      throw new RangeError(`high-pass cutoff ${cutoffHz} Hz must be in (0, ${nyquist}) Hz`);
    }
    return Math.tan((Math.PI * cutoffHz) / this.sampleRate);
  }

  /** One sample through both sections with coefficient g (the glide path). */
  private sample(x: number, g: number): number {
    const st = this.state;
    let v = x;
    for (let s = 0; s < 2; s++) {
      const k = BUTTERWORTH4_K[s] as number;
      const a1 = 1 / (1 + g * (g + k));
      const a2 = g * a1;
      const a3 = g * a2;
      const ic1 = st[2 * s] as number;
      const ic2 = st[2 * s + 1] as number;
      const v3 = v - ic2;
      const v1 = a1 * ic1 + a2 * v3;
      const v2 = ic2 + a2 * ic1 + a3 * v3;
      st[2 * s] = 2 * v1 - ic1;
      st[2 * s + 1] = 2 * v2 - ic2;
      v = v - k * v1 - v2;
    }
    return v;
  }

  /** Samples from `from` on with the settled coefficient: both sections per sample, states in registers. */
  private run(buf: Float32Array, from: number): void {
    const st = this.state;
    const g = this.g;
    const k0 = BUTTERWORTH4_K[0];
    const k1 = BUTTERWORTH4_K[1];
    const a10 = 1 / (1 + g * (g + k0));
    const a20 = g * a10;
    const a30 = g * a20;
    const a11 = 1 / (1 + g * (g + k1));
    const a21 = g * a11;
    const a31 = g * a21;
    let p1 = st[0] as number;
    let p2 = st[1] as number;
    let q1 = st[2] as number;
    let q2 = st[3] as number;
    for (let i = from; i < buf.length; i++) {
      const x = buf[i] as number;
      const u3 = x - p2;
      const u1 = a10 * p1 + a20 * u3;
      const u2 = p2 + a20 * p1 + a30 * u3;
      p1 = 2 * u1 - p1;
      p2 = 2 * u2 - p2;
      const h = x - k0 * u1 - u2;
      const v3 = h - q2;
      const v1 = a11 * q1 + a21 * v3;
      const v2 = q2 + a21 * q1 + a31 * v3;
      q1 = 2 * v1 - q1;
      q2 = 2 * v2 - q2;
      buf[i] = h - k1 * v1 - v2;
    }
    st[0] = p1;
    st[1] = p2;
    st[2] = q1;
    st[3] = q2;
  }
}
