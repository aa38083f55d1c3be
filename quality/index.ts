// PESQ and STOI, the field's ground truth for speech quality, judged by the reference implementations
// on PyPI in a sidecar the project installs itself (install.ts, judge.ts, sidecar.py).
export type { QualityJudge, QualityScores } from './judge.ts';
export { openQualityJudge, UnscorablePairError } from './judge.ts';
export { type LazyJudge, lazyQualityJudge } from './lazy.ts';
export type { Pair as QualityPair } from './protocol.ts';
