// What the station's input holds before the chain, from its noise margin (`input_noise_margin_db`, the
// distance from the speech's peaks down to the broadband floor at the tap, audio/dsp/noiseNeed.ts):
// whether it is clean, noisy, or not yet known; the input-noise factor of the station score; and whether a
// second of it held speech at all.
import type { StationSnapshot } from '../../contracts/generated.ts';
import { fmt, linear, ramp } from './curves.ts';

/**
 * An input whose broadband floor sits this far or further under its speech peaks (the snapshot's
 * `input_noise_margin_db`, read over 6 s before the chain) holds no noise worth suppressing: clean speech
 * reads 80 dB or more once a pause has fallen in the window, white noise at a 40 dB SNR about 50, babble
 * at 29.5 dB 53-68 (its own dips), over which RNNoise cost PESQ 0.14 (gen-3-3 station 3). The chain adds
 * none, so a low blind SNR or floor at the output is then the speech's own quiet stretch (a talker who did
 * not pause in the segment), and those components take no loss for it.
 */
export const INPUT_CLEAN_MARGIN_DB = 60;

/** Whether the station's input is known to hold no broadband noise (INPUT_CLEAN_MARGIN_DB). */
export function inputClean(s: StationSnapshot): boolean {
  const m = s.metrics.input_noise_margin_db;
  return m !== null && m !== undefined && m >= INPUT_CLEAN_MARGIN_DB;
}

/**
 * Before a pause has likely fallen in the reading (the call's first 3 s) a clean talker's margin reads
 * 43-58 dB, the quietest syllable standing in for the floor, where noise at a 25-40 dB SNR reads much
 * the same: only a margin under INPUT_NOISY_EARLY_MARGIN_DB says noise then (eval seed 8: clean prompts
 * read 42.9 dB at the first second, 85 at the third). The score's factor leaves such a reading out. The
 * rules do not wait for it: switched on by it, RNNoise cost clean talkers 0.02-0.05 PESQ (gen-8-0
 * stations 1 and 11), but babble reads the same and there it gained 0.2-0.5 (gen-2-1, 2-2, 2-3, 4-2),
 * and babble's own dips read as clean later (gen-2-3 station 3: 45.7 dB at the first second, 61 at the
 * fourth), so waiting lost the switch.
 */
const INPUT_NOISE_SETTLED_MS = 3000;
const INPUT_NOISY_EARLY_MARGIN_DB = 40;

/**
 * An input whose noise floor is closer than this to its speech peaks holds noise for RNNoise to take out
 * (the noise rule's switch, rules.ts noisyInput): a clean talker reads 45-58 dB before the first pause,
 * 80 or more after it; noise at a 40 dB SNR about 50. Once the margin has settled (INPUT_NOISE_SETTLED_MS)
 * the line is INPUT_NOISY_SETTLED_MARGIN_DB: weak babble reads 56-66 dB there (33-39 dB SNR: gen-10-15
 * station 4, gen-9-16 station 3, gen-10-6 station 9), and on eval seeds 9 and 10 (the median judge) the
 * changed stations whose final set had RNNoise off gained 0.13-0.23 PESQ with it on at babble of 33-40 dB
 * SNR and +0.006 on average over the 67 whose input held no noise (none lost more than 0.005: RNNoise's
 * mix follows the noise it finds, rnnoise.ts), each at a score within 0.2; where the loop had it on,
 * white noise at 52 dB SNR lost 0.13 with it off.
 */
const INPUT_NOISY_MARGIN_DB = 50;
const INPUT_NOISY_SETTLED_MARGIN_DB = 70;

/** Whether the station's input holds noise RNNoise would take out (INPUT_NOISY_MARGIN_DB, above). */
export function inputNoisy(s: StationSnapshot): boolean {
  const m = s.metrics.input_noise_margin_db;
  if (m === null || m === undefined) return false;
  const settled = s.segment.end_ms >= INPUT_NOISE_SETTLED_MS;
  return m < (settled ? INPUT_NOISY_SETTLED_MARGIN_DB : INPUT_NOISY_MARGIN_DB);
}

/** Whether the input's margin cannot yet tell noise from a talker who has not paused (see above). */
function inputNoiseUndecided(s: StationSnapshot): boolean {
  const m = s.metrics.input_noise_margin_db;
  if (m === null || m === undefined || s.segment.end_ms >= INPUT_NOISE_SETTLED_MS) return false;
  return m >= INPUT_NOISY_EARLY_MARGIN_DB && m < INPUT_CLEAN_MARGIN_DB;
}

/**
 * The margin is read on the echo canceller's output (the chain's tap), so a far end's echo the canceller
 * has not yet taken out stands in for the floor: a clean talker with a -43 dBFS echo of the far end
 * 66 ms behind (eval seed 9, gen-9-13 station 1) read 23.8 dB at the first second, 40-43 at the next two
 * while the echo held -10 dB of the output, and 114 from the fourth, once the canceller had it; gen-9-11
 * station 1 (echo 172 ms behind) 32.5, 45-47, then 105. While that can be so, in the seconds before the
 * margin settles (INPUT_NOISE_SETTLED_MS), at a station with an echo canceller in the call's first
 * second, before its residual echo is read, or with the echo ECHO_AS_FLOOR_DB or more of the output
 * (which the score hears), a low margin says nothing of noise, and the noisy-input rule (rules.ts) does
 * not switch RNNoise on by it. Noise reads the same then (gen-10-16 station 1, white noise at 22 dB: 28.9
 * dB at the first second), so RNNoise waits a second there; past the third second an echo the canceller
 * still leaves is no reason to wait longer (gen-9-16 station 1: pink noise under an echo that stays).
 * The noise rule proper still reads the blind SNR under such an echo: a variant that made it wait too
 * brought the two calls above within 5% of their best a second sooner, but over the 72 generated station-1
 * calls of seeds 1-10 it was slower (mean iteration to within 5% 3.02 against 2.96) and left gen-1-3 (an
 * echo 1.5 dB under the talker over pink noise) never within 5% and gen-2-3 at the seventh second (third).
 */
