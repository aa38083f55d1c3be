// From the rules' wishes to the few concrete changes of one step: made safe (bounds.ts), not repeating a
// move that just regressed, at most MAX_CHANGES_PER_STEP hot parameters, cold ones riding along; and
// the exploratory half-step when no rule has anything to do.
import type { ParameterSpec } from '../../catalog/index.ts';
import type { StationSnapshot } from '../../contracts/generated.ts';
import { effectiveBounds, safeValue } from './bounds.ts';
import { cancellerOn, followsNoHum, INPUT_HUM_ACT } from './hum.ts';
import { TABU_ITERATIONS } from './judge.ts';
import type { LearnedRegion } from './prior.ts';
import { createRng } from './random.ts';
import { type Finding, type Move, SAFETY_PRIORITY } from './rules.ts';
import { speechLevel } from './speechLevel.ts';
import type { ControllerState, ParamChange } from './state.ts';

/** At most this many parameters change per step, so a verdict can be pinned on them. */
export const MAX_CHANGES_PER_STEP = 2;
/** Exploration steps at most this share of max_step: small enough to be harmless if it is worse. */
export const EXPLORE_STEP_SHARE = 0.5;
/**
 * The parameters that set the output's level, and how close to its target (LU) the level must sit for
 * them to be left out of exploration and the model step (levelSettled). Every step of them away from a
 * level within 3 LU of the target moves the level off it by the step, and the level component can only
 * lose: over one call of each generated profile of seeds 1-10 (32 + 40 profiles, 2026-12-06), 52 such
 * exploratory steps of the input gain, the AGC's target and its max gain were judged and none gained
 * (all taken back), and 8 more were still running when the call ended (on seed 9 they cost the call's
 * final set 2-16 points: gen-9-9 station 4 91.5 -> 75.4, gen-9-7 station 2 89.3 -> 83.7). Off the target
 * the same steps gained 7 times of 11 judged; of those 1.5-3 LU off (past the level rule's dead band)
 * none did. The model step (trust.ts) on them, the level within 3 LU: 1 of 42 judged gained, 12 were still
 * running at the call's end.
 */
const LEVEL_SETTERS: ReadonlySet<string> = new Set(['input_gain_db', 'agc_target_dbfs', 'agc_max_gain_db']);
const LEVEL_SETTLED_LU = 3;

/** `name` sets the output level and that level sits within LEVEL_SETTLED_LU of its target. */
export function levelSettled(name: string, snapshot: StationSnapshot): boolean {
  if (!LEVEL_SETTERS.has(name)) return false;
  const lv = speechLevel(snapshot);
  return lv.present && Math.abs(lv.value - snapshot.targets.loudness_lufs) <= LEVEL_SETTLED_LU;
}

/**
 * Parameters no probe (an exploratory or a model step) moves: their effect shows seconds after a change,
 * so the one second a probe is judged on reads something else. The echo canceller's tail: a change
 * resizes its adaptive filter, and where the model does not yet read as working (a weak echo under a
 * louder talker never does: the microphone over the output stays near 0 dB) the search starts over, so
 * the next seconds are the canceller relearning (eval seed 6, gen-6-3 station 1, an echo 30 dB down at
 * 125 ms: a probe 64 -> 80 ms, judged on the echo reading's noise, then the model step to 112 ms; the
 * canceller never converged again and PESQ fell 2.65 -> 2.18; the echo left in the 7th second, against
 * the clean talker's power, -28 dB at 64 ms throughout, -22 dB after the two steps). The echo rule
 * (echo.ts) moves it, where the echo reading says the path lies.
 */
const NOT_PROBED: ReadonlySet<string> = new Set(['echo_canceller_tail_ms']);

/** Whether a probe may move `name` (NOT_PROBED). */
export function probed(name: string): boolean {
  return !NOT_PROBED.has(name);
}

/**
 * A level setter's rule step that goes back the way its last kept step came goes at most half that step
 * back: the level read one second is the talker's words as much as the gain, and one second that reads
 * the other way is as likely that as an overshoot. Followed in full, the readings walked the gain up and
 * down by a whole step: over one call of each of seed 9's 20 generated profiles (2026-12-06), 68 of 140
 * stations reversed a level setter's rule step and 104 of 418 such steps went back the way the last came
 * (gen-9-2 station 4: input gain -6 -> -8.7 -> -2.7 -> -8.7, the offline best at -8.5; gen-9-7 station 2:
 * 9.1 -> 5.8 -> 11.8 -> 5.8 -> 8.2). Halved, repeated reversals close in on where the readings agree, as
 * a sign-based step rule (Rprop) does. Safety findings (speech eaten, clipping) are not held back.
 */
