// The statistical model behind WADA-SNR (C. Kim and R. M. Stern, "Robust signal-to-noise ratio
// estimation based on waveform amplitude distribution analysis", Interspeech 2008): clean speech
// amplitude is Gamma-distributed with shape 0.4, noise is Gaussian, and
//   G(SNR) = ln E|z| - E ln|z|,   z = speech + noise,
// rises monotonically from 0.4094 (pure Gaussian noise) towards ln 0.4 - ψ(0.4) = 1.6451 (pure speech).
// The estimator reads the SNR off this curve. This module computes the curve by numerical integration
// (no Monte Carlo); `gen-wada-table.ts` writes it to `wada-table.ts`, and a unit test checks that the
// committed table still matches and agrees with the one published with the paper's MATLAB code.

import { errorFunction } from 'simple-statistics';

/** Kim & Stern §2: shape parameter of the Gamma distribution fitted to clean speech amplitude. */
export const SPEECH_GAMMA_SHAPE = 0.4;

/** The table spans -20 .. 100 dB in 1 dB steps, as the paper's. */
export const WADA_MIN_DB = -20;
export const WADA_MAX_DB = 100;

const EULER_GAMMA = 0.5772156649015329;

/** E|μ + n| for n ~ N(0, 1): the mean of a folded normal. */
function meanAbsShifted(mu: number): number {
  return Math.sqrt(2 / Math.PI) * Math.exp((-mu * mu) / 2) + mu * errorFunction(mu / Math.SQRT2);
}

/**
 * E ln|μ + n| for n ~ N(0, 1). (μ + n)² is noncentral χ² with 1 degree of freedom and noncentrality
 * μ², whose log-mean is ln 2 + Σ_k Poisson(k; μ²/2)·ψ(1/2 + k); for μ > 20 the Taylor series of
 * ln(μ + n) about μ is used instead (its next term is below 1e-7).
 */
function meanLogAbsShifted(mu: number): number {
  if (mu > 20) {
    const m2 = mu * mu;
    return Math.log(mu) - 1 / (2 * m2) - 3 / (4 * m2 * m2) - 5 / (2 * m2 * m2 * m2);
  }
  const lambda = (mu * mu) / 2;
  let weight = Math.exp(-lambda);
  let digamma = -EULER_GAMMA - 2 * Math.LN2; // ψ(1/2)
  let sum = weight * digamma;
  for (let k = 1; ; k++) {
    digamma += 1 / (k - 0.5); // ψ(x + 1) = ψ(x) + 1/x
    weight *= lambda / k;
    sum += weight * digamma;
    if (k > lambda && weight < 1e-18) break;
  }
  return 0.5 * (Math.LN2 + sum);
}

/**
 * G at the given SNR (dB), noise power 1. The expectation over the Gamma amplitude u ~ Gamma(α, 1) is
 * taken in the variable s = ln(u^α), where u^(α-1)du becomes a smooth weight, by the trapezoid rule.
 */
export function wadaG(snrDb: number, points = 3000): number {
  const alpha = SPEECH_GAMMA_SHAPE;
  const snr = 10 ** (snrDb / 10);
  // Speech power E[(θu)²] = α(α + 1)θ² must equal the SNR times the unit noise power.
  const theta = Math.sqrt(snr / (alpha * (alpha + 1)));
  const s0 = Math.log(1e-12);
  const s1 = Math.log(5); // e^{-u} with u = 5^{1/α} ≈ 56 is negligible
  const h = (s1 - s0) / (points - 1);
  let norm = 0;
  let meanAbs = 0;
  let meanLog = 0;
  for (let i = 0; i < points; i++) {
    const v = Math.exp(s0 + i * h);
    const u = v ** (1 / alpha);
    const w = Math.exp(-u) * v * (i === 0 || i === points - 1 ? 0.5 : 1);
    const mu = theta * u;
    norm += w;
    meanAbs += w * meanAbsShifted(mu);
    meanLog += w * meanLogAbsShifted(mu);
  }
  return Math.log(meanAbs / norm) - meanLog / norm;
}

/** The whole table, index i for SNR = WADA_MIN_DB + i dB. */
export function wadaTable(): number[] {
  const out: number[] = [];
  for (let db = WADA_MIN_DB; db <= WADA_MAX_DB; db++) out.push(wadaG(db));
  return out;
}
