// Judging a change once it is in effect: the score at the new set against the score before it, with
// the evidence (which measured metric moved) that an operator reads in the verdict or rollback reason.
import type { StationScore, StationSnapshot } from '../../contracts/generated.ts';
import { fmt, num, signed } from './curves.ts';
import { cancellerKeptNeutral } from './hum.ts';
import { FACTOR_COMPONENTS, type WEIGHTS } from './scorecard.ts';
import { SETTINGS_WEIGHTS } from './settings.ts';
import {
  type ControllerState,
  digest,
  type MetricDigest,
  type ParamChange,
  type PendingChange,
  type TabuEntry,
} from './state.ts';
import { onSnrClamp, tooLittleSpeech, unlike } from './typical.ts';
import { WATCH } from './watch.ts';

/** A change must gain at least this many points (of 100) to count as an improvement, not noise. */
export const IMPROVE_MIN_POINTS = 1;
/** A change that costs more than this is rolled back: beyond segment-to-segment scoring noise. */
export const ROLLBACK_DROP_POINTS = 3;

/** Converged when the score has not beaten its best by more than this for CONVERGE_AFTER judgements. */
export const CONVERGE_EPS_POINTS = 1;
export const CONVERGE_AFTER = 2;
/** A move that regressed is not repeated in the same direction for this many iterations. */
export const TABU_ITERATIONS = 4;

export type VerdictKind = 'improved' | 'neutral' | 'regressed';

export interface Verdict {
  readonly kind: VerdictKind;
  readonly before: number;
  readonly after: number;
  readonly detail: string;
}

/** The metric (digest key) each scorecard component is computed from. */
const COMPONENT_METRIC: Readonly<Record<keyof typeof WEIGHTS, string>> = {
  level: 'loudness_lufs',
  noise: 'snr_db',
  noise_floor: 'noise_floor_dbfs',
  clipping: 'clipping_ratio',
  hum: 'hum_ratio',
  dc_offset: 'dc_offset',
  dynamics: 'crest_factor_db',
  speech_presence: 'speech_activity',
  speech_loss: 'speech_loss_db',
  echo: 'residual_echo_db',
  network: 'mos',
  latency: 'latency_ms',
  tts_latency: 'tts_latency_ms',
  stt_confidence: 'stt_confidence',
  stt_wer: 'stt_word_error_rate',
  emotion_confidence: 'emotion_confidence',
  input_noise: 'input_noise_margin_db',
  line: 'mos',
  input_clipping: 'input_clipping_ratio',
};

/** What a step's next iteration watches: the metrics its parameters move, else the weakest components'. */
export function watchFor(changes: readonly ParamChange[], score: StationScore): string[] {
  const out = new Set<string>();
  for (const c of changes) for (const m of WATCH[c.name] ?? []) out.add(m);
  if (out.size === 0) {
    const weakest = [...score.components].sort((a, b) => a.score - b.score).slice(0, 3);
    for (const c of weakest) {
      const p = componentMetricPath(c.name);
      if (p) out.add(p);
    }
  }
  return [...out];
}

/** Path of a component's metric in the snapshot, for next_iteration.watch_metrics. */
export function componentMetricPath(component: string): string | undefined {
  const key = COMPONENT_METRIC[component as keyof typeof WEIGHTS];
  if (key === undefined) return undefined;
  if (['mos', 'latency_ms'].includes(key)) return `network.${key}`;
  if (
    key.endsWith('_confidence') ||
    ['tts_latency_ms', 'stt_word_error_rate', 'speech_loss_db', 'residual_echo_db'].includes(key)
  )
    return key;
  return `audio.${key}`;
}

function metricValue(x: number): string {
  const a = Math.abs(x);
  if (a === 0) return '0';
  if (a < 0.1) return x.toPrecision(2);
  if (a <= 1) return fmt(x, 2);
  return fmt(x, 1);
}

export function describeChanges(changes: readonly ParamChange[]): string {
  return changes.map((c) => `${c.name} ${num(c.old)}->${num(c.new)}`).join(', ');
}

/**
 * The metrics behind the components that lost the most weighted score between two snapshots, e.g.
 * "speech_activity dropped 0.62->0.31". At most two, largest loss first.
 */
