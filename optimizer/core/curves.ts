// Small numeric helpers shared by the scorecard, the controller and the search: clamps, the smooth
// ramps that turn a measurement into a 0..1 score, and number formatting for plain-language text.

export function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/**
 * 0 at or below `from`, 1 at or above `to`, a cubic smoothstep between (works with from > to for a
 * falling ramp). Smooth, so a small parameter change never makes a score jump, and flat at both ends,
 * so a value already well inside "good" or "bad" does not keep pulling the optimizer.
 */
export function ramp(x: number, from: number, to: number): number {
  if (from === to) return x >= to ? 1 : 0;
  const t = clamp((x - from) / (to - from), 0, 1);
  return t * t * (3 - 2 * t);
}

/** Linear 0..1 between `from` and `to`, clamped. */
export function linear(x: number, from: number, to: number): number {
  if (from === to) return x >= to ? 1 : 0;
  return clamp((x - from) / (to - from), 0, 1);
}

/** A number for prose: fixed decimals, no "-0.0". */
export function fmt(x: number, decimals = 1): string {
  const s = x.toFixed(decimals);
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
}

/** A percentage for prose, e.g. 0.0012 -> "0.12%". */
export function pct(x: number, decimals = 1): string {
  return `${fmt(x * 100, decimals)}%`;
}

/** "+3.0" / "-2.5": a signed delta for prose. */
export function signed(x: number, decimals = 1): string {
  const s = fmt(x, decimals);
  return x > 0 && s !== fmt(0, decimals) ? `+${s}` : s;
}

/** A parameter value for prose: as short as it is exact to 3 decimals ("12", "-0.5", "0.35"). */
export function num(x: number): string {
  return String(Number(x.toFixed(3)));
}
