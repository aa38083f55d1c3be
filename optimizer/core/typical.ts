// Which snapshots of a call can be compared when a change is judged (issue 10, point 4). One second
// of speech differs from the next, and the blind SNR estimator (WADA, audio/metrics/wada.ts), clamped
// to -20 .. 100 dB, lands on a clamp on seconds it cannot read (a stretch of almost only speech, or of
// almost only noise). A change judged against such a second is judged against the second, not the
// parameters: a baseline that read 100 dB before a good move reads 10 dB after it (gen-5-2, station 3)
// and the move looks like a 10-point regression. Pure.
import { fmt } from './curves.ts';
import { cancellerOn } from './hum.ts';
import type { ParamChange } from './state.ts';
import { WATCH } from './watch.ts';

/** The blind SNR estimator's clamps (audio/metrics/wada.ts), with a little room for rounding. */
export const SNR_CLAMP_HIGH_DB = 99.5;
export const SNR_CLAMP_LOW_DB = -19.5;

/** Whether a blind SNR reading sits on one of the estimator's clamps (no reading of the second). */
export const onSnrClamp = (x: number): boolean => x >= SNR_CLAMP_HIGH_DB || x <= SNR_CLAMP_LOW_DB;

/**
 * The talker's own level at the station's input (P.56, before any block) moving this far between the
 * baseline second and the judged one is the speech, not the parameters: an input gain raised 6 dB on
 * eval seed 9 gen-9-17 station 10 lifted the output 6 dB over its input, while the talker fell from
 * -27.8 to -39.9 dBov; the output's loudness fell 9 LU and the step was rolled back as a regression, the
 * level left 18 LU short for the rest of the call. In the traces looked at (the seed-9 utterance at
 * station 9, gen-9-5 station 4) speech moved its 1 s input level by 0.4-4 dB from one second to the next.
 */
export const INPUT_LEVEL_SWING_DB = 6;

/**
 * The chain passed the speech its input held when its speech-loss reading (metrics.speech_loss_db,
 * audio/metrics/speechLoss.ts: 0 dB when every speech-dominated cell of the input comes out at the
 * chain's own gain; a gate or suppressor closing on syllables reads as loss) is at most this. Speech
 * activity at the output falling then is the talker's pause, not the chain eating speech: eval seed 9's
 * call has a second of 1-10% speech (its fourth), where the output's activity fell 0.89 -> 0.09 with
 * the chain's loss at 0.0-0.1 dB, and the speech-presence guard rolled back a gain step at once
 * (gen-9-5 station 4: the step was worth +10 points on the yardstick) and sent the speech-collapse rule
 * backing off suppression at gen-9-8 station 1 and gen-9-14 station 3. The seconds around it read 0.0-0.6.
 */
export const SPEECH_PASSED_DB = 1;

/**
 * Whether a second's low speech activity is the talker's, not the chain's doing: its speech-loss reading
 * (`loss`) says the chain passed the speech its input held (SPEECH_PASSED_DB), or it has no reading (too
 * little clear speech in the input to read: speechLoss.ts MIN_CELLS) where `known` (an earlier second of
 * the call) had one, so the agent does read it. Without any reading (an agent of before the metric) false.
 */
export function talkerPaused(
  loss: number | null | undefined,
  known: Readonly<Record<string, number>> | null | undefined,
): boolean {
  if (loss !== null && loss !== undefined) return loss <= SPEECH_PASSED_DB;
  return known?.['speech_loss_db'] !== undefined;
}

/**
 * Whether the judged second holds too little clear speech to judge a change by: no speech-loss reading
 * (speechLoss.ts MIN_CELLS) where the baseline second had one. Its level, activity and blind SNR read the
 * pause, not the talker: judged on the next second instead (judge.ts, once per change).
 */
export function tooLittleSpeech(
  before: Readonly<Record<string, number>>,
  now: Readonly<Record<string, number>>,
): boolean {
  return now['speech_loss_db'] === undefined && before['speech_loss_db'] !== undefined;
}

/**
 * The components a change's judging leaves out because the baseline snapshot and the one that ran the
 * change cannot be compared on them: the noise component when the blind SNR sits on an estimator clamp
 * on one side and not on the other (a clamp is the estimator giving up on the second, not a reading).
 * Only a reading that flatters one side is distrusted: a fall onto the lower clamp after the change is
 * believed, the change may have let the noise in. And the level component when the talker's own level
 * at the input moved INPUT_LEVEL_SWING_DB or more (either way: a louder talker flatters the change as a
 * quieter one blames it), with the hum and the noise unless the change acts on them. And the
 * speech-presence guard when the output's speech activity fell while the chain passed the speech its
 * input held (talkerPaused): the talker paused. Given the change
 * (`changes`): hum and noise when the hum reading jumped before the station's detector had settled
 * (humUnlike), the network when the packet loss moved the way the change cannot move it (lossUnlike), and
 * noise when the blind SNR fell after the hum canceller came on (cancellerUnlike). Null when the two
 * compare on everything.
 */
