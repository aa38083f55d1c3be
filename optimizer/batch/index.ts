// Public surface of the batch optimizer (DESIGN §8, issue 6 items 1-3): replay a time range of the
// snapshot topic, learn defaults per station and context with a Gaussian process, prove them by
// counterfactual replay of the stored audio, and record everything on the run.

export { fromPcm16 } from '../../domain/pcm.ts';
export {
  AUDIO_TAP_LABEL,
  FAR_END_KEY_LABEL,
  INPUT_KEY_LABEL,
  NOT_REPLAYABLE,
  REFERENCE_KEY_LABEL,
  replaySource,
  SAMPLE_RATE_LABEL,
} from '../../domain/replay.ts';
export { loadReplayAudio, storeReplayAudio } from '../../storage/replayAudio.ts';
export {
  type Comparison,
  compare,
  evaluate,
  type Outcome,
  type ReplaySegment,
  tQuantile975,
} from './counterfactual.ts';
export { callSplitKey, learnGroup, MIN_SEGMENTS, splitByCall } from './group.ts';
export {
  contextOf,
  type GroupHistory,
  HistoryCollector,
  LABELS_READ,
  type LearningContext,
} from './history.ts';
export { type Candidate, learn, type TunableSpace, toParams, tunableSpace } from './learn.ts';
export type { BatchPhase, BatchProgress } from './progress.ts';
export {
  compareReference,
  judgeReference,
  PESQ_TOLERANCE,
  type ReferenceComparison,
  referenceFault,
  STOI_TOLERANCE,
} from './reference.ts';
export { type ReplayMeta, type ReplayStats, replayRange } from './replay.ts';
export { pickLabels, ReplayDecoder, type ReplayRecord } from './replayDecode.ts';
export {
  type BatchResult,
  type CandidateReport,
  type GroupReport,
  judge,
  pickWinner,
} from './report.ts';
export {
  type BatchRequest,
  type BatchScope,
  DEFAULT_BUDGET,
  DEFAULT_MARGIN,
  MAX_RANGE_MS,
  parseBatchRequest,
  parseTime,
} from './request.ts';
export { type BatchDeps, executeBatch } from './run.ts';
export { type BatchRunner, type BatchRunnerOptions, startBatchRunner } from './service.ts';
