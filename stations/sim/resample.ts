// Sample-rate conversion by windowed-sinc interpolation (Kaiser window), for any rational or irrational
// ratio: the prompts are 8 kHz telephony and the 16 kHz stations need them upsampled without the
// spectral images a linear interpolator would leave between 4 and 8 kHz.
//
// Kernel: sinc low-pass at CUTOFF x the lower Nyquist, HALF_WIDTH zero crossings each side, Kaiser
// beta 6 (~60 dB stop band, Kaiser's formula A = 2.285 * M * dw + 8). With 32 crossings a side the
// transition band is about 7% of the lower rate's Nyquist, so the pass band reaches ~3.7 kHz at 8 kHz:
// all of what a telephone channel carries.

const HALF_WIDTH = 32;
const KAISER_BETA = 6;
const CUTOFF = 0.93;
// The kernel is tabulated at this many points per zero crossing and linearly interpolated.
const TABLE_STEPS = 512;

function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x / 2) ** 2;
  for (let k = 1; k < 40; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < 1e-12 * sum) break;
  }
  return sum;
}

let table: Float64Array | undefined;

/** Windowed sinc at |t| (in zero crossings of a unit-cutoff sinc), t in [0, HALF_WIDTH]. */
function kernelTable(): Float64Array {
  if (table !== undefined) return table;
  const n = HALF_WIDTH * TABLE_STEPS + 2;
  table = new Float64Array(n);
  const i0b = besselI0(KAISER_BETA);
  for (let i = 0; i < n; i++) {
    const t = i / TABLE_STEPS;
    const r = t / HALF_WIDTH;
    const w = r >= 1 ? 0 : besselI0(KAISER_BETA * Math.sqrt(1 - r * r)) / i0b;
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
  const scale = CUTOFF * Math.min(1, 1 / step); // kernel argument per input sample of distance
  const reach = Math.ceil(HALF_WIDTH / scale);
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
      if (i >= HALF_WIDTH * TABLE_STEPS) continue;
      const f = pos - i;
      const w = (tab[i] as number) + f * ((tab[i + 1] as number) - (tab[i] as number));
      acc += (x[k] as number) * w;
    }
    out[j] = acc * scale;
  }
  return out;
}
