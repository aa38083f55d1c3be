// Streaming integer-ratio resampling (polyphase FIR) for blocks that run at a fixed internal rate
// (RNNoise at 48 kHz on 8/16/24 kHz stations), and `resample` below for whole buffers at any ratio. The
// whole-buffer one cannot stream with a fixed delay; the streaming ones can, and cost (2T+1) multiply-adds
// per high-rate sample instead of a sinc evaluation. All interpolate with a Kaiser-windowed sinc.
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

// ---- Whole buffers, any ratio ----
// The same Kaiser-windowed sinc for a whole buffer at any rational or irrational ratio (the
// simulator's 8 kHz prompts to 16 kHz stations, the recognizer's input, the VAD at rates libfvad
// lacks): no streaming, no fixed delay, sample n of the output sits at input time n x ratio.
//
// Kernel: sinc low-pass at ANY_CUTOFF x the lower Nyquist, ANY_HALF_WIDTH zero crossings each side,
// Kaiser beta 6 (~60 dB stop band, Kaiser's formula A = 2.285 * M * dw + 8). With 32 crossings a
// side the transition band is about 7% of the lower rate's Nyquist, so the pass band reaches ~3.7 kHz
// at 8 kHz: all of what a telephone channel carries.

const ANY_HALF_WIDTH = 32;
const ANY_KAISER_BETA = 6;
const ANY_CUTOFF = 0.93;
// The kernel is tabulated at this many points per zero crossing and linearly interpolated.
const TABLE_STEPS = 512;

let table: Float64Array | undefined;

/** Windowed sinc at |t| (in zero crossings of a unit-cutoff sinc), t in [0, ANY_HALF_WIDTH]. */
function kernelTable(): Float64Array {
  if (table !== undefined) return table;
  const n = ANY_HALF_WIDTH * TABLE_STEPS + 2;
  table = new Float64Array(n);
  const i0b = besselI0(ANY_KAISER_BETA);
  for (let i = 0; i < n; i++) {
    const t = i / TABLE_STEPS;
    const r = t / ANY_HALF_WIDTH;
    const w = r >= 1 ? 0 : besselI0(ANY_KAISER_BETA * Math.sqrt(1 - r * r)) / i0b;
    const s = t === 0 ? 1 : Math.sin(Math.PI * t) / (Math.PI * t);
    table[i] = s * w;
  }
  return table;
}

/**
 * `x` at `fromRate` resampled to `toRate`; the output has round(x.length * toRate / fromRate) samples
 * and sample n sits at input time n * fromRate / toRate (no delay). Samples outside `x` count as 0.
 * `speed` > 1 plays the input faster (fewer output samples, pitch up), as a tape would.
 */
export function resample(x: Float32Array, fromRate: number, toRate: number, speed = 1): Float32Array {
  if (!(fromRate > 0 && toRate > 0 && speed > 0)) {
    throw new RangeError(
      `resample: rates and speed must be > 0 (from ${fromRate}, to ${toRate}, speed ${speed})`,
    );
  }
  const step = (fromRate / toRate) * speed; // input samples per output sample
  if (step === 1) return new Float32Array(x);
  const out = new Float32Array(Math.round(x.length / step));
  const tab = kernelTable();
  // Downsampling widens the kernel so its cutoff follows the lower (output) Nyquist.
  const scale = ANY_CUTOFF * Math.min(1, 1 / step); // kernel argument per input sample of distance
  const reach = Math.ceil(ANY_HALF_WIDTH / scale);
  const n = x.length;
  for (let j = 0; j < out.length; j++) {
    const t = j * step;
    const k0 = Math.floor(t);
    const lo = Math.max(0, k0 - reach + 1);
    const hi = Math.min(n - 1, k0 + reach);
    let acc = 0;
    for (let k = lo; k <= hi; k++) {
      const pos = Math.abs(t - k) * scale * TABLE_STEPS;
      const i = Math.floor(pos);
      if (i >= ANY_HALF_WIDTH * TABLE_STEPS) continue;
      const f = pos - i;
      const w = (tab[i] as number) + f * ((tab[i + 1] as number) - (tab[i] as number));
      acc += (x[k] as number) * w;
    }
    out[j] = acc * scale;
  }
  return out;
}