export function unlike(
  before: Readonly<Record<string, number>>,
  now: Readonly<Record<string, number>>,
  changes: readonly ParamChange[] = [],
): { readonly components: ReadonlySet<string>; readonly why: string } | null {
  const changed = changes.map((c) => c.name);
  const parts = [
    snrUnlike(before, now),
    levelUnlike(before, now, changed),
    presenceUnlike(before, now),
    humUnlike(before, now, changed),
    lossUnlike(before, now, changes),
    cancellerUnlike(before, now, changes),
  ].filter((x) => x !== null);
  if (parts.length === 0) return null;
  return {
    components: new Set(parts.flatMap((x) => [x.component, ...(x.also ?? [])])),
    why: parts.map((x) => x.why).join('; '),
  };
}

/** Whether one of the changed parameters is watched on `metric` (watch.ts): the change acts on it. */
function actsOn(changed: readonly string[], metric: string): boolean {
  return changed.some((n) => WATCH[n]?.includes(metric));
}

interface Apart {
  readonly component: string;
  /** Further components the same reading moved. */
  readonly also?: readonly string[];
  readonly why: string;
}

/**
 * The output's hum reading rising by this share of the energy (and to HUM_JUMP_TIMES what it was), while
 * the station's own hum detector had not settled before (metrics.input_hum_ratio null for the call's
 * first 2.5 s, digest key absent), is the reading learning the line family: hum_ratio counts the mains
 * family from the first second but a line family off the mains (16-950 Hz) only once the detector
 * follows it. Eval seed 9 gen-9-17 station 3, hum at 192 Hz 4 dB over a -43 dBov talker: the hum read
 * 0.007 on the first second and 0.345 on the next, its blind SNR 13.7 -> -20 dB (the estimator's clamp,
 * the hum read as noise), and the AGC and RNNoise step taken on the first second was rolled back as a
 * regression of 20 points on hum and noise it never touched; the hum canceller came two seconds later.
 * A change watched on the hum (watch.ts: the hum canceller, the high-pass) is still judged on it.
 */
const HUM_JUMP = 0.05;
const HUM_JUMP_TIMES = 3;

function humUnlike(
  before: Readonly<Record<string, number>>,
  now: Readonly<Record<string, number>>,
  changed: readonly string[],
): Apart | null {
  const a = before['hum_ratio'];
  const b = now['hum_ratio'];
  if (a === undefined || b === undefined || before['input_hum_ratio'] !== undefined) return null;
  if (!(b - a >= HUM_JUMP && b >= HUM_JUMP_TIMES * a) || actsOn(changed, 'audio.hum_ratio')) return null;
  return {
    component: 'hum',
    also: ['noise'],
    why: `hum and noise left out: the hum read ${fmt(a, 3)} -> ${fmt(b, 3)} of the energy while the station's hum detector had not yet settled on the input's line family (the blind SNR reads hum as noise)`,
  };
}

function snrUnlike(
  before: Readonly<Record<string, number>>,
  now: Readonly<Record<string, number>>,
): Apart | null {
  const a = before['snr_db'];
  const b = now['snr_db'];
  if (a === undefined || b === undefined) return null;
  const side = (x: number) => (x >= SNR_CLAMP_HIGH_DB ? 1 : x <= SNR_CLAMP_LOW_DB ? -1 : 0);
  if (side(a) === side(b) || side(b) === -1) return null;
  return {
    component: 'noise',
    why: `noise left out: the blind SNR read ${fmt(a, 1)} dB before and ${fmt(b, 1)} dB after, one of them on the estimator's clamp`,
  };
}

/**
 * The hum share and the blind SNR are shares of the talker's energy: a steady hum or floor under a talker
 * who moved INPUT_LEVEL_SWING_DB moves them by as much. So they are left out with the level unless the
 * change acts on them itself (watch.ts: the hum canceller and the high-pass on the hum, the suppressors,
 * the gate and the AGC's max gain on the SNR). Eval seed 5, gen-5-1 station 10: the input gain 6 -> 12 dB
 * with a longer echo tail was rolled back on "hum_ratio rose 0.042->0.20, snr_db dropped 8.1->-1.8" while
 * the talker fell 8.5 dB (-42.8 -> -51.3 dBov) between the two seconds; the gain was not tried again and
 * the call ended 20 LU under the level target.
 */
function levelUnlike(
  before: Readonly<Record<string, number>>,
  now: Readonly<Record<string, number>>,
  changed: readonly string[],
): Apart | null {
  const a = before['input_speech_level_dbov'];
  const b = now['input_speech_level_dbov'];
  if (a === undefined || b === undefined || !(Math.abs(b - a) >= INPUT_LEVEL_SWING_DB)) return null;
  const also = [
    ...(actsOn(changed, 'audio.hum_ratio') ? [] : ['hum']),
    ...(actsOn(changed, 'audio.snr_db') ? [] : ['noise']),
  ];
  const with_ = also.length > 0 ? ` (${also.join(' and ')} with it, shares of its energy)` : '';
  return {
    component: 'level',
    also,
    why: `level left out: the talker's own level at the input moved ${fmt(a, 1)} -> ${fmt(b, 1)} dBov between the two seconds${with_}`,
  };
}

