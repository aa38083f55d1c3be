// Noise-floor estimate for frame-based level detectors (AGC, VAD): the minimum frame power over the
// last ~1.5 s. Speech pauses are shorter than that, so the minimum lands in a pause and reads the line
// noise; it drops at once when the noise drops and catches up within the window when it rises.

const WINDOW_S = 1.5;

export class NoiseFloor {
  private readonly ring: Float64Array;
  private pos = 0;
  private filled = 0;
  private min = Number.POSITIVE_INFINITY;

  /** `windowS`: how far back the minimum looks (1.5 s unless a caller needs a longer memory). */
  constructor(frameMs: number, windowS = WINDOW_S) {
    this.ring = new Float64Array(Math.max(1, Math.round((windowS * 1000) / frameMs)));
  }

  /** Adds one frame's mean-square power and returns the floor (mean-square power) including it. */
  push(power: number): number {
    const ring = this.ring;
    const leaving = ring[this.pos] as number;
    ring[this.pos] = power;
    this.pos = (this.pos + 1) % ring.length;
    if (this.filled < ring.length) this.filled++;
    if (power <= this.min) this.min = power;
    else if (leaving === this.min && this.filled === ring.length) {
      // The minimum just left the window: rescan (about 150 values, once in a while).
      let m = Number.POSITIVE_INFINITY;
      for (let i = 0; i < ring.length; i++) if ((ring[i] as number) < m) m = ring[i] as number;
      this.min = m;
    }
    return this.min;
  }

  value(): number {
    return this.min;
  }

  /** Whether a whole window of frames has been pushed since the start or the last reset. */
  full(): boolean {
    return this.filled === this.ring.length;
  }

  reset(): void {
    this.ring.fill(0);
    this.pos = 0;
    this.filled = 0;
    this.min = Number.POSITIVE_INFINITY;
  }
}
