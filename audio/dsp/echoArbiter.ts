// Which model the echo canceller's output (its foreground) takes, block by block (echoCanceller.ts).
//
// Two candidates: the NLMS background (echoFilter.ts), which adapts over far-end single talk with a fixed
// step, and the Kalman path (echoKalman.ts), which adapts on every block with far-end signal. Near-end
// speech is in every error alike, so only echo modelling makes one error lower than another.
//
// - The background is copied when its error is below COPY_RATIO of the foreground's over ~4 blocks (the
//   two-path test of Speex's MDF), and not worse than the Kalman path's over ~20: quick while the echo is
//   most of the error (single talk), and next to never while a near-end talker fills it (an error cannot
//   fall 1.5 dB when the echo is 6 dB under the talker).
// - The Kalman path is copied when it is better than the foreground by a margin that scales with how far
//   the two estimates differ (KALMAN_MARGIN x |y_k - y_fg|^2 over ~20 blocks: moving the foreground to y_k
//   lowers the error by |r_fg|^2 - |r_k|^2, and the near end's share of the comparison averages out), and
//   better than the background; while no model is trusted yet (the canceller's gain 0) it must also have
//   taken at least KALMAN_PROOF_DB off the microphone. Once its model is trusted in full, the foreground
//   follows it every block for as long as it stays no worse than the background.
// - A background far worse than the foreground restarts from it, and a Kalman path worse than the
//   background by KALMAN_RESTART_RATIO over ~4 blocks restarts from the background's model (below).
//
// Why the proof: a far end that is not in the microphone (a leg without echo) still lets a filter that
// adapts on every block explain a little of the near-end talker; on the unit tests' no-echo legs such a
// model reached the foreground and cost the talker 8-20 dB of difference. The fast NLMS search cannot
// serve as that proof under double talk (its error follows the talker), and the Kalman path's own
// error reduction stays under 0.75 dB on those legs while it passes 1 dB within 2-3 s on the demo's
// station 1 (a talker 6-9 dB above the echo).
//
// Why the Kalman path's restart: its observation noise is the error it cannot explain by its own
// uncertainty, so a model that has grown sure of itself and then meets echo it does not model (a far-end
// utterance in bins the earlier ones barely excited, traced on generated profile gen-9-7 station 2: its
// error 2 dB under the microphone's where the background's was 9 dB under) reads that echo as near-end
// noise and learns it slowly, while the output follows it and the NLMS step waits on it. A near-end
// talker is in both errors alike, so the background's error cannot fall to half the Kalman path's on
// talker alone: only on echo the background models and the Kalman path does not.

/** Copy background -> foreground when its error energy is below this fraction of the foreground's. */
const COPY_RATIO = 0.7;
/** Restart the background from the foreground when its error energy is above this multiple. */
const RESET_RATIO = 4;
/** Error energies compared over ~4 blocks, and over ~20 (one-pole per block). */
const SHORT = 0.75;
const LONG = 0.95;
/**
 * The Kalman path restarts from the background when its error is over this multiple of the background's
 * (~4 blocks). At the station defaults of the generated profiles where the Kalman path had cost PESQ:
 * gen-9-7 station 2 2.976 -> 3.102 (NLMS pair alone 3.357), gen-9-13 station 1 3.441 -> 3.536 (3.675),
 * gen-9-14 station 1 2.999 -> 3.035, gen-4-1 station 1 2.139 -> 2.276, gen-9-11 station 1 2.329 -> 2.528;
 * 1.5 took a little more on four of them but the unit test of an echo that appears after seconds without
 * one failed (the Kalman path restarted from a background still searching).
 */
const KALMAN_RESTART_RATIO = 2;
/** The Kalman path's margin over the foreground, as a share of the estimates' difference energy. */
const KALMAN_MARGIN = 0.3;
/** What the Kalman path must take off the microphone (dB, over ~20 blocks) before any model is trusted. */
const KALMAN_PROOF = 10 ** (1 / 10);

/** One block's energies: microphone, the errors of background, foreground and Kalman path, and |y_k - y_fg|^2. */
export interface BlockEnergies {
  mic: number;
  bg: number;
  fg: number;
  kal: number;
  kalDiff: number;
}