export function evidence(
  componentsBefore: Readonly<Record<string, number>>,
  metricsBefore: MetricDigest,
  now: StationScore,
  metricsNow: MetricDigest,
): string {
  const drops: { name: string; loss: number }[] = [];
  for (const c of now.components) {
    const was = componentsBefore[c.name];
    if (was === undefined) continue;
    const lossPts = c.weight * (was - c.score);
    if (lossPts > 0.005) drops.push({ name: c.name, loss: lossPts });
  }
  drops.sort((a, b) => b.loss - a.loss);
  const parts: string[] = [];
  for (const d of drops.slice(0, 2)) {
    const key = COMPONENT_METRIC[d.name as keyof typeof WEIGHTS];
    const a = key === undefined ? undefined : metricsBefore[key];
    const b = key === undefined ? undefined : metricsNow[key];
    if (key === undefined || a === undefined || b === undefined) continue;
    parts.push(
      `${key} ${b < a ? 'dropped' : b > a ? 'rose' : 'stayed at'} ${metricValue(a)}->${metricValue(b)}`,
    );
  }
  return parts.length > 0
    ? parts.join(', ')
    : 'no single component explains the drop (segment-to-segment variation?)';
}

export function classify(
  before: number,
  after: number,
  attributableDrop = Number.POSITIVE_INFINITY,
): VerdictKind {
  const d = after - before;
  if (d <= -ROLLBACK_DROP_POINTS && attributableDrop >= ROLLBACK_DROP_POINTS) return 'regressed';
  if (d >= IMPROVE_MIN_POINTS) return 'improved';
  return 'neutral';
}

/**
 * Components that guard against a crushed or broken signal, and the recognizer's word error rate
 * (the outcome the station exists for): any change can move them.
 */
const GUARD_COMPONENTS = new Set(['clipping', 'dynamics', 'speech_presence', 'speech_loss', 'stt_wer']);
/** The guards proper: one that collapses on one snapshot is rolled back without a second look. */
const GUARD_COMPONENT_NAMES: ReadonlySet<string> = new Set([
  'clipping',
  'dynamics',
  'speech_presence',
  'speech_loss',
]);

/**
 * The score points lost on the components a change can move (those whose metric the changed
 * parameters are watched on, plus the guards). One second of speech differs from the next in level,
 * pauses and blind SNR, which moves the total score by several points with no change at all; a drop
 * on components the change cannot touch is that variation, not the change's doing.
 */
export function attributableDrop(
  componentsBefore: Readonly<Record<string, number>>,
  now: StationScore,
  changed: readonly string[],
  skip: ReadonlySet<string> = NONE,
): number {
  return attributableMove(componentsBefore, now, changed, -1, skip);
}

/**
 * The score points gained on the components a change can move: the mirror of attributableDrop. A
 * score that rose only on components the change cannot touch (the next second of speech is louder,
 * has fewer pauses) is not the change's gain.
 */
export function attributableGain(
  componentsBefore: Readonly<Record<string, number>>,
  now: StationScore,
  changed: readonly string[],
  skip: ReadonlySet<string> = NONE,
): number {
  return attributableMove(componentsBefore, now, changed, 1, skip);
}

const NONE: ReadonlySet<string> = new Set();

/**
 * The score points that `skip`'s components moved between the two snapshots (signed, on the score's
 * own scale: the audio components' weighted mean times the guard and settings factors the score had).
 * Taken off the judged score, the comparison is like with like (typical.ts unlike).
 */
export function movedOn(
  componentsBefore: Readonly<Record<string, number>>,
  now: StationScore,
  skip: ReadonlySet<string>,
): number {
  if (skip.size === 0) return 0;
  let wsum = 0;
  let sum = 0;
  let moved = 0;
  for (const c of now.components) {
    // The mean is the audio components': settings guards and factor components multiply it.
    if (c.name in SETTINGS_WEIGHTS || FACTOR_COMPONENTS.has(c.name)) continue;
    wsum += c.weight;
    sum += c.weight * c.score;
    const was = componentsBefore[c.name];
    if (skip.has(c.name) && was !== undefined) moved += c.weight * (c.score - was);
  }
  if (wsum <= 0 || sum <= 0) return 0;
  // score = 100 * (sum / wsum) * factor, so one point of the mean is worth `factor` points of score.
  const factor = now.score / ((100 * sum) / wsum);
  return (100 * moved * factor) / wsum;
}