const REVERSAL_SHARE = 0.5;

/** The findings with each level setter's reversing move made at most REVERSAL_SHARE of its last kept step. */
export function damped(
  findings: readonly Finding[],
  st: ControllerState,
  params: Readonly<Record<string, number>>,
): readonly Finding[] {
  return findings.map((f) => {
    if (f.priority >= SAFETY_PRIORITY) return f;
    const ratio = new Map<string, number>();
    for (const m of f.moves) {
      const last = st.lessons?.[m.name]?.kept;
      const old = params[m.name];
      if (!LEVEL_SETTERS.has(m.name) || m.follows !== undefined || !last || old === undefined) continue;
      const want = m.desired - old;
      const most = REVERSAL_SHARE * Math.abs(last);
      if (Math.sign(want) === -Math.sign(last) && Math.abs(want) > most)
        ratio.set(m.name, most / Math.abs(want));
    }
    if (ratio.size === 0) return f;
    // A follower goes as far as its lead does, and its own followers with it (the target after the max
    // gain, the compressor after the target).
    for (const m of f.moves) {
      const r = m.follows === undefined ? undefined : ratio.get(m.follows);
      if (r !== undefined && !ratio.has(m.name)) ratio.set(m.name, r);
    }
    const scale = (m: Move): Move => {
      const r = ratio.get(m.name);
      const old = params[m.name];
      if (r === undefined || old === undefined) return m;
      const reason =
        m.follows === undefined ? `${m.reason} (half its last step back: the readings disagree)` : m.reason;
      return { ...m, desired: old + r * (m.desired - old), reason };
    };
    return { ...f, moves: f.moves.map(scale) };
  });
}

/**
 * A judged step kept: the switches a rule threw stay (keepSwitches; not an exploratory step's), and each
 * level setter's step is the last kept step that damped() reads.
 */
export function kept(
  was: ControllerState,
  changes: readonly ParamChange[],
  specs: ReadonlyMap<string, ParameterSpec>,
  exploratory: boolean,
): ControllerState {
  const st = exploratory ? was : keepSwitches(was, changes, specs);
  const level = changes.filter((c) => LEVEL_SETTERS.has(c.name) && c.new !== c.old);
  if (level.length === 0) return st;
  const lessons = { ...(st.lessons ?? {}) };
  for (const c of level) {
    const l = lessons[c.name] ?? { radius: EXPLORE_STEP_SHARE, direction: 0, slope: 0 };
    lessons[c.name] = { ...l, kept: c.new - c.old };
  }
  return { ...st, lessons };
}

export interface Chosen {
  readonly change: ParamChange;
  readonly reason: string;
  readonly hot: boolean;
  /** From a finding other than the one whose move leads the step (PendingChange.riders). */
  readonly rider?: true;
}

/**
 * Whether a move is barred for now. A rule's move (`byRule`) is barred only by a step that regressed:
 * an exploratory step that merely gained nothing was blind, and a rule that later reads a reason for
 * the same move (the hum detector settled on a family) must not be held back by it (seed 9, gen-9-14
 * station 3: the canceller explored at the second second, "no clear gain"; the hum rule then could
 * not switch it on, PESQ 4.03 -> 3.88).
 */
export function isTabu(st: ControllerState, name: string, direction: number, byRule = false): boolean {
  return st.tabu.some(
    (t) => t.name === name && t.direction === Math.sign(direction) && !(byRule && (t.fruitless || t.rider)),
  );
}

/**
 * The top findings' moves, made safe, on distinct parameters: at most MAX_CHANGES_PER_STEP hot ones,
 * and every cold one besides. A cold parameter only takes effect at the next call, so it cannot be
 * judged in this one and cannot blur the verdict on the hot ones: it rides along uncounted, and is
 * queued as soon as the station runs the step (controller.ts), so the next call has it whatever this
 * one does (it had waited until no hot move was left: a declipper the input needed from the first
 * segment was queued at the eighth, or never). Never twice for the same parameter in one call.
 * Moves from findings other than the first chosen move's ride along (Chosen.rider): a regression of
 * the step bars them more lightly (judge.ts). A free rider (freeRider) may come from `others`, findings
 * not chosen from (the rest of the snapshot's, beside a safety step's).
 */
