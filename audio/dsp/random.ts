// Deterministic pseudo-random numbers for tests, test signals and simulations: the same seed gives the
// same noise on every machine, so a measured effect is reproducible to the last digit.

// One generator for the audio code: the metrics' mulberry32 (same algorithm, same sequence).
export { mulberry32 } from '../metrics/random.ts';

/** Standard normal deviates from a uniform source (Box-Muller; the spare value is kept). */
export function gaussian(uniform: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    // 1 - u keeps the logarithm's argument in (0, 1].
    const r = Math.sqrt(-2 * Math.log(1 - uniform()));
    const phi = 2 * Math.PI * uniform();
    spare = r * Math.sin(phi);
    return r * Math.cos(phi);
  };
}
