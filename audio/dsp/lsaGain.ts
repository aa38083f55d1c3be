// The noise suppressor's per-bin arithmetic without the general exp and log where a bounded argument
// allows a short polynomial or a table (noiseSuppressor.ts calls these 257 times per 16 ms hop; Math.exp
// and Math.log were most of its time).

/** e^y for |y| <= 0.3, Taylor series to y^6 (relative error < 3e-8 there). */
function expSmall(y: number): number {
  return 1 + y * (1 + y * (0.5 + y * (1 / 6 + y * (1 / 24 + y * (1 / 120 + y * (1 / 720))))));
}

/**
 * A function of x >= 0 sampled on a uniform grid over [0, max) and read with linear interpolation; `beyond`
 * from max on. Read error <= step^2 / 8 x the largest |f''|.
 */
export class Lut {
  private readonly table: Float64Array;
  private readonly steps: number;
  private readonly max: number;
  private readonly beyond: number;

  constructor(f: (x: number) => number, max: number, stepsPerUnit: number, beyond: number) {
    const n = max * stepsPerUnit + 2;
    this.table = new Float64Array(n);
    for (let i = 0; i < n; i++) this.table[i] = f(i / stepsPerUnit);
    this.steps = stepsPerUnit;
    this.max = max;
    this.beyond = beyond;
  }

  at(x: number): number {
    if (x >= this.max) return this.beyond;
    const u = x * this.steps;
    const i = u | 0;
    const t = this.table;
    const a = t[i] as number;
    return a + (u - i) * ((t[i + 1] as number) - a);
  }
}

/** E1(v) for v >= 1, Abramowitz & Stegun 5.1.56 (error < 5e-5). */
function expintAbove1(v: number): number {
  return ((v * v + 2.334733 * v + 0.250621) / (v * v + 3.330657 * v + 1.681534)) * (Math.exp(-v) / v);
}

// exp(E1(v) / 2) for v in [1, 40) (1.116 down to 1 + 1e-19): 64 points per unit, read error < 2e-5
// (|f''| <= 0.6 there). Beyond 40 it is 1 to double precision.
const LSA_ABOVE1 = new Lut((v) => Math.exp(0.5 * expintAbove1(Math.max(1, v))), 40, 64, 1);

/**
 * The MMSE log-spectral amplitude gain (Ephraim & Malah 1985), (xi / (1 + xi)) exp(E1(v) / 2), not capped;
 * `ratio` is xi / (1 + xi), and v = ratio x gamma. Below v = 1, E1(v) = poly(v) - ln v (Abramowitz & Stegun
 * 5.1.53, error < 2e-7), so exp(E1 / 2) = exp(poly / 2) / sqrt(v) with poly / 2 in [-0.29, 0.11]: a short
 * series; from 1 on, a table. No general exp or log either way.
 */
export function lsaGain(ratio: number, v: number): number {
  if (v < 1) {
    const poly =
      -0.57721566 +
      v * (0.99999193 + v * (-0.24991055 + v * (0.05519968 + v * (-0.00976004 + v * 0.00107857))));
    return (ratio * expSmall(0.5 * poly)) / Math.sqrt(v);
  }
  return ratio * LSA_ABOVE1.at(v);
}
