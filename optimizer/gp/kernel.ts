// Stationary covariance kernels with one length-scale per input dimension (automatic relevance
// determination): a parameter the score does not depend on gets a long length-scale and stops
// mattering, which is what lets one model cover a station with ten parameters and few evaluations.
//
// Both are written in terms of the scaled squared distance r² = Σ ((x_i - x'_i) / ℓ_i)².
// - Squared exponential (RBF): σ² exp(-r²/2). Infinitely smooth.
// - Matérn ν = 5/2: σ² (1 + √5 r + 5/3 r²) exp(-√5 r). Twice differentiable, which suits a score
//   surface built from smooth ramps but with kinks where a gate or limiter engages (Rasmussen &
//   Williams, "Gaussian Processes for Machine Learning", 2006, eq. 4.17). The default.

export const KERNELS = ['matern52', 'rbf'] as const;
export type KernelName = (typeof KERNELS)[number];

const SQRT5 = Math.sqrt(5);

/** Scaled squared distance between two points. */
export function scaledSqDist(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  lengthScales: ArrayLike<number>,
): number {
  let s = 0;
  for (let i = 0; i < lengthScales.length; i++) {
    const d = ((a[i] as number) - (b[i] as number)) / (lengthScales[i] as number);
    s += d * d;
  }
  return s;
}

/** Correlation (kernel / σ²) at scaled squared distance r². 1 at r² = 0, falling toward 0. */
export function correlation(kind: KernelName, r2: number): number {
  if (kind === 'rbf') return Math.exp(-0.5 * r2);
  const r = Math.sqrt(r2);
  return (1 + SQRT5 * r + (5 / 3) * r2) * Math.exp(-SQRT5 * r);
}

export function kernel(
  kind: KernelName,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  lengthScales: ArrayLike<number>,
  signalVar: number,
): number {
  return signalVar * correlation(kind, scaledSqDist(a, b, lengthScales));
}
