// Deterministic pseudo-random numbers for tests, benches and simulators: the same seed gives the
// same signal on every machine, so a known-answer test never flakes. Not for anything secret.

/** A source of uniform numbers in [0, 1). */
export type Rng = () => number;

/**
 * One step of mulberry32 (Tommy Ettinger, public domain): a 32-bit state generator that passes
 * gjrand's tests and is far better than an LCG for audio noise. Returns the next state and the
 * uniform number in [0, 1) it gives; `mulberry32` and the optimizers' resumable generator
 * (optimizer/core/random.ts) are both this step.
 */
export function mulberry32Step(state: number): [next: number, uniform: number] {
  const next = (state + 0x6d2b79f5) >>> 0;
  let t = next;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return [next, ((t ^ (t >>> 14)) >>> 0) / 4294967296];
}

/** A uniform source from a seed (mulberry32). */
export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    const [next, u] = mulberry32Step(state);
    state = next;
    return u;
  };
}

/** One standard normal draw (Box-Muller); `1 - rng()` keeps the logarithm's argument above zero. */
export function gaussian(rng: Rng): number {
  const u = 1 - rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * A source of standard normal deviates (Box-Muller, the spare value kept: two deviates per two
 * uniforms). Not the same sequence as repeated `gaussian` calls, which use one deviate per pair.
 */
export function gaussianSource(uniform: Rng): () => number {
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

/** `n` samples of white Gaussian noise with the given RMS. */
export function whiteNoise(rng: Rng, n: number, rms: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rms * gaussian(rng);
  return out;
}