/**
 * In points on the scorecard's own scale: the components' weighted mean is normalised over the audio
 * components only (the settings guards multiply the score, they are not in the mean), so the weight
 * sum here is theirs too. Counting the settings guards' weights in it (up to 0.75 beside about 1 of
 * audio weight) shrank every attributable move by up to 40% against the score's move it is compared
 * with (IMPROVE_MIN_POINTS, ROLLBACK_DROP_POINTS).
 */
function attributableMove(
  componentsBefore: Readonly<Record<string, number>>,
  now: StationScore,
  changed: readonly string[],
  sign: 1 | -1,
  skip: ReadonlySet<string>,
): number {
  const watched = new Set(changed.flatMap((n) => WATCH[n] ?? []));
  let wsum = 0;
  let moved = 0;
  // A factor component (speech loss) takes its share off the whole score, and any change can move it:
  // its move counts as that share of a full score, beside the mean's.
  let factorMoved = 0;
  for (const c of now.components) {
    if (c.name in SETTINGS_WEIGHTS) continue;
    if (FACTOR_COMPONENTS.has(c.name)) {
      const was = componentsBefore[c.name];
      const d = was === undefined ? 0 : sign * (c.score - was);
      if (d > 0) factorMoved += c.weight * d;
      continue;
    }
    wsum += c.weight;
    const was = componentsBefore[c.name];
    if (was === undefined || skip.has(c.name)) continue;
    const path = componentMetricPath(c.name);
    const related = GUARD_COMPONENTS.has(c.name) || (path !== undefined && watched.has(path));
    const d = sign * (c.score - was);
    if (related && d > 0) moved += c.weight * d;
  }
  return (wsum > 0 ? (100 * moved) / wsum : 0) + 100 * factorMoved;
}

export function verdictDetail(
  kind: VerdictKind,
  before: number,
  after: number,
  what: string,
  why: string,
): string {
  const move = `score ${fmt(before)} -> ${fmt(after)} (${signed(after - before)}) after ${what}`;
  switch (kind) {
    case 'improved':
      return `${move}: improved; kept as the new known-good set`;
    case 'neutral':
      return after - before <= -ROLLBACK_DROP_POINTS
        ? `${move}: the drop is on components this change does not touch (${why}), so it is the segment's content, not the change; kept`
        : `${move}: within ${ROLLBACK_DROP_POINTS} points, no clear effect; kept`;
    case 'regressed':
      return `${move}: regressed (${why}); rolling back to the known-good set`;
  }
}

/** The suppressors' strength: deeper costs speech (PESQ) that the blind metrics do not see. */
const DEEPER = new Set(['noise_suppression_db', 'rnnoise_attenuation_limit_db']);
/** Deeper suppression must raise the blind SNR this much (dB) to be kept on a neutral verdict. */
export const DEEPER_SNR_GAIN_DB = 1;

/**
 * Why a rule's step that only made the suppressors deeper, judged of no clear effect, goes back: the
 * SNR it was for did not rise by DEEPER_SNR_GAIN_DB. Null when it is kept as any neutral step (it did
 * raise the SNR, it changed something else too, or the SNR sat on an estimator clamp on either side).
 * The noise rule reads a low blind SNR and asks for more suppression; where what the estimator reads
 * as noise is not (an echo at station 11, which has no canceller, 209 ms behind the talker: eval seed 9
 * gen-9-1), each step deeper was kept on "no clear effect", the SNR at 9.4 then 9.3 dB, suppression
 * 12 -> 30 dB and RNNoise to 60 dB, PESQ 2.10 -> 2.02. Back, the move is tabu for the rule too
 * (TABU_ITERATIONS), so it is not asked for again at once.
 */
export function deeperIdle(p: PendingChange, metricsNow: MetricDigest): string | null {
  if (p.exploratory || p.kind === 'rollback' || p.changes.length === 0) return null;
  if (!p.changes.every((c) => DEEPER.has(c.name) && c.new > c.old)) return null;
  const a = p.metrics_before['snr_db'];
  const b = metricsNow['snr_db'];
  if (a === undefined || b === undefined || onSnrClamp(a) || onSnrClamp(b)) return null;
  if (b - a >= DEEPER_SNR_GAIN_DB) return null;
  return `deeper suppression did not raise the SNR (${fmt(a)} -> ${fmt(b)} dB): what reads as noise is not what it removes`;
}

