// Deterministic pseudo-random numbers for tests, benches and simulators: the same seed gives the
// same signal on every machine, so a known-answer test never flakes. Not for anything secret.

/** A source of uniform numbers in [0, 1). */
export type Rng = () => number;

/**
 * mulberry32 (Tommy Ettinger, public domain): a 32-bit state generator that passes gjrand's tests
 * and is far better than an LCG for audio noise, in four lines.
 */
export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One standard normal draw (Box-Muller); `1 - rng()` keeps the logarithm's argument above zero. */
export function gaussian(rng: Rng): number {
  const u = 1 - rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** `n` samples of white Gaussian noise with the given RMS. */
export function whiteNoise(rng: Rng, n: number, rms: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rms * gaussian(rng);
  return out;
}
