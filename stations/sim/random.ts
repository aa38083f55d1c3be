// Seeded randomness for the simulator. Every random draw of a simulated call comes from a generator
// seeded by (seed, callIndex, station, purpose), so one station's draws never shift another's: adding
// an impairment to station 3 leaves station 1's audio bit-identical.
import { gaussian, mulberry32, type Rng } from '../../audio/metrics/random.ts';

export type { Rng };
export { gaussian, mulberry32 };

/**
 * A 32-bit seed from any mix of numbers and strings: FNV-1a over the parts' text, then the murmur3
 * finalizer so that neighbouring inputs (callIndex 7 and 8) give unrelated seeds.
 */
export function seedOf(...parts: ReadonlyArray<number | string>): number {
  let h = 0x811c9dc5;
  const text = parts.map(String).join('\u0001');
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A generator for one purpose of one simulated entity. */
export function rngFor(...parts: ReadonlyArray<number | string>): Rng {
  return mulberry32(seedOf(...parts));
}

/** Uniform in [lo, hi). */
export function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng();
}

/** Uniform integer in [0, n). */
export function randomInt(rng: Rng, n: number): number {
  return Math.min(n - 1, Math.floor(rng() * n));
}

/**
 * Gamma(shape, scale) by Marsaglia & Tsang (ACM TOMS 2000); shape < 1 via the u^(1/shape) boost.
 */
export function gammaVariate(rng: Rng, shape: number, scale: number): number {
  if (shape < 1) return gammaVariate(rng, shape + 1, scale) * (1 - rng()) ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = gaussian(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v * scale;
  }
}
