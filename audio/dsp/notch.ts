// A notch that can move and fade without a click, for the hum canceller (humCanceller.ts): a
// topology-preserving-transform state-variable filter (as highpass.ts) whose band-pass, scaled by m k,
// is taken off its input: out = x - m k bp, k = bandwidth / frequency. The SVF's states are its
// integrators' contents, so new coefficients act on the same physical state: a frequency change glides
// the coefficients over `glideSamples` with no step. A notch starts from rest with its depth m gliding
// 0 -> 1 over `fadeSamples` and fades out the same way; at depth 0 and at rest it is idle (h = 0).

/** One notch: a TPT state-variable filter whose band-pass, scaled by m k, is taken off its input. */
export class Notch {
  /** Harmonic number of the fundamental it sits on; 0 = idle. */
  h = 0;
  hz = 0;
  missed = 0;
  private g = 0;
  private k = 0;
  private gStep = 0;
  private kStep = 0;
  private gTarget = 0;
  private kTarget = 0;
  private glide = 0;
  private m = 0;
  private mTarget = 0;
  private mStep = 0;
  private fade = 0;
  private a1 = 0;
  private a2 = 0;
  private a3 = 0;
  private s1 = 0;
  private s2 = 0;

  constructor(
    private readonly sampleRate: number,
    /** -3 dB width, Hz: the same at every frequency. */
    private readonly bandwidthHz: number,
    private readonly fadeSamples: number,
    private readonly glideSamples: number,
  ) {}

  /** Takes a harmonic from rest: coefficients set at once, depth faded in. */
  start(h: number, hz: number): void {
    this.h = h;
    this.hz = hz;
    this.missed = 0;
    this.s1 = 0;
    this.s2 = 0;
    this.g = this.gTarget = this.prewarp(hz);
    this.k = this.kTarget = this.bandwidthHz / hz;
    this.glide = 0;
    this.coefficients();
    this.m = 0;
    this.depth(1);
  }

  /** Glides to a new frequency on the same state. */
  retune(hz: number): void {
    this.missed = 0;
    if (this.mTarget < 1) this.depth(1);
    if (Math.abs(hz - this.hz) < 1e-4) return;
    this.hz = hz;
    this.gTarget = this.prewarp(hz);
    this.kTarget = this.bandwidthHz / hz;
    this.glide = this.glideSamples;
    this.gStep = (this.gTarget - this.g) / this.glide;
    this.kStep = (this.kTarget - this.k) / this.glide;
  }

  /** Fades the notch out; it goes idle when its depth reaches 0. */
  release(): void {
    if (this.mTarget !== 0) this.depth(0);
  }

  /** Fading out (or faded out): its depth is going to 0. */
  releasing(): boolean {
    return this.mTarget === 0;
  }

  /** Runs x[from, to) through the notch in place. */
  run(x: Float64Array, from: number, to: number): void {
    let { s1, s2, a1, a2, a3, k, m } = this;
    if (this.glide === 0 && this.fade === 0) {
      // Settled: coefficients and depth constant, the state in locals.
      const mk = m * k;
      for (let i = from; i < to; i++) {
        const v = x[i] as number;
        const v3 = v - s2;
        const v1 = a1 * s1 + a2 * v3;
        s2 += 2 * (a2 * s1 + a3 * v3);
        s1 = 2 * v1 - s1;
        x[i] = v - mk * v1;
      }
      from = to;
    }
    for (let i = from; i < to; i++) {
      if (this.glide > 0) {
        this.glide--;
        this.g = this.glide === 0 ? this.gTarget : this.g + this.gStep;
        this.k = this.glide === 0 ? this.kTarget : this.k + this.kStep;
        this.coefficients();
        ({ a1, a2, a3, k } = this);
      }
      if (this.fade > 0) {
        this.fade--;
        m = this.fade === 0 ? this.mTarget : m + this.mStep;
      }
      const v = x[i] as number;
      const v3 = v - s2;
      const v1 = a1 * s1 + a2 * v3;
      // The low-pass integrator: 2 v2 - s2 with v2 = s2 + a2 s1 + a3 v3.
      s2 += 2 * (a2 * s1 + a3 * v3);
      s1 = 2 * v1 - s1;
      x[i] = v - m * k * v1;
    }
    // Flush denormals: a decaying state in silence would otherwise slow every later sample.
    this.s1 = Math.abs(s1) < 1e-30 ? 0 : s1;
    this.s2 = Math.abs(s2) < 1e-30 ? 0 : s2;
    this.m = m;
    if (m === 0 && this.mTarget === 0 && this.fade === 0) this.h = 0;
  }

  private depth(target: number): void {
    this.mTarget = target;
    this.fade = this.fadeSamples;
    this.mStep = (target - this.m) / this.fade;
  }

  private coefficients(): void {
    const g = this.g;
    this.a1 = 1 / (1 + g * (g + this.k));
    this.a2 = g * this.a1;
    this.a3 = g * this.a2;
  }

  private prewarp(hz: number): number {
    return Math.tan((Math.PI * hz) / this.sampleRate);
  }
}