/**
 * A copy to make: the Kalman path's model or the background's to the foreground, the foreground's to the
 * background (`restart`), or the background's to the Kalman path (`kalman-restart`).
 */
export type Copy = 'kalman' | 'background' | 'restart' | 'kalman-restart' | null;

export class PathArbiter {
  // Smoothed error energies over ~4 blocks, and over ~20.
  bgErr = 0;
  fgErr = 0;
  micErr = 0;
  private kErr = 0;
  private bgLong = 0;
  private fgLong = 0;
  private micLong = 0;
  private kLong = 0;
  private kDiff = 0;
  /** The foreground holds the Kalman path's model (it follows it while trusted and no worse). */
  private fromKalman = false;

  /** The foreground holds the Kalman path's model, trusted (gain > 0): the background's step waits on it. */
  followsKalman(gain: number): boolean {
    return this.fromKalman && gain > 0;
  }

  /** Takes the block's energies and says which copy to make (`gain`: how far the foreground is trusted). */
  next(e: BlockEnergies, withKalman: boolean, gain: number): Copy {
    const s = SHORT;
    this.bgErr = s * this.bgErr + (1 - s) * e.bg;
    this.fgErr = s * this.fgErr + (1 - s) * e.fg;
    this.micErr = s * this.micErr + (1 - s) * e.mic;
    const l = LONG;
    this.bgLong = l * this.bgLong + (1 - l) * e.bg;
    this.fgLong = l * this.fgLong + (1 - l) * e.fg;
    this.micLong = l * this.micLong + (1 - l) * e.mic;
    if (withKalman) {
      this.kErr = s * this.kErr + (1 - s) * e.kal;
      this.kLong = l * this.kLong + (1 - l) * e.kal;
      this.kDiff = l * this.kDiff + (1 - l) * e.kalDiff;
      if (this.kErr > KALMAN_RESTART_RATIO * this.bgErr) {
        // It now holds the background's model: its errors are the background's, no better than before.
        this.kErr = this.bgErr;
        this.kLong = Math.min(this.kLong, this.bgLong);
        return 'kalman-restart';
      }
      if (this.fromKalman && gain >= 1 && this.kLong <= this.bgLong) return this.took('kalman');
      const better = this.kLong < this.fgLong - KALMAN_MARGIN * this.kDiff && this.kLong < this.bgLong;
      if (better && (gain > 0 || this.micLong > KALMAN_PROOF * this.kLong)) return this.took('kalman');
    }
    if (this.bgErr < COPY_RATIO * this.fgErr && (!withKalman || this.bgLong <= this.kLong)) {
      return this.took('background');
    }
    if (this.bgErr > RESET_RATIO * this.fgErr) {
      this.bgErr = this.fgErr;
      this.bgLong = this.fgLong;
      return 'restart';
    }
    return null;
  }

  private took(copy: 'kalman' | 'background'): Copy {
    const kal = copy === 'kalman';
    this.fromKalman = kal;
    this.fgErr = kal ? this.kErr : this.bgErr;
    this.fgLong = kal ? this.kLong : this.bgLong;
    return copy;
  }

  /** The foreground was cleared (`kalman`: and the Kalman path): their errors are the microphone's. */
  foregroundCleared(kalman: boolean): void {
    this.fgErr = this.micErr;
    this.fgLong = this.micLong;
    this.fromKalman = false;
    if (!kalman) return;
    this.kErr = this.micErr;
    this.kLong = this.micLong;
    this.kDiff = 0;
  }

  /** Every model starts over (a moved window, a tail that kept nothing): their errors are the microphone's. */
  modelsCleared(): void {
    this.foregroundCleared(true);
    this.bgErr = this.micErr;
    this.bgLong = this.micLong;
  }

  reset(): void {
    for (const k of [
      'bgErr',
      'fgErr',
      'micErr',
      'kErr',
      'bgLong',
      'fgLong',
      'micLong',
      'kLong',
      'kDiff',
    ] as const) {
      this[k] = 0;
    }
    this.fromKalman = false;
  }
}
