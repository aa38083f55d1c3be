// The noise suppressor's per-bin arithmetic without the general exp and log where a bounded argument
// allows a short polynomial or a table (noiseSuppressor.ts calls these 257 times per 16 ms hop; Math.exp
// and Math.log were most of its time).

/** e^y for |y| <= 0.3, Taylor series to y^6 (relative error < 3e-8 there). */
function expSmall(y: number): number {
  return 1 + y * (1 + y * (0.5 + y * (1 / 6 + y * (1 / 24 + y * (1 / 120 + y * (1 / 720))))));
}

/**
 * A function of x >= 0 sampled on a uniform grid, `stepsPerUnit` points per unit over [0, max] (plus one),
 * for lerp(). Read error <= step^2 / 8 x the largest |f''|. The caller handles x >= max itself: a loop
 * that holds the table in a local and tests the range inline runs ~10% faster than through an object.
 */
export function sampled(f: (x: number) => number, max: number, stepsPerUnit: number): Float64Array {
  const n = max * stepsPerUnit + 2;
  const table = new Float64Array(n);
  for (let i = 0; i < n; i++) table[i] = f(i / stepsPerUnit);
  return table;
}

/** Linear interpolation in a sampled() table at u = x x stepsPerUnit, for 0 <= x < max. */
export function lerp(table: Float64Array, u: number): number {
  const i = u | 0;
  const a = table[i] as number;
  return a + (u - i) * ((table[i + 1] as number) - a);
}

/** E1(v) for v >= 1, Abramowitz & Stegun 5.1.56 (error < 5e-5). */
function expintAbove1(v: number): number {
  return ((v * v + 2.334733 * v + 0.250621) / (v * v + 3.330657 * v + 1.681534)) * (Math.exp(-v) / v);
}

// exp(E1(v) / 2) for v in [1, 40) (1.116 down to 1 + 1e-19): 64 points per unit, read error < 2e-5
// (|f''| <= 0.6 there). Beyond 40 it is 1 to double precision.
const LSA_ABOVE1_MAX = 40;
const LSA_ABOVE1_STEPS = 64;
/** The table of exp(E1(v) / 2) lsaGain() reads from v = 1 on (pass it in from a loop: see lsaGain). */
export const LSA_ABOVE1 = sampled(
  (v) => Math.exp(0.5 * expintAbove1(Math.max(1, v))),
  LSA_ABOVE1_MAX,
  LSA_ABOVE1_STEPS,
);

/**
 * The MMSE log-spectral amplitude gain (Ephraim & Malah 1985), (xi / (1 + xi)) exp(E1(v) / 2), not capped;
 * `ratio` is xi / (1 + xi), and v = ratio x gamma. Below v = 1, E1(v) = poly(v) - ln v (Abramowitz & Stegun
 * 5.1.53, error < 2e-7), so exp(E1 / 2) = exp(poly / 2) / sqrt(v) with poly / 2 in [-0.29, 0.11]: a short
 * series; from 1 on, a table. No general exp or log either way. `above1` is LSA_ABOVE1: a loop that
 * passes it holds it in a register instead of loading it per call.
 */
export function lsaGain(ratio: number, v: number, above1: Float64Array = LSA_ABOVE1): number {
  if (v < 1) {
    const poly =
      -0.57721566 +
      v * (0.99999193 + v * (-0.24991055 + v * (0.05519968 + v * (-0.00976004 + v * 0.00107857))));
    return (ratio * expSmall(0.5 * poly)) / Math.sqrt(v);
  }
  if (v >= LSA_ABOVE1_MAX) return ratio;
  return ratio * lerp(above1, v * LSA_ABOVE1_STEPS);
}
