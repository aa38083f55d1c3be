// The online controller (DESIGN §3, §8) for one (call, station): snapshot in, decision out, no I/O.
//
// Each step either waits for its pending change to take effect, judges it (improved -> new known-good,
// regressed -> rollback to the known-good set, neutral -> kept), or proposes the next small change:
// corrective rules first (rules.ts), a seeded exploratory half-step when nothing is clearly wrong and
// exploration is on, and nothing once converged. The state it returns is the only memory between steps.
//
// The caller's loop (the online optimizer):
//   d = decide({ snapshot, current, state, now })        // per snapshot of this call and station
//   publish d.proposals (or d.rollback.to) through the safety layer
//     accepted as config version v -> state = markApplied(d.state, v)
//     refused                      -> state = markRejected(d.state)
//   the next snapshot with applied_config_version >= v is the one that judges it.
import { mean } from 'simple-statistics';
import type { ParameterSpec } from '../../catalog/index.ts';
import { parametersForStation } from '../../catalog/index.ts';
import type {
  NextIteration,
  ParameterProposal,
  StationScore,
  StationSnapshot,
} from '../../contracts/generated.ts';
import { fmt } from './curves.ts';
import {
  CONVERGE_AFTER,
  CONVERGE_EPS_POINTS,
  componentScores,
  describeChanges,
  judgeChange,
  ROLLBACK_DROP_POINTS,
  type Rollback,
  type Verdict,
  watchFor,
} from './judge.ts';
import { type Chosen, choose, exploreMove, isTabu, kept, rememberWishes } from './moves.ts';
import { type LearnedRegion, priorMoves } from './prior.ts';
import {
  diagnose,
  type Finding,
  lineWishes,
  type RuleContext,
  SAFETY_PRIORITY,
  switchesLeft,
} from './rules.ts';
import { scoreSnapshot } from './scorecard.ts';
import { SETTINGS_ACT, SETTINGS_WEIGHTS } from './settings.ts';
import { speechLevel } from './speechLevel.ts';
import {
  type ControllerState,
  digest,
  fullParams,
  initialState,
  type MetricDigest,
  type ParamChange,
  sameParams,
} from './state.ts';
import { learnFrom, modelMove } from './trust.ts';

export type { Rollback, Verdict } from './judge.ts';

export interface DecideInput {
  readonly snapshot: StationSnapshot;
  /** Effective parameters at the station (missing ones are taken as catalog defaults). */
  readonly current: Readonly<Record<string, number>>;
  readonly state: ControllerState | null;
  /** Epoch ms; only used to time out a change that never takes effect. */
  readonly now: number;
  /** PRNG seed for a fresh state (default: a hash of call id and station). */
  readonly seed?: number;
  /** Allow an exploratory half-step when no rule has anything to correct. */
  readonly explore?: boolean;
  /** The batch optimizer's learned region for this tenant and station (prior.ts), if any. */
  readonly prior?: LearnedRegion;
}

export interface Decision {
  readonly state: ControllerState;
  readonly proposals: ParameterProposal[];
  readonly analysis: string;
  readonly nextIteration: NextIteration;
  readonly verdict: Verdict | null;
  readonly rollback: Rollback | null;
  /** The score of the snapshot decided on (for the OptimizerResult scorecard). */
  readonly score: StationScore;
}

/** Converged as well when every component scores at least this: nothing audible is left to fix. */
export const COMPONENTS_DONE = 0.95;
/** A converged controller wakes up when conditions change: the score falls this far below its best. */
export const REOPEN_DROP_POINTS = ROLLBACK_DROP_POINTS;
/** Scores at the running set averaged as the baseline, so one odd segment does not decide a verdict. */
export const WINDOW_SIZE = 3;
// A change is judged on the first snapshot that runs it (next_iteration asks for this many). One segment
// is noisy, which is why the baseline is a window and the rollback threshold is 3 points.
export const JUDGE_AFTER_SNAPSHOTS = 1;
/** A proposal not in effect after this long (rejected by the safety layer unannounced, or lost) is forgotten. */
export const PENDING_TIMEOUT_MS = 30_000;
const MIN_EVAL_MS = 1000;

function paramsOf(stationId: number): readonly ParameterSpec[] {
  try {
    return parametersForStation(stationId);
  } catch {
    return [];
  }
}

