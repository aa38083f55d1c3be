// The echo canceller's bulk delay: where the echo path starts, found in the signals themselves, so the
// adaptive filter's window (the tail) is placed on the echo instead of always starting at zero delay. An
// echo 285 ms behind the far end (a network leg, a jitter buffer, a long acoustic path) is out of reach of
// a 64 ms tail that starts at zero, and the tail's own ceiling (256 ms) never reaches it; placed at the
// echo, 64 ms covers its whole dispersion. WebRTC's AEC3 does the same with its render delay buffer and
// delay estimator; Speex's MDF, and this canceller until 2026-12-05, did not (generated profiles: 42 of 96
// echo-canceller stations carry echo, delays 0-300 ms; the tail rule grows the tail 32 ms a step).
//
// The readings are the residual-echo metric's (audio/metrics/residualEcho.ts: both signals whitened by one
// predictor fitted to the far end, cross-correlated at lags up to 700 ms, a path window that must stand
// SIGNIFICANCE times above chance). In a station (stations/pipeline.ts) they are the station's own
// `residual_echo_db` reading of its output, once a segment (observe), which it takes anyway: the echo
// the canceller leaves is all there, at the delay the canceller sees. A canceller on its own (the echo
// bench, a test) runs the detector on its input instead, until a reading is given to it: a reading costs
// about 8 ms (3 s of both signals at 8 kHz), about as much as a second of the canceller itself at a 64
// ms tail, so it is taken only while the canceller has no working model (the detector is not even fed
// then), every READ_EVERY_MS, less often the longer readings in a row find nothing to move to
// (IDLE_READS), and READ_MS after one that did (to confirm it); wideband input reaches it decimated to 8
// kHz by averaging (the same filter on both signals keeps the echo path between them).
//
// The window moves when a station reading (or two of the own detector's in a row, half a second apart,
// which then agree) places the echo's strongest tap outside it, and the canceller has no working model: an echo whose peak the tail reaches from zero delay changes
// nothing (its dispersion past the tail is the tail rule's, optimizer/core/echo.ts), so the canceller
// works as it did wherever the tail reached. A move starts the canceller's search over, so a model that
// cancels is never thrown away for one.
import { ResidualEcho } from '../metrics/residualEcho.ts';

/** Audio the detector takes in at a time, ms, and between a reading that found an echo and the next. */
const READ_MS = 500;
/** Audio between two readings otherwise, ms, by how many readings in a row found nothing to move to. */
const READ_EVERY_MS = 1000;
const IDLE_READS: readonly { after: number; ms: number }[] = [
  { after: 12, ms: 4000 },
  { after: 4, ms: 2000 },
];
/** The rate the detector runs at where the input's is a multiple of it. */
const DETECT_RATE = 8000;
/**
 * The window starts this far before the echo's strongest tap (an echo path's energy before its peak), or
 * a quarter of the tail if that is less, so the peak stays well inside a short tail after the start is
 * rounded down to a whole block.
 */
const PRE_MS = 10;
/** The strongest tap is within reach when it sits this far inside the window's end (one block). */
const REACH_MS = 8;
/** An echo this far under the signal read (its share of that signal's energy, dB) is not worth a move. */
const ACT_DB = -30;
/** Two readings agree when their delays are this close, ms. */
const AGREE_MS = 16;

/** A reading of the echo: its share of the signal read (dB) and its strongest tap's delay (ms), if any. */
export interface EchoSeen {
  readonly residualDb: number;
  readonly delayMs: number | null;
}

export class EchoDelay {
  /** The far end's history, as a ring: the newest sample at `w - 1`. */
  private readonly hist: Float32Array;
  private w = 0;
  private delay = 0;
  private readonly block: number;
  private readonly sampleRate: number;
  /** The own detector and what it takes in: none where readings only come from outside. */
  private readonly meter: ResidualEcho | undefined;
  private readonly pendingFar: Float32Array;
  private readonly pendingMic: Float32Array;
  private pending = 0;
  private candidateMs: number | null = null;
  private sinceRead = 0;
  private idle = 0;
  // Decimation by averaging `factor` samples: the running sums and how many they hold.
  private readonly factor: number;
  private sumFar = 0;
  private sumMic = 0;
  private phase = 0;
  /** The detector holds audio (it is cleared while the canceller works). */
  private fed = false;
  /** Readings come from outside (observe): the own detector is not run. */
  private external = false;
  /** The own detector's last reading, until taken (takeReading). */
  private seen: EchoSeen | null = null;

