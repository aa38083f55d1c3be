// Public API of the Gaussian-process optimizer: kernels, GP regression, expected improvement and
// the ask/tell Bayesian optimisation loop. Pure; no I/O.
export {
  type AcquisitionOptions,
  type AcquisitionResult,
  expectedImprovement,
  maximizeEi,
  normalCdf,
  normalPdf,
} from './acquisition.ts';
export {
  BayesianOptimizer,
  type BayesOptOptions,
  type Dimension,
  type Incumbent,
  latinHypercube,
  type MaximizeResult,
  maximize,
  type Suggestion,
} from './bayesopt.ts';
export {
  DEFAULT_HYPER_BOUNDS,
  type FitOptions,
  GaussianProcess,
  type GpOptions,
  type HyperBounds,
  type Hyperparameters,
  lmlWithGradient,
  type Prediction,
} from './gp.ts';
export { correlation, KERNELS, type KernelName, kernel, scaledSqDist } from './kernel.ts';
