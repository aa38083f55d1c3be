// Which snapshots of a call can be compared when a change is judged (issue 10, point 4). One second
// of speech differs from the next, and the blind SNR estimator (WADA, audio/metrics/wada.ts), clamped
// to -20 .. 100 dB, lands on a clamp on seconds it cannot read (a stretch of almost only speech, or of
// almost only noise). A change judged against such a second is judged against the second, not the
// parameters: a baseline that read 100 dB before a good move reads 10 dB after it (gen-5-2, station 3)
// and the move looks like a 10-point regression. Pure.
import { fmt } from './curves.ts';

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
 * The components a change's judging leaves out because the baseline snapshot and the one that ran the
 * change cannot be compared on them: the noise component when the blind SNR sits on an estimator clamp
 * on one side and not on the other (a clamp is the estimator giving up on the second, not a reading).
 * Only a reading that flatters one side is distrusted: a fall onto the lower clamp after the change is
 * believed, the change may have let the noise in. And the level component when the talker's own level
 * at the input moved INPUT_LEVEL_SWING_DB or more (either way: a louder talker flatters the change as a
 * quieter one blames it). Null when the two compare on everything.
 */
export function unlike(
  before: Readonly<Record<string, number>>,
  now: Readonly<Record<string, number>>,
): { readonly components: ReadonlySet<string>; readonly why: string } | null {
  const parts = [snrUnlike(before, now), levelUnlike(before, now)].filter((x) => x !== null);
  if (parts.length === 0) return null;
  return {
    components: new Set(parts.map((x) => x.component)),
    why: parts.map((x) => x.why).join('; '),
  };
}

interface Apart {
  readonly component: string;
  readonly why: string;
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

function levelUnlike(
  before: Readonly<Record<string, number>>,
  now: Readonly<Record<string, number>>,
): Apart | null {
  const a = before['input_speech_level_dbov'];
  const b = now['input_speech_level_dbov'];
  if (a === undefined || b === undefined || !(Math.abs(b - a) >= INPUT_LEVEL_SWING_DB)) return null;
  return {
    component: 'level',
    why: `level left out: the talker's own level at the input moved ${fmt(a, 1)} -> ${fmt(b, 1)} dBov between the two seconds`,
  };
}