  /**
   * `block`: the canceller's block, in samples (the window moves by whole blocks); `detect`: run the own
   * detector until a reading comes from outside (observe), or (false) never.
   */
  constructor(sampleRate: number, block: number, detect = true, maxMs = 700) {
    this.sampleRate = sampleRate;
    this.block = block;
    this.hist = new Float32Array(Math.ceil((maxMs / 1000) * sampleRate) + block);
    this.factor = sampleRate > DETECT_RATE && sampleRate % DETECT_RATE === 0 ? sampleRate / DETECT_RATE : 1;
    const rate = sampleRate / this.factor;
    this.meter = detect ? new ResidualEcho(rate) : undefined;
    const n = detect ? Math.round((READ_MS / 1000) * rate) : 0;
    this.pendingFar = new Float32Array(n);
    this.pendingMic = new Float32Array(n);
  }

  /** The window's start: how far the far end is held back before the adaptive filter sees it, ms. */
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
    const meter = this.meter;
    if (working || this.external || meter === undefined) {
      if (this.fed || this.pending > 0 || this.phase > 0) this.clearDetector();
      return false;
    }
    let moved = false;
    const f = this.factor;
    for (let i = 0; i < far.length; i++) {
      this.sumFar += far[i] as number;
      this.sumMic += mic[i] as number;
      if (++this.phase < f) continue;
      this.pendingFar[this.pending] = this.sumFar / f;
      this.pendingMic[this.pending] = this.sumMic / f;
      this.sumFar = 0;
      this.sumMic = 0;
      this.phase = 0;
      if (++this.pending < this.pendingFar.length) continue;
      meter.push(this.pendingFar, this.pendingMic);
      this.fed = true;
      this.pending = 0;
      this.sinceRead += READ_MS;
      moved = this.reconsider(meter, tailMs) || moved;
    }
    return moved;
  }

  /**
   * A reading from outside (the station's residual-echo metric), its delay as the canceller's input has
   * it: from then on the canceller's own detector is not run. Returns true when the window moved.
   */
  observe(seen: EchoSeen | null, tailMs: number, working: boolean): boolean {
    this.external = true;
    if (working) {
      this.candidateMs = null;
      return false;
    }
    return this.decide(seen, tailMs, false);
  }

  /** The own detector's reading, when one is due. */
  private reconsider(meter: ResidualEcho, tailMs: number): boolean {
    const every =
      this.candidateMs !== null
        ? READ_MS
        : (IDLE_READS.find((x) => this.idle >= x.after)?.ms ?? READ_EVERY_MS);
    if (this.sinceRead < every) return false;
    this.sinceRead = 0;
    const r = meter.read();
    if (r !== null) this.seen = r;
    return this.decide(r, tailMs, true);
  }

  /** The own detector's newest reading of the canceller's input since the last call, if any. */
  takeReading(): EchoSeen | null {
    const r = this.seen;
    this.seen = null;
    return r;
  }

  /** Moves the window when this reading (`confirm`: and the one before it) places the echo's peak outside it. */
  private decide(r: EchoSeen | null, tailMs: number, confirm: boolean): boolean {
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
    if (confirm && !agreed) return false;
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

  /** The detector's audio and readings, gone (a new call, or a canceller that works and needs none). */
  private clearDetector(): void {
    this.meter?.reset();
    this.fed = false;
    this.pending = 0;
    this.sumFar = 0;
    this.sumMic = 0;
    this.phase = 0;
    this.candidateMs = null;
    this.sinceRead = 0;
    this.idle = 0;
    this.seen = null;
  }

  reset(): void {
    this.hist.fill(0);
    this.w = 0;
    this.delay = 0;
    this.external = false;
    this.clearDetector();
  }
}
