// A seeded PRNG whose whole state is one uint32, so it can live in the JSON controller state and the
// same seed replays the same exploration and the same search. mulberry32 (Tommy Ettinger, public
// domain): fast, passes the usual small-state statistical tests, plenty for picking steps.

import { mulberry32Step } from '../../audio/metrics/random.ts';

/** A uniform source whose whole state can be read and stored (unlike the audio code's `Rng`). */
export interface ResumableRng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Current state, to store and resume from. */
  state(): number;
}

export function createRng(seed: number): ResumableRng {
  let s = seed >>> 0;
  return {
    next() {
      const [next, u] = mulberry32Step(s);
      s = next;
      return u;
    },
    state: () => s,
  };
}

/** FNV-1a of a string: a stable default seed from e.g. call id and station. */
export function hashSeed(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
