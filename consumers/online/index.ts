export { type CallMemory, type DecisionOutcome, decideAndApply, recordRun } from './decisions.ts';
export { type OnlineOptimizer, type OnlineOptimizerOptions, startOnlineOptimizer } from './online.ts';
