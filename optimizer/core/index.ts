// Public API of the optimizer's pure decision core: scorecard, online controller, offline search.

export type { Bounds } from './bounds.ts';
export { effectiveBounds, safeValue } from './bounds.ts';
export type { DecideInput, Decision } from './controller.ts';
export {
  COMPONENTS_DONE,
  decide,
  JUDGE_AFTER_SNAPSHOTS,
  PENDING_TIMEOUT_MS,
  REOPEN_DROP_POINTS,
  WINDOW_SIZE,
} from './controller.ts';
export type { Rollback, Verdict, VerdictKind } from './judge.ts';
export {
  attributableDrop,
  attributableGain,
  CONVERGE_AFTER,
  CONVERGE_EPS_POINTS,
  componentScores,
  IMPROVE_MIN_POINTS,
  ROLLBACK_DROP_POINTS,
  TABU_ITERATIONS,
} from './judge.ts';
export { LEVEL_DEADBAND_LU } from './level.ts';
export { EXPLORE_STEP_SHARE, MAX_CHANGES_PER_STEP } from './moves.ts';
export type { LearnedRegion } from './prior.ts';
export { priorMoves } from './prior.ts';
export type { ResumableRng } from './random.ts';
export { createRng, hashSeed } from './random.ts';
export type { ComponentName } from './scorecard.ts';
export {
  buildScorecard,
  GUARD_FLOOR,
  GUARD_KNEE,
  scoreSnapshot,
  scoreValue,
  WEIGHTS,
} from './scorecard.ts';
export type { SearchOptions, SearchResult } from './search.ts';
export { searchBest } from './search.ts';
export { SETTINGS_ACT, SETTINGS_WEIGHTS, settingsComponents } from './settings.ts';
export type { SpeechLevel } from './speechLevel.ts';
export { speechLevel } from './speechLevel.ts';
export type { ControllerState, KnownGood, ParamChange, PendingChange, TabuEntry } from './state.ts';
export { initialState, markApplied, markRejected } from './state.ts';