export function choose(
  findings: readonly Finding[],
  st: ControllerState,
  specs: ReadonlyMap<string, ParameterSpec>,
  params: Readonly<Record<string, number>>,
  snapshot: StationSnapshot,
  notes: string[],
  others: readonly Finding[] = [],
): Chosen[] {
  const fs = damped(findings, st, params);
  const candidates = candidatesOf(fs, st, specs, params, snapshot, notes);
  const picked = [
    ...candidates.filter((c) => c.hot).slice(0, MAX_CHANGES_PER_STEP),
    ...candidates.filter((c) => !c.hot),
  ];
  // The other findings' moves are worked out only where the step's own hold no free rider.
  const isFree = (c: Chosen) =>
    !picked.some((p) => p.change.name === c.change.name) && freeRider(c.change, snapshot);
  const free =
    candidates.find(isFree) ??
    (others.length > 0
      ? candidatesOf(damped(others, st, params), st, specs, params, snapshot, []).find(isFree)
      : undefined);
  if (free && picked.length > 0) picked.push(free);
  const lead = picked[0]?.finding;
  const chosen: Chosen[] = picked.map(({ finding, ...c }) => (finding === lead ? c : { ...c, rider: true }));
  return [...chosen, ...companions(fs, chosen, st, specs, params, snapshot)];
}

/** The findings' moves (those that follow another aside) made safe, one per parameter, in order. */
function candidatesOf(
  fs: readonly Finding[],
  st: ControllerState,
  specs: ReadonlyMap<string, ParameterSpec>,
  params: Readonly<Record<string, number>>,
  snapshot: StationSnapshot,
  notes: string[],
): (Chosen & { finding: Finding })[] {
  const candidates: (Chosen & { finding: Finding })[] = [];
  for (const f of fs) {
    for (const m of f.moves) {
      if (m.follows !== undefined) continue;
      const spec = specs.get(m.name);
      const old = params[m.name];
      if (!spec || old === undefined || candidates.some((c) => c.change.name === m.name)) continue;
      if (m.name in st.cold_queued) {
        notes.push(`${m.name} ${st.cold_queued[m.name]} is already queued for the next call.`);
        continue;
      }
      const nv = safeValue(spec, old, m.desired, snapshot.constraints);
      if (nv === null) continue;
      if (isTabu(st, m.name, nv - old, true)) {
        notes.push(`Not repeating ${m.name} ${nv > old ? 'up' : 'down'}: that regressed recently.`);
        continue;
      }
      const reason = spec.hot ? m.reason : `${m.reason} (cold: takes effect at the next call)`;
      candidates.push({ change: { name: m.name, old, new: nv }, reason, hot: spec.hot, finding: f });
    }
  }
  return candidates;
}

/**
 * A move that rides along past MAX_CHANGES_PER_STEP: RNNoise switched on (rnnoiseOn), and the hum
 * canceller switched on where the station's detector has followed a steady hum family at the input
 * (metrics.input_hum_ratio, settled after 2.5 s). The canceller notches only the lines it finds;
 * switched on alone at the defaults over 57 generated stations with hum (seeds 1-8) it raised PESQ by
 * 0.22-0.27 on average where the hum held 0.1% of the input's energy or more, and lowered it by more
 * than 0.02 at two (-0.09, hum at 16% and 31% of the energy); over 65 it never lowered the mean blind
 * SNR. On noisy lines the noise rules' losses came first, two moves a step, and the canceller waited:
 * eval seed 9 gen-9-16 station 11 read 1.9% hum at the input at second 3 and got the canceller at second
 * 6 (+8.7 points then), gen-9-13 station 3 never.
 */
function freeRider(change: ParamChange, snapshot: StationSnapshot): boolean {
  return (
    rnnoiseOn(change) || (cancellerOn(change) && (snapshot.metrics.input_hum_ratio ?? 0) > INPUT_HUM_ACT)
  );
}