function presenceUnlike(
  before: Readonly<Record<string, number>>,
  now: Readonly<Record<string, number>>,
): Apart | null {
  const a = before['speech_activity'];
  const b = now['speech_activity'];
  const loss = now['speech_loss_db'];
  if (a === undefined || b === undefined || !(b < a) || loss === undefined || loss > SPEECH_PASSED_DB) {
    return null;
  }
  return {
    component: 'speech_presence',
    why: `speech presence left out: speech activity fell ${fmt(a, 2)} -> ${fmt(b, 2)} while the chain passed the speech its input held (speech loss ${fmt(loss, 1)} dB)`,
  };
}

/**
 * The network's packet loss (late discards counted in) moving this far between the two seconds (in
 * points and by this factor) in the direction the change cannot have moved it is the network's: a
 * jitter buffer that grew or stayed cannot raise the loss, one that shrank or stayed cannot lower it.
 * The E-model MOS (the network component, the heaviest at stations 2 and 10) follows the loss, so a
 * burst of loss in the judged second read as the change's regression: eval seed 9, gen-9-3 station 2 (a
 * -39.5 dBov talker on a line losing 25% in bursts), input gain 0 -> 6 dB with the buffer 60 -> 100 ms was
 * rolled back on "mos dropped 2.6 -> 1.00" while the loss went 12% -> 42%; the gain was never tried
 * again and the call ended 18 LU under the level target, 80% of the offline best. Seven of the 13
 * rollbacks at seed 9's stations 2 and 10 (a scratch replay of the loop) read a MOS drop. The latency
 * the buffer adds is still judged, on its own component.
 */
const LOSS_SWING = 0.05;
const LOSS_SWING_TIMES = 1.5;

function lossUnlike(
  before: Readonly<Record<string, number>>,
  now: Readonly<Record<string, number>>,
  changes: readonly ParamChange[],
): Apart | null {
  const a = before['packet_loss_ratio'];
  const b = now['packet_loss_ratio'];
  if (a === undefined || b === undefined || !(Math.abs(b - a) >= LOSS_SWING)) return null;
  if (!(Math.max(a, b) >= LOSS_SWING_TIMES * Math.min(a, b))) return null;
  const jb = changes.find((c) => c.name === 'jitter_buffer_ms');
  const grew = jb !== undefined && jb.new > jb.old;
  const shrank = jb !== undefined && jb.new < jb.old;
  if ((b > a && shrank) || (b < a && grew)) return null;
  return {
    component: 'network',
    why: `network left out: the packet loss went ${fmt(100 * a, 1)}% -> ${fmt(100 * b, 1)}% between the two seconds, which ${grew ? 'a longer jitter buffer' : shrank ? 'a shorter jitter buffer' : 'the change'} cannot have done`,
  };
}

// A static input gain moves the speech and the noise alike. The AGC's target and max gain can lift the
// pauses more than the speech, by at most the step itself: a fall past that sum is not theirs either.
const GAIN_RIDERS: Readonly<Record<string, number>> = {
  input_gain_db: 0,
  agc_target_dbfs: 1,
  agc_max_gain_db: 1,
};

/**
 * A blind SNR that fell after the hum canceller came on: the canceller notches the hum lines alone, and
 * over 65 generated stations with hum it never lowered the mean blind SNR, so the fall is the line's own.
 * Gain riders may come along in the same step, but only a fall beyond what they could have done counts.
 */
function cancellerUnlike(
  before: Readonly<Record<string, number>>,
  now: Readonly<Record<string, number>>,
  changes: readonly ParamChange[],
): Apart | null {
  const a = before['snr_db'];
  const b = now['snr_db'];
  if (a === undefined || b === undefined || !(b < a)) return null;
  // Hum that rose with the canceller on is the canceller's to answer for.
  if ((now['hum_ratio'] ?? 0) > (before['hum_ratio'] ?? 0)) return null;
  const on = changes.some(cancellerOn);
  const rest = changes.filter((c) => c.name !== 'hum_canceller_enabled');
  if (!on || rest.some((c) => GAIN_RIDERS[c.name] === undefined && WATCH[c.name]?.includes('audio.snr_db')))
    return null;
  const ridden = rest.reduce((sum, c) => sum + (GAIN_RIDERS[c.name] ?? 0) * Math.abs(c.new - c.old), 0);
  if (a - b <= ridden) return null;
  return {
    component: 'noise',
    why: `noise left out: the blind SNR read ${fmt(a, 1)} -> ${fmt(b, 1)} dB after the hum canceller came on, which notches hum lines alone${ridden > 0 ? ` (the gains that rode along account for ${fmt(ridden, 1)} dB at most)` : ''}`,
  };
}
