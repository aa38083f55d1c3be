// The CPU baselines: the least work that still touches every sample the way the pipeline does.

/** One RBJ high-pass biquad section (transposed direct form II), state kept between frames. */
export class Biquad {
  private b0: number;
  private b1: number;
  private b2: number;
  private a1: number;
  private a2: number;
  private s1 = 0;
  private s2 = 0;

  constructor(sampleRate: number, cutoffHz = 80, q = Math.SQRT1_2) {
    const w0 = (2 * Math.PI * cutoffHz) / sampleRate;
    const cw = Math.cos(w0);
    const alpha = Math.sin(w0) / (2 * q);
    const a0 = 1 + alpha;
    this.b0 = (1 + cw) / 2 / a0;
    this.b1 = -(1 + cw) / a0;
    this.b2 = (1 + cw) / 2 / a0;
    this.a1 = (-2 * cw) / a0;
    this.a2 = (1 - alpha) / a0;
  }

  process(buf: Float32Array): void {
    const { b0, b1, b2, a1, a2 } = this;
    let s1 = this.s1;
    let s2 = this.s2;
    for (let i = 0; i < buf.length; i++) {
      const x = buf[i]!;
      const y = b0 * x + s1;
      s1 = b1 * x - a1 * y + s2;
      s2 = b2 * x - a2 * y;
      buf[i] = y;
    }
    this.s1 = s1;
    this.s2 = s2;
  }
}

/** The chain's own framing (a copy of each frame, processed in place) with one biquad as the work. */
export function biquadFrames(samples: Float32Array, sampleRate: number, frame: number): number {
  const bq = new Biquad(sampleRate);
  let acc = 0;
  for (let i = 0; i + frame <= samples.length; i += frame) {
    const buf = new Float32Array(samples.subarray(i, i + frame));
    bq.process(buf);
    acc += buf[0]!;
  }
  return acc;
}

/** A plain loop over the samples: sum of squares, the RMS in dBFS. */
export function plainRms(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return 10 * Math.log10(s / Math.max(1, x.length) + 1e-20);
}