const ECHO_AS_FLOOR_DB = -30;
const ECHO_UNREAD_MS = 1000;

export function echoInTap(s: StationSnapshot, hasEchoCanceller: boolean): boolean {
  if (!hasEchoCanceller || s.segment.end_ms > INPUT_NOISE_SETTLED_MS) return false;
  const echo = s.metrics.residual_echo_db;
  if (echo === null || echo === undefined) return s.segment.end_ms <= ECHO_UNREAD_MS;
  return echo >= ECHO_AS_FLOOR_DB;
}

/**
 * The station score's input-noise factor. The output's blind metrics read a suppressor's work as clean
 * (its SNR and floor are what the suppressor left), while a listener, and PESQ, hear what was taken out
 * with the noise: over the generated profiles (seeds 1-8, every station, defaults, final, best and random
 * sets) PESQ followed the input's SNR with a rank correlation of 0.69-0.77 at stations 1, 3, 4 and 9, the
 * score 0.1-0.3. The factor is 1 from INPUT_CLEAN_MARGIN_DB and falls linearly to 1 - its weight at
 * INPUT_NOISE_ZERO_DB (noise at about the speech's level). It scales the score the scorecard reports, not
 * the one the controller tunes and judges by (`scoreSnapshot(s, p, { input: false })`): no parameter
 * moves it, so a change's verdict must not read it. Unknown (no margin, or read too early): no factor.
 */
export const INPUT_NOISE_ZERO_DB = 10;

/** The input-noise component's measure: the margin when it says anything, else null. */
export function inputNoiseMargin(s: StationSnapshot): number | null {
  const m = s.metrics.input_noise_margin_db;
  if (m === null || m === undefined || !Number.isFinite(m) || inputNoiseUndecided(s)) return null;
  return m;
}

export function inputNoiseScore(margin: number): number {
  return linear(margin, INPUT_NOISE_ZERO_DB, INPUT_CLEAN_MARGIN_DB);
}

export function inputNoiseDetail(margin: number, factor: number): string {
  const seen = `the input's noise floor sits ${fmt(margin)} dB under its speech peaks`;
  return factor >= 1
    ? `${seen}: no noise to take out`
    : `${seen}: the output carries what the chain leaves of it or the marks of taking it out; scales the station score by ${fmt(factor, 2)} (not the score the controller tunes by)`;
}

/**
 * The station score's input-clipping factor: samples that arrived on a clip level upstream
 * (`input_clipping_ratio`), flattened before any block here. PESQ hears them whatever the chain does
 * after (the declipper restores part), while the output's blind metrics read a declipped or limited
 * signal as clean. Fitted on the generated profiles of seeds 1-5 (every station, defaults, final, best
 * and random sets), with the line factor (line.ts) in place: the per-family rank correlation of score and
 * PESQ, pooled over those seeds, rose 0.706 -> 0.743, on held-out 6-8 0.627 -> 0.676 (at station 9,
 * 0.45 -> 0.75). 1 with no clipped sample, falling linearly to 1 - its weight at INPUT_CLIP_ZERO; a log
 * scale between 10^-4 and 10^-1 (the declipper guard's shape, settings.ts) did as well on 1-5 and
 * 0.671 on 6-8. Like the input's noise, it scales only the score the scorecard reports.
 */
export const INPUT_CLIP_ZERO = 0.1;

export function inputClipScore(ratio: number): number {
  return 1 - ramp(ratio, 0, INPUT_CLIP_ZERO);
}

export function inputClipDetail(ratio: number, factor: number): string {
  if (!(ratio > 0)) return 'no sample of the input arrives clipped';
  return `${fmt(100 * ratio, 3)}% of the input's samples arrive clipped: flattened before the chain; scales the station score by ${fmt(factor, 2)} (not the score the controller tunes by)`;
}

/**
 * The second's input held too little clear speech for the speech-loss reading (metrics.speech_loss_db
 * null: fewer than 40 speech-dominated cells in the chain's input, whatever the chain did), from an agent
 * that reads it (one that reports `sample_rate_hz`, which came a day after the reading). Then the
 * output's low speech activity is the talker's pause, not a gate or suppressor eating speech, and the
 * speech-presence guard abstains: in eval seed 9's call the fourth second holds 1-10% speech, and with
 * RNNoise clearing the pink noise from it (gen-9-5 station 4, 5 dB SNR) the output read 0% activity, the
 * guard scaled that second to 30% and the set scored 82 against 95 for a shallower one, while PESQ
 * preferred it (2.20 against 2.09). Where the input does hold speech, the speech-loss factor sees a
 * chain that eats it.
 */
export function heldNoSpeech(s: StationSnapshot): boolean {
  const m = s.metrics;
  return (m.speech_loss_db === null || m.speech_loss_db === undefined) && m.sample_rate_hz != null;
}