/**
 * RNNoise switched on rides along too, whichever rule asks (the noise rule, or noisyInput on the input's
 * noise margin, which reads babble noisy only while it lasts): eval seed 10 gen-10-16 station 3 (babble
 * at 32 dB SNR) read noisy in its first second only, that step's two moves went to the level and the
 * gate, and the call ended without RNNoise (PESQ 3.656; 3.843 with it riding). Over the ten seeds' 504
 * stations it moved the mean final PESQ by +0.0004 and lowered none by more than 0.04
 * (gen-10-3 station 3, -0.040).
 */
function rnnoiseOn(change: ParamChange): boolean {
  return change.name === 'rnnoise_enabled' && change.old < 0.5 && change.new >= 0.5;
}

/**
 * The moves that follow a chosen one (Move.follows), or a companion taken before them (the compressor
 * after the AGC target after its max gain), made safe, on parameters not chosen already.
 */
function companions(
  findings: readonly Finding[],
  chosen: readonly Chosen[],
  st: ControllerState,
  specs: ReadonlyMap<string, ParameterSpec>,
  params: Readonly<Record<string, number>>,
  snapshot: StationSnapshot,
): Chosen[] {
  const out: Chosen[] = [];
  const taken = (name: string) => [...chosen, ...out].some((c) => c.change.name === name);
  for (const m of findings.flatMap((f) => f.moves)) {
    const spec = specs.get(m.name);
    const old = params[m.name];
    if (m.follows === undefined || !spec || old === undefined || taken(m.name)) continue;
    const lead = [...chosen, ...out].find((c) => c.change.name === m.follows);
    if (lead === undefined) continue;
    const nv = safeValue(spec, old, m.desired, snapshot.constraints);
    if (nv === null || (m.heedsTabu && isTabu(st, m.name, nv - old, true))) continue;
    const change = { name: m.name, old, new: nv };
    out.push({ change, reason: m.reason, hot: spec.hot, ...(lead.rider ? { rider: true as const } : {}) });
  }
  return out;
}

/**
 * The trust radius (share of max_step) of a parameter in this call: the exploratory half step until
 * judged steps of it taught otherwise (trust.ts).
 */
export function radiusOf(st: ControllerState, name: string): number {
  return st.lessons?.[name]?.radius ?? EXPLORE_STEP_SHARE;
}

/** Exploration step for a parameter: its trust radius, within the learned region's when there is one. */
function exploreStep(spec: ParameterSpec, share: number, prior: LearnedRegion | undefined): number {
  const r = prior?.radius[spec.name];
  const step = spec.max_step * share;
  return r !== undefined && r > 0 ? Math.min(step, r) : step;
}

/**
 * Remembers what the rules want and cannot do (Finding.wants) for TABU_ITERATIONS: a line's loss comes
 * in bursts, so the second after the one that showed late loss may show none, and an exploratory step
 * down the jitter buffer then is a step into the late loss the rule just read.
 */
export function rememberWishes(st: ControllerState, findings: readonly Finding[]): ControllerState {
  const now = findings.flatMap((f) => f.wants ?? []);
  const kept = (st.wishes ?? []).filter(
    (w) => w.until_iteration > st.iteration && !now.some((n) => n.name === w.name),
  );
  if (now.length === 0 && kept.length === (st.wishes ?? []).length) return st;
  const until_iteration = st.iteration + TABU_ITERATIONS;
  return {
    ...st,
    wishes: [
      ...kept,
      ...now.map((w) => ({ name: w.name, direction: w.dir === 1 ? -1 : 1, until_iteration }) as const),
    ],
  };
}

/**
 * A switch a rule threw and the judge kept (the hum canceller on over hum, RNNoise over noise) is not
 * explored back for the rest of the call: the rule had its evidence, and where that goes (the hum stops)
 * a rule or a settings guard switches it back. Explored back, it cost what the rule had won: eval seed
 * 3, gen-3-1 station 11, the canceller switched off at the call's sixth second over a 50 Hz hum at
 * -25 dBFS (hum 0.28 of the energy again; PESQ 3.09 -> 1.85 had the call ended there).
 */
export const KEPT_SWITCH_ITERATIONS = 1000;

export function keepSwitches(
  st: ControllerState,
  changes: readonly { name: string; old: number; new: number }[],
  specs: ReadonlyMap<string, ParameterSpec>,
): ControllerState {
  const thrown = changes.filter((c) => specs.get(c.name)?.values && c.new !== c.old);
  if (thrown.length === 0) return st;
  const until_iteration = st.iteration + KEPT_SWITCH_ITERATIONS;
  const others = (st.wishes ?? []).filter((w) => !thrown.some((c) => c.name === w.name));
  return {
    ...st,
    wishes: [
      ...others,
      ...thrown.map((c) => ({ name: c.name, direction: c.new > c.old ? -1 : 1, until_iteration }) as const),
    ],
  };
}