function nextIteration(
  st: ControllerState,
  snapshot: StationSnapshot,
  score: StationScore,
  changes: readonly ParamChange[],
): NextIteration {
  const segMs = Math.max(MIN_EVAL_MS, snapshot.segment.end_ms - snapshot.segment.start_ms);
  const best = st.best_score === null ? 'n/a' : fmt(st.best_score);
  if (st.converged) {
    return {
      evaluate_after_ms: segMs * WINDOW_SIZE,
      evaluate_after_snapshots: WINDOW_SIZE,
      watch_metrics: watchFor([], score),
      stop_condition: `converged: ${st.stop_reason ?? 'done'}; reopens if the score falls more than ${REOPEN_DROP_POINTS} points below ${best}`,
      converged: true,
    };
  }
  return {
    evaluate_after_ms: segMs * JUDGE_AFTER_SNAPSHOTS,
    evaluate_after_snapshots: JUDGE_AFTER_SNAPSHOTS,
    watch_metrics: watchFor(changes, score),
    stop_condition:
      `stop when every component scores >= ${COMPONENTS_DONE} or the score stays within ${CONVERGE_EPS_POINTS} point ` +
      `of its best (${best}) for ${CONVERGE_AFTER} judged iterations; roll back any change that costs more than ${ROLLBACK_DROP_POINTS} points`,
    converged: false,
  };
}

interface Parts {
  readonly st: ControllerState;
  readonly snapshot: StationSnapshot;
  readonly score: StationScore;
  readonly notes: readonly string[];
  readonly proposals?: ParameterProposal[];
  readonly changes?: readonly ParamChange[];
  readonly verdict?: Verdict | null;
  readonly rollback?: Rollback | null;
}

function decision(p: Parts): Decision {
  const head = `Station ${p.snapshot.station_id}, segment ${p.snapshot.segment.index}: score ${fmt(p.score.score)}.`;
  return {
    state: p.st,
    proposals: p.proposals ?? [],
    analysis: [head, ...p.notes].join(' '),
    nextIteration: nextIteration(p.st, p.snapshot, p.score, p.changes ?? []),
    verdict: p.verdict ?? null,
    rollback: p.rollback ?? null,
    score: p.score,
  };
}

function converge(st: ControllerState, reason: string): ControllerState {
  return { ...st, converged: true, stop_reason: reason, pending: null };
}

/** The working context of one decide() call; `st`, `verdict` and `notes` change as it goes. */
interface Step {
  readonly input: DecideInput;
  readonly snapshot: StationSnapshot;
  readonly score: StationScore;
  readonly specList: readonly ParameterSpec[];
  readonly specs: ReadonlyMap<string, ParameterSpec>;
  readonly params: Record<string, number>;
  readonly silent: boolean;
  readonly notes: string[];
  st: ControllerState;
  verdict: Verdict | null;
  /**
   * This snapshot's metric digest and a copy of the running parameters, made once per step: the
   * state's origin, known-good set and pending change share them instead of holding equal copies
   * (states are never mutated, so sharing is safe; the online role keeps one per call and station).
   */
  digest: MetricDigest | null;
  paramsCopy: Record<string, number> | null;
}

const digestOf = (x: Step): MetricDigest => {
  x.digest ??= digest(x.snapshot);
  return x.digest;
};
const paramsCopyOf = (x: Step): Record<string, number> => {
  x.paramsCopy ??= { ...x.params };
  return x.paramsCopy;
};