export interface Rollback {
  readonly to: Record<string, number>;
  readonly reason: string;
}

/** componentScores' answer per score: a pending change and the online role's memory share one object. */
const componentsOf = new WeakMap<StationScore, Readonly<Record<string, number>>>();

/** The components' scores by name; one (read-only) object per score, shared by whoever keeps it. */
export function componentScores(score: StationScore): Record<string, number> {
  let out = componentsOf.get(score);
  if (!out) {
    out = Object.fromEntries(score.components.map((c) => [c.name, c.score]));
    componentsOf.set(score, out);
  }
  return out as Record<string, number>;
}

/** A guard component falling this far (of 1) on one snapshot is rolled back without a second look. */
export const GUARD_SEVERE_DROP = 0.3;

export interface Judgement {
  /** The first look suggested a regression: wait for one more snapshot (state carries the suspicion). */
  readonly waiting?: boolean;
  readonly state: ControllerState;
  readonly verdict: Verdict;
  /** Set when the change regressed: what to restore, and the evidence. */
  readonly rollback: Rollback | null;
  /** The changes the rollback makes (empty otherwise). */
  readonly back: ParamChange[];
}

/** A second of (almost) no speech says nothing about the change: it is judged on the next one, once. */
function deferredOnPause(
  st: ControllerState,
  p: PendingChange,
  score: StationScore,
  metricsNow: MetricDigest,
): Judgement | null {
  if (p.deferred || p.suspect || !tooLittleSpeech(p.metrics_before, metricsNow)) return null;
  const verdict: Verdict = {
    kind: 'neutral',
    before: p.score_before,
    after: score.score,
    detail: `${describeChanges(p.changes)} in effect, but this second holds too little clear speech to judge it by (no speech-loss reading); judging on the next one`,
  };
  return {
    waiting: true,
    state: { ...st, pending: { ...p, deferred: true } },
    verdict,
    rollback: null,
    back: [],
  };
}

/**
 * Judge a pending change on the first snapshot that runs it. Improved or neutral: it becomes the
 * known-good set. Regressed: roll back to the known-good set (queued cold values stay, they were never
 * judged), remember the move as tabu, and wait for the rollback to take effect.
 */