/** A model or exploratory step on `name` in `direction` goes against a rule's remembered wish. */
export function againstWish(st: ControllerState, name: string, direction: number): boolean {
  return (st.wishes ?? []).some(
    (w) => w.name === name && w.direction === Math.sign(direction) && w.until_iteration > st.iteration,
  );
}

/**
 * Parameters that do nothing in the running set or on this line, and what makes them act: a step on one
 * changes nothing a snapshot can show, so its verdict would be the speech's own variation and the
 * iteration spent on nothing (eval seed 9, gen-9-4 station 9: RNNoise's attenuation limit explored,
 * 30 -> 24, with RNNoise off). A compressor at ratio 1 passes its input whatever its threshold; the hum
 * canceller is bit-exact while the station's detector, having read 2.5 s, follows no hum family
 * (input_hum_ratio 0; null before that or from agents of before the field: explored as before).
 */
const ACTS_ONLY_IF: Readonly<
  Record<string, (p: Readonly<Record<string, number>>, s: StationSnapshot) => boolean>
> = {
  rnnoise_attenuation_limit_db: (p) => p['rnnoise_enabled'] === undefined || p['rnnoise_enabled'] >= 0.5,
  compressor_threshold_dbfs: (p) => p['compressor_ratio'] === undefined || p['compressor_ratio'] > 1,
  hum_canceller_enabled: (_, s) => !followsNoHum(s),
};

/** Whether `name` acts in the set `params` on the line `snapshot` shows (ACTS_ONLY_IF). */
export function acts(
  name: string,
  params: Readonly<Record<string, number>>,
  snapshot: StationSnapshot,
): boolean {
  return ACTS_ONLY_IF[name]?.(params, snapshot) ?? true;
}

/** One seeded half-step on one hot, movable parameter that acts; the new PRNG state either way. */
export function exploreMove(
  st: ControllerState,
  specs: readonly ParameterSpec[],
  params: Readonly<Record<string, number>>,
  snapshot: StationSnapshot,
  prior?: LearnedRegion,
): { chosen: Chosen | null; rng: number } {
  const rng = createRng(st.rng);
  // Only hot parameters: a cold one would not act within this call, so its verdict would be noise; the
  // same for one the running set leaves inert, and for a level setter while the level is on target.
  const pool = specs.filter(
    (p) =>
      p.hot &&
      probed(p.name) &&
      !effectiveBounds(p, snapshot.constraints).frozen &&
      acts(p.name, params, snapshot) &&
      !levelSettled(p.name, snapshot),
  );
  for (let attempt = 0; attempt < 2 * pool.length; attempt++) {
    const spec = pool[Math.floor(rng.next() * pool.length)];
    const first: 1 | -1 = rng.next() < 0.5 ? 1 : -1;
    if (!spec) continue;
    const old = params[spec.name] ?? spec.default;
    const step = exploreStep(spec, radiusOf(st, spec.name), prior);
    for (const dir of [first, -first]) {
      if (isTabu(st, spec.name, dir) || againstWish(st, spec.name, dir)) continue;
      // A choice (a switch) is tried at its neighbouring value, whatever the radius: there is no half.
      const vs = spec.values;
      const next = vs ? (dir > 0 ? vs.find((v) => v > old) : vs.findLast((v) => v < old)) : old + dir * step;
      if (next === undefined) continue;
      const nv = safeValue(spec, old, next, snapshot.constraints, spec.values ? Math.abs(next - old) : step);
      if (nv === null) continue;
      const share = step / spec.max_step;
      const size = spec.values
        ? `a switch to ${nv}`
        : Math.abs(share - EXPLORE_STEP_SHARE) < 1e-9
          ? 'a half step'
          : `${share.toFixed(2)} of a max step`;
      const reason = `nothing clearly wrong; exploring ${size} on ${spec.name} around the known-good set`;
      return { chosen: { change: { name: spec.name, old, new: nv }, reason, hot: true }, rng: rng.state() };
    }
  }
  return { chosen: null, rng: rng.state() };
}