/** One controller step for one (call, station). Pure and deterministic given its inputs. */
export function decide(input: DecideInput): Decision {
  const { snapshot } = input;
  const specs = paramsOf(snapshot.station_id);
  const current = fullParams(specs, input.current);
  const cold = Object.fromEntries(
    specs.filter((p) => !p.hot).map((p) => [p.name, current[p.name] as number]),
  );
  const prev = input.state ?? initialState(snapshot, input.seed, cold);
  // Scored with the parameters it ran with (cold ones as the call started), so the settings guards see
  // what the metrics cannot; without the input's factors, which no parameter moves (INPUT_COMPONENTS).
  const score = scoreSnapshot(snapshot, { ...current, ...prev.cold_running }, { input: false });
  const iteration = prev.iteration + 1;
  const metrics = prev.origin === null ? digest(snapshot) : null;
  const st: ControllerState = {
    ...prev,
    iteration,
    last_version: snapshot.applied_config_version,
    tabu: prev.tabu.filter((t) => t.until_iteration >= iteration),
    origin: prev.origin ?? metrics,
  };
  const notes: string[] = [];
  let specList: readonly ParameterSpec[];
  try {
    specList = parametersForStation(snapshot.station_id);
  } catch {
    notes.push(`Station ${snapshot.station_id} is not in the catalog: nothing to tune.`);
    return decision({ st, snapshot, score, notes });
  }
  const step: Step = {
    input,
    snapshot,
    score,
    specList,
    specs: new Map(specList.map((p) => [p.name, p])),
    params: fullParams(specList, input.current),
    silent: !speechLevel(snapshot).present,
    notes,
    st,
    verdict: null,
    digest: metrics,
    paramsCopy: null,
  };
  step.st = rememberWishes(st, lineWishes(ruleContext(step)));
  return settlePending(step) ?? holdOrConverge(step) ?? propose(step);
}

function reply(x: Step, extra: Partial<Parts> = {}): Decision {
  return decision({
    st: x.st,
    snapshot: x.snapshot,
    score: x.score,
    notes: x.notes,
    verdict: x.verdict,
    ...extra,
  });
}

// 1. A pending change or rollback: wait for it, forget it, or judge it (learning from the verdict, trust.ts).
function settlePending(x: Step): Decision | null {
  let p = x.st.pending;
  if (p === null) return null;
  const { snapshot, notes } = x;
  const inEffect = p.version !== null && snapshot.applied_config_version >= p.version;
  const isCold = (c: ParamChange) => x.specs.get(c.name)?.hot === false;
  const allCold = p.changes.length > 0 && p.changes.every(isCold);
  if (inEffect && p.kind === 'change' && !allCold && p.changes.some(isCold)) {
    // Cold values that rode along with hot ones are queued now; the verdict is on the hot ones.
    const cold = p.changes.filter(isCold);
    p = { ...p, changes: p.changes.filter((c) => !isCold(c)) };
    const queued = Object.fromEntries(cold.map((c) => [c.name, c.new]));
    x.st = { ...x.st, pending: p, cold_queued: { ...x.st.cold_queued, ...queued } };
    notes.push(`${describeChanges(cold)}: queued for the next call.`);
  }
  const what = describeChanges(p.changes);
  const waited = x.input.now - p.proposed_at;
  if (!inEffect && waited <= PENDING_TIMEOUT_MS) {
    const v =
      p.version === null
        ? 'not yet published'
        : `version ${p.version}, snapshot runs ${snapshot.applied_config_version}`;
    notes.push(
      `Waiting for the ${p.kind} (${what}) to take effect (${v}); no new change until it is judged.`,
    );
    return reply(x, { changes: p.changes });
  }
  if (!inEffect) {
    notes.push(
      `The ${p.kind} (${what}) was not in effect after ${fmt(waited / 1000, 0)} s (rejected or lost); forgetting it.`,
    );
    x.st = { ...x.st, pending: null, window: [] };
  } else if (p.kind === 'rollback') {
    notes.push(`The rollback to the known-good set is in effect (version ${p.version}).`);
    x.st = { ...x.st, pending: null, window: [] };
  } else if (p.kind === 'change' && allCold) {
    notes.push(
      `The cold change (${what}) is published and queued for the next call; this call cannot judge it.`,
    );
    const queued = Object.fromEntries(p.changes.map((c) => [c.name, c.new]));
    x.st = { ...x.st, pending: null, cold_queued: { ...x.st.cold_queued, ...queued } };
  } else if (x.silent) {
    notes.push(
      `The change (${what}) is in effect, but this segment has no measurable speech; judging on the next one.`,
    );
    return reply(x, { changes: p.changes });
  } else {
    const j = judgeChange(x.st, p, x.score, snapshot, x.params, x.input.now, digestOf(x));
    if (j.waiting) {
      x.st = j.state;
      notes.push(`${j.verdict.detail}.`);
      return reply(x, { changes: p.changes });
    }
    x.verdict = j.verdict;
    // A step taken back for gaining nothing taught that the direction is flat, not that it hurts.
    const v = j.verdict;
    const learned = v.kind === 'regressed' && v.after - v.before > -ROLLBACK_DROP_POINTS ? 'neutral' : v.kind;
    x.st = { ...j.state, lessons: learnFrom(x.st.lessons, p.changes, x.specs, learned, v.after - v.before) };
    if (!j.rollback) x.st = kept(x.st, p.changes, x.specs, p.exploratory);
    notes.push(`Verdict: ${v.detail}.`);
    if (j.rollback) return reply(x, { rollback: j.rollback, changes: j.back });
  }
  return null;
}

