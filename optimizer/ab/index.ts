// Public surface of the A/B rollout (DESIGN §8, issue 6).
export { type Arm, assignArm, bucketOf } from './assign.ts';
export { decideExperiment, type ExperimentDecision, type LookResult, type VerdictKind } from './decide.ts';
export {
  DEFAULT_DESIGN,
  type DesignInput,
  type ExperimentDesign,
  type GuardrailDesign,
  guardrailFalseStopBound,
  normalizeDesign,
  type PlannedLook,
  plannedLooks,
} from './design.ts';
export { armScorecard, type CallObservation, callObservation } from './observe.ts';
export { TEST_NAME, type VerdictAction, type VerdictRecord } from './report.ts';
export {
  type ExperimentRunner,
  type ExperimentRunnerOptions,
  experimentGroupId,
  startExperimentRunner,
} from './runner.ts';
export {
  type CreateExperimentRequest,
  type EnrollOutcome,
  type EvaluateOutcome,
  ExperimentService,
  type ExperimentView,
} from './service.ts';
export { type ArmStats, type WelchResult, welchTest } from './stats.ts';
export type { Experiment, ExperimentStatus } from './store.ts';
