// Streaming integer-ratio resampling (polyphase FIR) for blocks that run at a fixed internal rate
// (RNNoise at 48 kHz on 8/16/24 kHz stations). The simulator's whole-buffer, any-ratio resampler
// (stations/sim/resample.ts) cannot stream with a fixed delay; this one can, and costs (2T+1) multiply-adds
// per high-rate sample instead of a sinc evaluation. Both interpolate with a Kaiser-windowed sinc.
//
// Kernel: low-pass at CUTOFF x the low rate's Nyquist, HALF_TAPS low-rate samples each side of the centre,
// Kaiser beta 8 (~80 dB stop band by Kaiser's formula). Linear phase: the upsampler and the downsampler
// each delay by exactly HALF_TAPS low-rate samples, so a round trip is a whole number of low-rate samples.

const HALF_TAPS = 16;
const CUTOFF = 0.9;
const KAISER_BETA = 8;

function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x / 2) ** 2;
  for (let k = 1; k < 50; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < 1e-12 * sum) break;
  }
  return sum;
}

/** Low-pass kernel for a factor-`l` rate change: 2 x HALF_TAPS x l + 1 taps at the high rate, unity DC gain. */
function kernel(l: number): Float64Array {
  const m = 2 * HALF_TAPS * l + 1;
  const centre = HALF_TAPS * l;
  const h = new Float64Array(m);
  const fc = CUTOFF / l; // cutoff in cycles per high-rate sample x 2
  const i0b = besselI0(KAISER_BETA);
  let sum = 0;
  for (let i = 0; i < m; i++) {
    const t = i - centre;
    const r = t / centre;
    const w = besselI0(KAISER_BETA * Math.sqrt(Math.max(0, 1 - r * r))) / i0b;
    const s = t === 0 ? fc : Math.sin(Math.PI * fc * t) / (Math.PI * t);
    h[i] = s * w;
    sum += h[i] as number;
  }
  for (let i = 0; i < m; i++) h[i] = (h[i] as number) / sum;
  return h;
}

/** Raises the rate by an integer factor, sample by sample; delay HALF_TAPS input samples. */
export class Upsampler {
  readonly factor: number;
  /** Delay, in input (low-rate) samples. */
  readonly delay = HALF_TAPS;
  // phases[phi][t] = factor x h[t x factor + phi]: output phi of an input sample is sum_t x[n - t] phases[phi][t].
  private readonly phases: Float64Array[];
  private readonly taps: number;
  // Input history, newest last, doubled so a window never wraps.
  private readonly hist: Float64Array;
  private at = 0;

  constructor(factor: number) {
    this.factor = factor;
    const h = kernel(factor);
    this.taps = 2 * HALF_TAPS + 1;
    this.phases = [];
    for (let phi = 0; phi < factor; phi++) {
      const p = new Float64Array(this.taps);
      for (let t = 0; t < this.taps; t++) {
        const i = t * factor + phi;
        p[t] = i < h.length ? factor * (h[i] as number) : 0;
      }
      this.phases.push(p);
    }
    this.hist = new Float64Array(2 * this.taps);
  }

  /** Writes `input.length x factor` samples to `output` from offset 0. */
  process(input: Float64Array, n: number, output: Float64Array): void {
    const taps = this.taps;
    const hist = this.hist;
    const f = this.factor;
    let o = 0;
    for (let i = 0; i < n; i++) {
      const v = input[i] as number;
      hist[this.at] = v;
      hist[this.at + taps] = v;
      this.at = this.at + 1 === taps ? 0 : this.at + 1;
      // hist[at .. at + taps - 1] is oldest .. newest.
      const newest = this.at + taps - 1;
      for (let phi = 0; phi < f; phi++) {
        const p = this.phases[phi] as Float64Array;
        let acc = 0;
        for (let t = 0; t < taps; t++) acc += (hist[newest - t] as number) * (p[t] as number);
        output[o++] = acc;
      }
    }
  }

  reset(): void {
    this.hist.fill(0);
    this.at = 0;
  }
}

/** Lowers the rate by an integer factor; delay HALF_TAPS output (low-rate) samples. */
export class Downsampler {
  readonly factor: number;
  readonly delay = HALF_TAPS;
  private readonly h: Float64Array;
  private readonly hist: Float64Array;
  private at = 0;
  private phase = 0;

  constructor(factor: number) {
    this.factor = factor;
    this.h = kernel(factor);
    this.hist = new Float64Array(2 * this.h.length);
  }

  /** Consumes `n` high-rate samples of `input`, writes n / factor samples to `output`; returns how many. */
  process(input: Float64Array, n: number, output: Float64Array): number {
    const h = this.h;
    const m = h.length;
    const hist = this.hist;
    let o = 0;
    for (let i = 0; i < n; i++) {
      const v = input[i] as number;
      hist[this.at] = v;
      hist[this.at + m] = v;
      this.at = this.at + 1 === m ? 0 : this.at + 1;
      // Emit on the first high-rate sample of each group: that one sits on the low-rate grid.
      const emit = this.phase === 0;
      this.phase = this.phase + 1 === this.factor ? 0 : this.phase + 1;
      if (emit) {
        const newest = this.at + m - 1;
        let acc = 0;
        for (let t = 0; t < m; t++) acc += (hist[newest - t] as number) * (h[t] as number);
        output[o++] = acc;
      }
    }
    return o;
  }

  reset(): void {
    this.hist.fill(0);
    this.at = 0;
    this.phase = 0;
  }
}
