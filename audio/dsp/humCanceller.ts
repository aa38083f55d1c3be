// Hum canceller: narrow notches at the hum's fundamental and its harmonics, found in the input itself.
// The high-pass alone leaves the harmonics at 100-300 Hz, and a noise suppressor that takes them out
// damages the speech around them; a notch a few hertz wide takes a stationary line out and leaves the
// voice, whose harmonics glide, all but untouched.
//
// Detection (every HOP_S, from the input, never from the output) is humDetector.ts's: the harmonic
// family of the stationary lines from 16 to 950 Hz, each confirmed over CONFIRM analyses. Only the
// harmonics seen as lines are notched. A notch whose line has not been seen for RELEASE_ANALYSES
// analyses fades out.
//
// Notches: topology-preserving-transform state-variable filters (as highpass.ts), out = x - m k bp,
// with k = bandwidth / frequency (a constant NOTCH_BANDWIDTH_HZ at -3 dB) and a depth m. A new notch
// starts from rest with m gliding 0 -> 1 over FADE_MS, a dropped one glides back to 0, and a moved
// fundamental glides the notches' coefficients over GLIDE_MS on the same filter state: no step, no
// click. Zero latency (IIR, causal). With no notch in use (no hum found, or disabled and faded out)
// the block does not touch the samples: the output is the input, bit for bit.
//
// While the block is disabled its detector keeps the spectra, not the line search, so a canceller
// switched on with a full history behind it takes the lines the kept spectra hold as confirmed: it
// notches within HOP_S instead of 2 s later, and the online loop judges a switch on the segments right
// after it.
import { HumDetector, MAX_HARMONICS, RELEASE_ANALYSES } from './humDetector.ts';
import { Notch } from './notch.ts';
import type { AudioBlock } from './types.ts';

export interface HumCancellerSettings {
  enabled: boolean;
}

/** -3 dB width of each notch, Hz. */
const NOTCH_BANDWIDTH_HZ = 4;
const FADE_MS = 50;
const GLIDE_MS = 50;

export class HumCanceller implements AudioBlock {
  readonly latency = 0;
  private enabled = false;
  private readonly notches: Notch[];
  private readonly detector: HumDetector;
  private scratch = new Float64Array(0);

  constructor(
    readonly sampleRate: number,
    settings: HumCancellerSettings,
  ) {
    this.detector = new HumDetector(sampleRate);
    const fade = Math.max(1, Math.round((FADE_MS / 1000) * sampleRate));
    const glide = Math.max(1, Math.round((GLIDE_MS / 1000) * sampleRate));
    this.notches = Array.from(
      { length: MAX_HARMONICS },
      () => new Notch(sampleRate, NOTCH_BANDWIDTH_HZ, fade, glide),
    );
    this.update(settings);
  }

  update(settings: HumCancellerSettings): void {
    if (settings.enabled === this.enabled) return;
    this.enabled = settings.enabled;
    // Off: the notches fade out. On: the next analysis notches the lines the kept spectra hold.
    if (!settings.enabled) for (const n of this.notches) n.release();
    this.detector.arm(settings.enabled);
  }

  /** The fundamental the notches sit on, Hz (0: none). */
  fundamentalHz(): number {
    return this.notches.some((n) => n.h > 0 && !n.releasing()) ? this.detector.f0 : 0;
  }

  /** Frequencies of the notches in use (not fading out), ascending, Hz. */
  notchHz(): number[] {
    return this.notches
      .filter((n) => n.h > 0 && !n.releasing())
      .map((n) => n.hz)
      .sort((a, b) => a - b);
  }

  process(buf: Float32Array): void {
    let from = 0;
    for (let i = 0; i < buf.length; i++) {
      if (this.detector.push(buf[i] as number)) {
        this.filter(buf, from, i + 1);
        from = i + 1;
        this.analyze();
      }
    }
    this.filter(buf, from, buf.length);
  }

  reset(): void {
    for (const n of this.notches) n.h = 0;
    this.detector.reset();
  }

  /** The notches in use over buf[from, to), in float64; untouched when there are none. */
  private filter(buf: Float32Array, from: number, to: number): void {
    if (to <= from || !this.notches.some((n) => n.h > 0)) return;
    const len = to - from;
    if (this.scratch.length < len) this.scratch = new Float64Array(len);
    const x = this.scratch;
    for (let i = 0; i < len; i++) x[i] = buf[from + i] as number;
    for (const n of this.notches) if (n.h > 0) n.run(x, 0, len);
    for (let i = 0; i < len; i++) buf[from + i] = x[i] as number;
  }

  private analyze(): void {
    const family = this.detector.analyze(this.enabled);
    if (!this.enabled) return;
    const f0 = this.detector.f0;
    const seen = new Set<number>(family?.harmonics ?? []);
    for (const n of this.notches) {
      if (n.h === 0) continue;
      if (seen.has(n.h)) {
        // Seen again: stays, or comes back if it was fading out.
        n.retune(n.h * f0);
        seen.delete(n.h);
      } else if (n.releasing()) continue;
      else if (++n.missed >= RELEASE_ANALYSES) n.release();
      else if (family !== null) n.retune(n.h * f0);
    }
    for (const h of seen) {
      const idle = this.notches.find((n) => n.h === 0);
      if (idle === undefined) break;
      idle.start(h, h * f0);
    }
  }
}
