// Shared helpers of the simulator tests: measurements computed here from first principles, so the
// tests pin the simulator against definitions it cannot move.
import { activeSpeechLevel } from '../../../audio/metrics/index.ts';
import type { ImpairmentSet } from '../../../stations/sim/index.ts';
import { parseImpairments } from '../../../stations/sim/index.ts';

export function meanSquare(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] as number) ** 2;
  return s / Math.max(1, x.length);
}

export function diff(a: Float32Array, b: Float32Array): Float32Array {
  return Float32Array.from(a, (v, i) => v - (b[i] as number));
}

/** Active speech level of `speech` over the RMS level of `noise`, dB. */
export function snrDb(speech: Float32Array, noise: Float32Array, sampleRate: number): number {
  return activeSpeechLevel(speech, sampleRate).levelDbov - 10 * Math.log10(meanSquare(noise));
}

/** Power of `x` at `hz` (Goertzel), normalized so a unit sine reads 0.25. */
export function goertzel(x: Float32Array, sampleRate: number, hz: number): number {
  const w = (2 * Math.PI * hz) / sampleRate;
  const c = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < x.length; i++) {
    const s = (x[i] as number) + c * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  return (s1 * s1 + s2 * s2 - c * s1 * s2) / (x.length * x.length);
}

/** An impairment set of just the given stations (sample rates from `rates`). */
export function setOf(
  stations: Record<string, unknown>,
  rates: Record<string, number>,
  name = 'test',
): ImpairmentSet {
  const own = Object.fromEntries(Object.keys(stations).map((id) => [id, rates[id]]));
  return parseImpairments({ name, sample_rates: own, stations });
}

export function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