/** 2. The running set: baseline window, known-good, convergence. Returns the decision when it holds. */
function holdOrConverge(x: Step): Decision | null {
  const { score, notes } = x;
  if (x.silent) {
    notes.push('No measurable speech in this segment: nothing to judge or tune on it.');
    return reply(x);
  }
  let st = x.st;
  if (
    st.known_good !== null &&
    x.verdict === null &&
    !sameParams(st.known_good.params, x.params, st.cold_queued)
  ) {
    notes.push(
      'The running parameters differ from the known-good set (changed outside this controller); adopting them as the baseline.',
    );
    st = { ...st, known_good: null, window: [] };
  }
  const window = [...st.window, score.score].slice(-WINDOW_SIZE);
  const baseline = mean(window);
  st = {
    ...st,
    window,
    best_score: Math.max(st.best_score ?? Number.NEGATIVE_INFINITY, baseline),
    known_good: st.known_good ?? { params: paramsCopyOf(x), score: baseline, metrics: digestOf(x) },
  };
  x.st = st;
  if (st.converged) {
    // Woken by a fall, or by a switch asked for since (noise, hum) that this call has not judged yet.
    const fell = baseline < (st.best_score ?? baseline) - REOPEN_DROP_POINTS;
    if (!fell && !switchLeft(x, true)) {
      notes.push(`Converged (${st.stop_reason}); holding the known-good set.`);
      return reply(x);
    }
    notes.push(
      fell
        ? `The score fell to ${fmt(baseline)} from a converged best of ${fmt(st.best_score ?? 0)}: conditions changed, tuning again.`
        : 'Converged, but a switch the rules throw is asked for now: tuning again.',
    );
    x.st = { ...st, converged: false, stop_reason: null, stalled: 0, best_score: baseline };
  }
  // The settings guards judge what the parameters risk, not the audio: done once none of them asks
  // for a setting to be eased off (rules.ts acts under SETTINGS_ACT).
  const done = (c: { name: string; score: number }) =>
    c.score >= (c.name in SETTINGS_WEIGHTS ? SETTINGS_ACT : COMPONENTS_DONE);
  if (score.components.every(done) && !switchLeft(x)) {
    x.st = converge(x.st, `every component scores at least ${COMPONENTS_DONE}`);
    notes.push(`Every component is at or above ${COMPONENTS_DONE}: nothing left worth changing.`);
    return reply(x);
  }
  if (x.st.stalled >= CONVERGE_AFTER) {
    const best = fmt(x.st.best_score ?? 0);
    x.st = converge(
      x.st,
      `the score stayed within ${CONVERGE_EPS_POINTS} point of its best (${best}) for ${x.st.stalled} judged iterations`,
    );
    notes.push(`No gain over the best score for ${x.st.stalled} judged changes: converged.`);
    return reply(x);
  }
  return null;
}

interface Choice {
  chosen: Chosen[];
  /** Who proposed it: a rule's name, 'prior', 'model' or 'explore'. */
  rule: string;
  /** Taken back unless it clearly gains (model steps and exploration). */
  exploratory: boolean;
}