export function judgeChange(
  st: ControllerState,
  p: PendingChange,
  score: StationScore,
  snapshot: StationSnapshot,
  params: Readonly<Record<string, number>>,
  now: number,
  /** `digest(snapshot)`, when the caller has it already (shared, not copied, by the states it goes into). */
  metricsNow: MetricDigest = digest(snapshot),
): Judgement {
  const before = p.score_before;
  const changed = p.changes.map((c) => c.name);
  const paused = deferredOnPause(st, p, score, metricsNow);
  if (paused) return paused;
  // Like with like: components the two snapshots cannot be compared on are left out of the move.
  const apart = unlike(p.metrics_before, metricsNow, p.changes);
  const skip = apart?.components ?? NONE;
  const scoreNow = score.score - movedOn(p.components_before, score, skip);
  const attributableNow = attributableDrop(p.components_before, score, changed, skip);
  // A regression is confirmed on a second snapshot (the judged score is the mean of the two), unless
  // a guard collapsed: speech eaten or clipping does not wait (a guard left out above did not collapse).
  const severe = score.components.some(
    (c) =>
      GUARD_COMPONENT_NAMES.has(c.name) &&
      !skip.has(c.name) &&
      (p.components_before[c.name] ?? c.score) - c.score >= GUARD_SEVERE_DROP,
  );
  const firstLook = classify(before, scoreNow, attributableNow);
  if (firstLook === 'regressed' && !p.suspect && !severe) {
    const suspect = { score: scoreNow, attributable: attributableNow, raw: score.score };
    const verdict: Verdict = {
      kind: 'neutral',
      before,
      after: scoreNow,
      detail: `score ${fmt(before)} -> ${fmt(scoreNow)} after ${describeChanges(p.changes)}${apart ? ` (${apart.why})` : ''}: looks worse, confirming on the next snapshot`,
    };
    return { waiting: true, state: { ...st, pending: { ...p, suspect } }, verdict, rollback: null, back: [] };
  }
  const after = p.suspect ? (p.suspect.score + scoreNow) / 2 : scoreNow;
  // What the snapshots scored as they are: the best so far is a maximum of such scores, so the
  // convergence count and the best compare with these, not with the like-with-like `after`.
  const seen = p.suspect ? ((p.suspect.raw ?? p.suspect.score) + score.score) / 2 : score.score;
  const attributable = p.suspect ? Math.min(p.suspect.attributable, attributableNow) : attributableNow;
  let kind = classify(before, after, attributable);
  const what = `${describeChanges(p.changes)}${apart ? ` (${apart.why})` : ''}`;
  const why = evidence(p.components_before, p.metrics_before, score, metricsNow);
  // An exploratory step is kept only when it clearly gains, on the components it can move: a score
  // that rose on the others is the next second of speech, not the step. A neutral one goes back to
  // the known-good set, so exploration cannot drift the call on noise.
  if (
    p.exploratory &&
    kind === 'improved' &&
    attributableGain(p.components_before, score, changed, skip) < IMPROVE_MIN_POINTS
  )
    kind = 'neutral';
  const fruitless = p.exploratory && kind === 'neutral' && !cancellerKeptNeutral(p.changes, p.metrics_before);
  const idle = kind === 'neutral' ? deeperIdle(p, metricsNow) : null;
  if (fruitless || idle !== null) kind = 'regressed';
  const detail = fruitless
    ? `score ${fmt(before)} -> ${fmt(after)} (${signed(after - before)}) after exploring ${what}: no clear gain; back to the known-good set`
    : idle !== null
      ? `score ${fmt(before)} -> ${fmt(after)} (${signed(after - before)}) after ${what}: ${idle}; back to the known-good set`
      : verdictDetail(kind, before, after, what, why);
  const verdict: Verdict = { kind, before, after, detail };
  // Stalled: judged at (within epsilon of) the best so far. A real gain resets the count; a
  // regression says nothing about being at the optimum, so it leaves the count alone.
  const best = st.best_score ?? Number.NEGATIVE_INFINITY;
  const stalled =
    seen > best + CONVERGE_EPS_POINTS ? 0 : seen >= best - CONVERGE_EPS_POINTS ? st.stalled + 1 : st.stalled;
  const next: ControllerState = { ...st, judged: st.judged + 1, stalled, best_score: Math.max(best, seen) };
  if (kind !== 'regressed') {
    const known_good = { params: { ...p.after }, score: seen, metrics: metricsNow };
    return { state: { ...next, pending: null, window: [], known_good }, verdict, rollback: null, back: [] };
  }
  const to = { ...(st.known_good?.params ?? p.before), ...st.cold_queued };
  const back: ParamChange[] = Object.keys(to)
    .filter((k) => Math.abs((to[k] ?? 0) - (params[k] ?? 0)) > 1e-9)
    .map((k) => ({ name: k, old: params[k] ?? 0, new: to[k] ?? 0 }));
  const pending: PendingChange = {
    kind: 'rollback',
    before: { ...params },
    after: to,
    changes: back,
    score_before: after,
    metrics_before: metricsNow,
    components_before: componentScores(score),
    proposed_at: now,
    version: null,
    exploratory: false,
    rule: 'rollback',
  };
  const tabu: TabuEntry[] = p.changes.map((c) => ({
    name: c.name,
    direction: c.new > c.old ? 1 : -1,
    until_iteration: st.iteration + TABU_ITERATIONS,
    ...(fruitless ? { fruitless: true } : {}),
    // A rider in a step that regressed: the verdict is the lead's as much as its own.
    ...(p.riders?.includes(c.name) ? { rider: true } : {}),
  }));
  return {
    // Nothing differs (the station never ran the change): no rollback to wait for.
    state: { ...next, pending: back.length > 0 ? pending : null, window: [], tabu: [...st.tabu, ...tabu] },
    verdict,
    rollback: {
      to,
      reason: fruitless
        ? `exploring ${what} gained nothing (score ${fmt(before)} -> ${fmt(after)}); back to the known-good set`
        : idle !== null
          ? `${what}: ${idle}; back to the known-good set`
          : `score fell from ${fmt(before)} to ${fmt(after)}${p.suspect ? ' (mean of two snapshots)' : ''} after ${what}: ${why}`,
    },
    back,
  };
}
