// Packet-loss concealment by pitch-period waveform substitution, after ITU-T G.711 Appendix I: a lost
// frame is filled by repeating the last pitch period of the played history; the output is held for
// 10 ms, then faded linearly to silence at 60 ms (G.711 App. I attenuates 20% per 10 ms), because
// repeating one period for longer turns into an audible buzz.
//
// Clicks are avoided at the three joins: (1) into the erasure, the first quarter period of the
// repeated cycle is offset so it starts where a linear extrapolation of the last played samples points;
// since the cycle's last sample is the last played sample, the same correction also smooths every
// wrap of the cycle; (2) across the fade, the gain is continuous; (3) out of the erasure, the first
// 4 ms of the next real frame are crossfaded from the continued substitute.
//
// Unlike G.711 App. I this adds no delay (it does not overlap-add the history before the loss), at the
// price of relying on the extrapolation for the first join.

const HISTORY_MS = 60;
const CORR_WINDOW_MS = 20;
const MIN_PITCH_HZ = 60;
const MAX_PITCH_HZ = 400;
const HOLD_MS = 10;
const MUTE_MS = 60;
const CROSSFADE_MS = 4;
// Below this normalized correlation the history is not periodic (unvoiced, noise): repeat a long
// stretch instead of a short, buzzy one.
const VOICED_CORRELATION = 0.3;

export class PacketLossConcealer {
  private readonly hist: Float64Array;
  private readonly cycle: Float64Array;
  private readonly minLag: number;
  private readonly maxLag: number;
  private readonly window: number;
  private readonly hold: number;
  private readonly mute: number;
  private readonly crossfade: number;
  private filled = 0;
  private lost = 0;
  private period = 0;
  private phase = 0;

  constructor(sampleRate: number) {
    this.hist = new Float64Array(Math.round((HISTORY_MS / 1000) * sampleRate));
    this.minLag = Math.round(sampleRate / MAX_PITCH_HZ);
    this.maxLag = Math.round(sampleRate / MIN_PITCH_HZ);
    this.window = Math.min(Math.round((CORR_WINDOW_MS / 1000) * sampleRate), this.hist.length - this.maxLag);
    this.cycle = new Float64Array(this.maxLag);
    this.hold = Math.round((HOLD_MS / 1000) * sampleRate);
    this.mute = Math.round((MUTE_MS / 1000) * sampleRate);
    this.crossfade = Math.round((CROSSFADE_MS / 1000) * sampleRate);
  }

  /** Samples concealed in the current erasure (0 when the last frame was real). */
  lostSamples(): number {
    return this.lost;
  }

  /** A frame that arrived: copied to `out`, faded in from the substitute if it ends an erasure. */
  good(frame: Float32Array, out: Float32Array): void {
    if (this.lost > 0 && this.period > 0) {
      const m = Math.min(frame.length, this.crossfade);
      for (let i = 0; i < frame.length; i++) {
        const x = frame[i] as number;
        if (i < m) {
          const w = (i + 1) / (m + 1);
          out[i] = w * x + (1 - w) * this.next(this.lost + i);
        } else out[i] = x;
      }
    } else out.set(frame);
    this.lost = 0;
    this.remember(out);
  }

  /** Fills `out` for a frame that did not arrive (or arrived too late). */
  conceal(out: Float32Array): void {
    if (this.lost === 0) this.startErasure();
    if (this.period === 0) out.fill(0);
    else for (let i = 0; i < out.length; i++) out[i] = this.next(this.lost + i);
    this.lost += out.length;
    this.remember(out);
  }

  reset(): void {
    this.hist.fill(0);
    this.filled = 0;
    this.lost = 0;
    this.period = 0;
    this.phase = 0;
  }

  private next(lostSoFar: number): number {
    const s = this.cycle[this.phase] as number;
    this.phase = this.phase + 1 === this.period ? 0 : this.phase + 1;
    let g = 1;
    if (lostSoFar >= this.mute) g = 0;
    else if (lostSoFar > this.hold) g = 1 - (lostSoFar - this.hold) / (this.mute - this.hold);
    return s * g;
  }

  private remember(frame: Float32Array): void {
    const h = this.hist;
    const n = Math.min(frame.length, h.length);
    h.copyWithin(0, n);
    for (let i = 0; i < n; i++) h[h.length - n + i] = frame[frame.length - n + i] as number;
    this.filled = Math.min(h.length, this.filled + frame.length);
  }

  private startErasure(): void {
    const h = this.hist;
    const H = h.length;
    if (this.filled < this.window + this.maxLag) {
      // Not enough history to find a period (loss at the start of the stream): play silence.
      this.period = 0;
      return;
    }
    const W = this.window;
    let best = this.maxLag;
    let bestCorr = -1;
    let e0 = 0;
    for (let n = H - W; n < H; n++) e0 += (h[n] as number) ** 2;
    for (let lag = this.minLag; lag <= this.maxLag; lag++) {
      let xy = 0;
      let e1 = 0;
      for (let n = H - W; n < H; n++) {
        const a = h[n - lag] as number;
        xy += (h[n] as number) * a;
        e1 += a * a;
      }
      const c = xy / Math.sqrt(e0 * e1 + 1e-30);
      if (c > bestCorr) {
        bestCorr = c;
        best = lag;
      }
    }
    const T = bestCorr >= VOICED_CORRELATION ? best : this.maxLag;
    const cycle = this.cycle;
    for (let i = 0; i < T; i++) cycle[i] = h[H - T + i] as number;
    // Start the cycle where the last two played samples point, easing into it over a quarter period.
    const q = Math.max(1, Math.floor(T / 4));
    const d = 2 * (h[H - 1] as number) - (h[H - 2] as number) - (cycle[0] as number);
    for (let i = 0; i < q; i++) cycle[i] = (cycle[i] as number) + d * (1 - i / q);
    this.period = T;
    this.phase = 0;
  }
}
