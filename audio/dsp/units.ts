// Level and time-constant conversions shared by the blocks.

export function dbToGain(db: number): number {
  return 10 ** (db / 20);
}

export function gainToDb(gain: number): number {
  return 20 * Math.log10(gain);
}

/** Power (mean square) to dB; full-scale sine has mean square 0.5, so this is RMS dBFS re a full-scale square. */
export function powerToDb(power: number): number {
  return 10 * Math.log10(power);
}

export function dbToPower(db: number): number {
  return 10 ** (db / 10);
}

/**
 * Coefficient `a` of a one-pole smoother y += (1 - a)(x - y) updated every `everySamples` samples, such that
 * a step is followed to 1 - 1/e within `timeMs`.
 */
export function onePole(timeMs: number, sampleRate: number, everySamples = 1): number {
  return Math.exp(-everySamples / ((timeMs / 1000) * sampleRate));
}

/** Smallest power of two >= n. */
export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}

/** The largest float32 value not above `x` (x > 0), so a clamp stored in a Float32Array never exceeds x. */
export function float32AtMost(x: number): number {
  const f = new Float32Array([x]);
  if ((f[0] as number) > x) {
    const bits = new Uint32Array(f.buffer);
    bits[0] = (bits[0] as number) - 1;
  }
  return f[0] as number;
}
