// The echo canceller's bulk delay: where the echo path starts, found in the signals themselves, so the
// adaptive filter's window (the tail) is placed on the echo instead of always starting at zero delay. An
// echo 285 ms behind the far end (a network leg, a jitter buffer, a long acoustic path) is out of reach of
// a 64 ms tail that starts at zero, and the tail's own ceiling (256 ms) never reaches it; placed at the
// echo, 64 ms covers its whole dispersion. WebRTC's AEC3 does the same with its render delay buffer and
// delay estimator; Speex's MDF, and this canceller until 2026-12-05, did not (generated profiles: 42 of 96
// echo-canceller stations carry echo, delays 0-300 ms; the tail rule grows the tail 32 ms a step).
//
// The estimate is the residual-echo metric's own detector (audio/metrics/residualEcho.ts: both signals
// whitened by one predictor fitted to the far end, cross-correlated at lags up to 700 ms, a path window
// that must stand SIGNIFICANCE times above chance) run on the canceller's input rather than the station's
// output: the echo is all there, so the strongest tap is the echo path's. A reading costs about 8 ms (3 s
// of both signals at 8 kHz), about as much as a second of the canceller itself at a 64 ms tail, so it is
// taken only while the canceller has no working model, every READ_EVERY_MS, every SLOW_READ_MS once
// IDLE_READS readings in a row found nothing to move to, and READ_MS after one that did (to confirm
// it). The window moves only when two readings in a row agree
// that the echo's strongest tap lies outside the window, and the canceller has no working model: an echo
// whose peak the tail reaches from zero delay changes nothing (its dispersion past the tail is the tail
// rule's, optimizer/core/echo.ts), so the canceller works as it did wherever the tail reached. A move
// starts the canceller's search over, so a model that cancels is never thrown away for one.
import { ResidualEcho } from '../metrics/residualEcho.ts';

/** Audio the detector takes in at a time, ms, and between a reading that found an echo and the next. */
const READ_MS = 500;
/** Audio between two readings otherwise, ms... */
const READ_EVERY_MS = 1000;
/** ...and once this many readings in a row found nothing to move to. */
const IDLE_READS = 4;
const SLOW_READ_MS = 2000;
/**
 * The window starts this far before the echo's strongest tap (an echo path's energy before its peak), or
 * a quarter of the tail if that is less, so the peak stays well inside a short tail after the start is
 * rounded down to a whole block.
 */
const PRE_MS = 10;
/** The strongest tap is within reach when it sits this far inside the window's end (one block). */
const REACH_MS = 8;
/** An echo this far under the input (its share of the input's energy, dB) is not worth a move. */
const ACT_DB = -30;
/** Two readings agree when their delays are this close, ms. */
const AGREE_MS = 16;

export class EchoDelay {
  /** The far end's history, as a ring: the newest sample at `w - 1`. */
  private readonly hist: Float32Array;
  private w = 0;
  private delay = 0;
  private readonly block: number;
  private readonly sampleRate: number;
  private readonly meter: ResidualEcho;
  private readonly pendingFar: Float32Array;
  private readonly pendingMic: Float32Array;
  private pending = 0;
  private candidateMs: number | null = null;
  private sinceRead = 0;
  private idle = 0;

  /** `block`: the canceller's block, in samples; the window moves by whole blocks. */
  constructor(sampleRate: number, block: number, maxMs = 700) {
    this.sampleRate = sampleRate;
    this.block = block;
    this.hist = new Float32Array(Math.ceil((maxMs / 1000) * sampleRate) + block);
    this.meter = new ResidualEcho(sampleRate);
    const n = Math.round((READ_MS / 1000) * sampleRate);
    this.pendingFar = new Float32Array(n);
    this.pendingMic = new Float32Array(n);
  }

  /** The window's start: how far the far end is held back before the adaptive filter sees it, samples. */
  get delaySamples(): number {
    return this.delay;
  }

  get delayMs(): number {
    return (1000 * this.delay) / this.sampleRate;
  }

  /**
   * Takes one frame of the far end and the canceller's input (the same length and time); writes the far
   * end held back by the current delay into `out`. Returns true when the delay changed with this frame
   * (the canceller's model, of the old window, is then of no use).
   */
  process(
    far: Float32Array,
    mic: Float32Array,
    tailMs: number,
    /** The canceller has a model that removes echo: the window stays where it is. */
    working: boolean,
    out: Float32Array,
  ): boolean {
    const h = this.hist;
    const L = h.length;
    for (let i = 0; i < far.length; i++) {
      h[this.w] = far[i] as number;
      this.w = this.w + 1 === L ? 0 : this.w + 1;
      let r = this.w - 1 - this.delay;
      if (r < 0) r += L;
      out[i] = h[r] as number;
    }
    let moved = false;
    for (let i = 0; i < far.length; ) {
      const m = Math.min(far.length - i, this.pendingFar.length - this.pending);
      this.pendingFar.set(far.subarray(i, i + m), this.pending);
      this.pendingMic.set(mic.subarray(i, i + m), this.pending);
      this.pending += m;
      i += m;
      if (this.pending === this.pendingFar.length) {
        this.meter.push(this.pendingFar, this.pendingMic);
        this.pending = 0;
        this.sinceRead += READ_MS;
        moved = this.reconsider(tailMs, working) || moved;
      }
    }
    return moved;
  }

  /** One reading of the echo's delay; moves the window when two in a row place the echo outside it. */
  private reconsider(tailMs: number, working: boolean): boolean {
    if (working) {
      this.candidateMs = null;
      return false;
    }
    const every =
      this.candidateMs !== null ? READ_MS : this.idle >= IDLE_READS ? SLOW_READ_MS : READ_EVERY_MS;
    if (this.sinceRead < every) return false;
    this.sinceRead = 0;
    const r = this.meter.read();
    const at = r !== null && r.delayMs !== null && r.residualDb > ACT_DB ? r.delayMs : null;
    const start = this.delayMs;
    if (at === null || (at >= start && at <= start + tailMs - REACH_MS)) {
      // A reading (not the detector waiting for enough audio or a far end) with nothing to move to.
      if (r !== null) this.idle++;
      this.candidateMs = null;
      return false;
    }
    this.idle = 0;
    const agreed = this.candidateMs !== null && Math.abs(this.candidateMs - at) <= AGREE_MS;
    this.candidateMs = at;
    if (!agreed) return false;
    // From zero where the tail reaches the peak from there (the canceller as it always was), else a whole
    // number of blocks before the echo's strongest tap.
    const wantMs = at <= tailMs - REACH_MS ? 0 : Math.max(0, at - Math.min(PRE_MS, tailMs / 4));
    const blocks = Math.floor(((wantMs / 1000) * this.sampleRate) / this.block);
    const next = Math.min(blocks * this.block, this.hist.length - this.block);
    this.candidateMs = null;
    if (next === this.delay) return false;
    this.delay = next;
    return true;
  }

  reset(): void {
    this.hist.fill(0);
    this.w = 0;
    this.delay = 0;
    this.meter.reset();
    this.pending = 0;
    this.candidateMs = null;
    this.sinceRead = 0;
    this.idle = 0;
  }
}