// Safety first (speech being eaten, clipping); then the learned region; then the other rules; then the
// model step (trust.ts: where the last judged steps gained); then a seeded exploratory step sized by the
// parameter's trust radius.
function chooseMoves(x: Step, findings: readonly Finding[]): Choice {
  const { specs, params, snapshot, notes, specList, input } = x;
  const safety = findings.filter((f) => f.priority >= SAFETY_PRIORITY);
  let chosen = choose(safety, x.st, specs, params, snapshot, notes, findings);
  if (chosen.length === 0 && input.prior) {
    const fromPrior = priorMoves(input.prior, x.st, specList, params, snapshot);
    if (fromPrior.length > 0) return { chosen: fromPrior, rule: 'prior', exploratory: false };
  }
  if (chosen.length === 0) chosen = choose(findings, x.st, specs, params, snapshot, notes);
  if (chosen.length > 0) {
    const rule = findings.find((f) => f.moves.some((m) => m.name === chosen[0]?.change.name))?.rule ?? 'rule';
    return { chosen, rule, exploratory: false };
  }
  if (findings.some((f) => f.waits)) return { chosen: [], rule: 'wait', exploratory: false };
  if (!input.explore) return { chosen: [], rule: 'none', exploratory: false };
  const model = modelMove(x.st, specList, params, snapshot);
  if (model) return { chosen: [model], rule: 'model', exploratory: true };
  const ex = exploreMove(x.st, specList, params, snapshot, input.prior);
  x.st = { ...x.st, rng: ex.rng };
  return { chosen: ex.chosen ? [ex.chosen] : [], rule: 'explore', exploratory: true };
}

/** What the rules see of a step. */
function ruleContext(x: Step): RuleContext {
  const { snapshot, score, params, specs } = x;
  return { snapshot, score, params, specs, baseline: x.st.known_good?.metrics ?? null, origin: x.st.origin };
}

/** Whether a switch the rules would still throw (rules.ts switchesLeft) is left: not tabu, nor judged if `untried`. */
function switchLeft(x: Step, untried = false): boolean {
  const left = switchesLeft(ruleContext(x));
  const open = (m: { name: string; desired: number }) =>
    !isTabu(x.st, m.name, m.desired - (x.params[m.name] ?? 0), true) && !(untried && x.st.lessons?.[m.name]);
  return left.some((f) => f.moves.some(open));
}

/** 3. The next change, or nothing (converged). */
function propose(x: Step): Decision {
  const { snapshot, score, params, specs, notes } = x;
  // Its findings' standing wishes were remembered in decide() (lineWishes), on every snapshot.
  const findings = diagnose(ruleContext(x));
  if (findings.length > 0)
    notes.push(
      `Seen: ${findings
        .slice(0, 3)
        .map((f) => f.observation)
        .join('; ')}.`,
    );
  const { chosen, rule, exploratory } = chooseMoves(x, findings);
  if (rule === 'wait') {
    notes.push('Waiting a second: the readings a rule would act on are masked (see above).');
    return reply(x);
  }
  if (chosen.length === 0) {
    const why = findings.some((f) => f.moves.length > 0)
      ? 'no rule has a safe move left'
      : findings.length > 0
        ? 'what is left is beyond the parameters of this station'
        : 'no rule finds anything to correct';
    x.st = converge(
      x.st,
      `${why}${x.input.explore ? ' and no exploration step is possible' : ' and exploration is off'}`,
    );
    notes.push(`Holding: ${x.st.stop_reason}.`);
    return reply(x);
  }
  const changes = chosen.map((c) => c.change);
  const after = { ...params };
  for (const c of changes) after[c.name] = c.new;
  const baseline = mean(x.st.window);
  x.st = {
    ...x.st,
    pending: {
      kind: 'change',
      before: paramsCopyOf(x),
      after,
      changes,
      score_before: baseline,
      metrics_before: digestOf(x),
      components_before: componentScores(score),
      proposed_at: x.input.now,
      version: null,
      exploratory,
      rule,
      ...(chosen.some((c) => c.rider)
        ? { riders: chosen.filter((c) => c.rider).map((c) => c.change.name) }
        : {}),
    },
  };
  const proposals: ParameterProposal[] = chosen.map((c) => ({
    station_id: snapshot.station_id,
    name: c.change.name,
    old: c.change.old,
    new: c.change.new,
    unit: specs.get(c.change.name)?.unit ?? '',
    reason: c.reason,
  }));
  const hot = chosen.filter((c) => c.hot).map((c) => c.change);
  const cold = chosen.filter((c) => !c.hot).map((c) => c.change);
  if (hot.length > 0)
    notes.push(
      `Changing ${describeChanges(hot)}; judging it against the baseline ${fmt(baseline)} once it is in effect.`,
    );
  if (cold.length > 0)
    notes.push(
      `Queueing ${describeChanges(cold)} for the next call (cold parameters cannot change mid-call).`,
    );
  return reply(x, { proposals, changes });
}
