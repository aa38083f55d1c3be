// Far-end single talk for the echo canceller (echoCanceller.ts): the blocks its NLMS pair adapts on and
// its model-validity statistics are gathered over. A Geigel detector: a block is double talk when the
// near end's peak passes `ratio` times the loudest far-end block peak over the tail, and for a hold after.
//
// The ratio: G.168's 6 dB of return loss (0.5) assumes nothing about the echo, so a near-end talker more
// than 6 dB under the far end passes for single talk, and the pair adapts on their speech. Over a weak
// echo that is most of a call (generated profile gen-6-3, station 1: an echo 30 dB down at 125 ms, the
// far end at -18.5 dBov, the talker at -28: after the window moved to the echo, a 64 ms tail removed 1-3 dB
// of it over seconds 4-6, and 96 ms 0-1 dB up to second 8; PESQ at the defaults 2.65). Since 2026-12-06 the
// ratio follows the echo's measured strength: each echo reading (the station's residual-echo metric of
// its output, or the canceller's own detector on its input, echoDelay.ts) gives the echo's share of the
// signal read, and with the mean squares of the far end and that signal over the reading's span, the echo
// path's rms gain; the ratio is RATIO_MARGIN times that (a single-tap path's peaks sit at its gain), at
// most 0.5 and at least RATIO_MIN. A reading of the output counts back in the echo the canceller takes
// out, so a model that cancels leaves the ratio where the path puts it. The same station, its window
// placed from the start: 14.2 dB of the echo removed over seconds 5-8 against 9.8 (the unit test), PESQ
// at the defaults 2.65 -> 2.91. A lowered ratio never goes under twice the near end's quietest block peaks
// (its line noise), so noise does not read as double talk. Behind a jitter buffer the readings are not
// taken (chain.ts: they read a strong echo as a weak one there).
import { ECHO_FLOOR_DB } from '../metrics/residualEcho.ts';
import type { EchoSeen } from './echoDelay.ts';
import { onePole } from './units.ts';

/** G.168's assumption (>= 6 dB of return loss): a near-end peak above half the far-end peak is not echo. */
export const GEIGEL_RATIO = 0.5;
/** The ratio over the echo path's measured rms gain (6 dB: a reading's error, a dispersed path's peaks). */
const RATIO_MARGIN = 2;
/** The least ratio (an echo 26 dB down or weaker reads as this). */
const RATIO_MIN = 0.1;
/** Span of the mean squares a reading is set against, ms (the residual-echo metric reads 3 s). */
const SPAN_MS = 3000;
/** The near end's quietest block peak rises by this factor a block (about 2 dB a second at 8 ms blocks). */
const FLOOR_RISE = 1.002;
const DOUBLE_TALK_HOLD_MS = 40;

export class SingleTalk {
  private peaks: Float64Array;
  private hold = 0;
  private readonly holdBlocks: number;
  private readonly coef: number;
  private r = GEIGEL_RATIO;
  private floorPeak = 0;
  // Mean squares over SPAN_MS: the far end, the canceller's input, its output, the estimate it subtracted.
  private far = 0;
  private input = 0;
  private output = 0;
  private subtracted = 0;

  /** `slots`: far-end block peaks held (the tail's partitions and one); `block`: samples a block. */
  constructor(slots: number, sampleRate: number, block: number) {
    this.peaks = new Float64Array(slots);
    this.holdBlocks = Math.ceil((DOUBLE_TALK_HOLD_MS / 1000) * (sampleRate / block));
    this.coef = onePole(SPAN_MS, sampleRate, block);
  }

  /** The ratio in use. */
  get ratio(): number {
    return this.r;
  }

  /** The far end's newest block peak, into ring slot `slot` (taken modulo the slots). */
  farPeak(slot: number, peak: number): void {
    this.peaks[slot % this.peaks.length] = peak;
  }

  /** Whether a block with an active far end and this near-end peak is far-end single talk. */
  single(micPeak: number): boolean {
    let farMax = 0;
    for (let i = 0; i < this.peaks.length; i++) farMax = Math.max(farMax, this.peaks[i] as number);
    const floor = Math.min(GEIGEL_RATIO * farMax, 2 * this.floorPeak);
    if (micPeak > Math.max(this.r * farMax, floor)) this.hold = this.holdBlocks;
    else if (this.hold > 0) this.hold--;
    return this.hold === 0;
  }

  /**
   * One block's mean squares (far end, the canceller's input and output, the estimate subtracted) and
   * its near-end peak.
   */
  powers(far: number, input: number, output: number, subtracted: number, micPeak: number): void {
    if (micPeak < this.floorPeak || this.floorPeak === 0) this.floorPeak = micPeak;
    else this.floorPeak *= FLOOR_RISE;
    const c = this.coef;
    this.far = c * this.far + (1 - c) * far;
    this.input = c * this.input + (1 - c) * input;
    this.output = c * this.output + (1 - c) * output;
    this.subtracted = c * this.subtracted + (1 - c) * subtracted;
  }

  /** An echo reading: its share of the canceller's input (its own detector) or of its output (a station's). */
  reading(seen: EchoSeen, of: 'input' | 'output'): void {
    if (!(seen.residualDb > ECHO_FLOOR_DB) || !(this.far > 0)) return;
    const share = 10 ** (seen.residualDb / 10);
    const echo = of === 'input' ? share * this.input : share * this.output + this.subtracted;
    const gain = Math.sqrt(echo / this.far);
    this.r = Math.min(GEIGEL_RATIO, Math.max(RATIO_MIN, RATIO_MARGIN * gain));
  }

  /**
   * The tail resized: the ring refilled with the loudest peak it held, so a talker is not taken for single
   * talk meanwhile.
   */
  resized(slots: number): void {
    let peak = 0;
    for (const v of this.peaks) peak = Math.max(peak, v);
    this.peaks = new Float64Array(slots).fill(peak);
  }

  reset(): void {
    this.peaks.fill(0);
    this.hold = 0;
    this.r = GEIGEL_RATIO;
    this.floorPeak = 0;
    this.far = 0;
    this.input = 0;
    this.output = 0;
    this.subtracted = 0;
  }
}
