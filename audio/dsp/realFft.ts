// Real-signal FFT pair on top of fft.js. fft.js has a fast real forward transform but only a complex
// inverse, which for a real signal does twice the work needed. The inverse here packs the Hermitian
// half spectrum into a half-size complex spectrum (even samples in the real part, odd in the imaginary)
// and runs one N/2-point complex inverse: the standard "two-for-one" real IFFT.
import FFT from 'fft.js';

export class RealFft {
  readonly size: number;
  private readonly full: FFT;
  private readonly half: FFT;
  private readonly packed: Float64Array;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;

  constructor(size: number) {
    if (size < 4 || (size & (size - 1)) !== 0)
      throw new RangeError(`FFT size ${size} must be a power of two >= 4`);
    this.size = size;
    this.full = new FFT(size);
    this.half = new FFT(size / 2);
    this.packed = new Float64Array(size);
    this.cos = new Float64Array(size / 2);
    this.sin = new Float64Array(size / 2);
    for (let k = 0; k < size / 2; k++) {
      this.cos[k] = Math.cos((2 * Math.PI * k) / size);
      this.sin[k] = Math.sin((2 * Math.PI * k) / size);
    }
  }

  /** Forward transform of `input` (size samples) into `spectrum` (interleaved re/im, at least 2 x size long; bins 0..size/2 valid). */
  forward(input: Float64Array, spectrum: Float64Array): void {
    this.full.realTransform(spectrum, input);
  }

  /** Inverse of a Hermitian spectrum given by its bins 0..size/2 (interleaved re/im) into `output` (size samples, scaled by 1/size). */
  inverse(spectrum: Float64Array, output: Float64Array): void {
    const m = this.size / 2;
    const z = this.packed;
    const c = this.cos;
    const s = this.sin;
    for (let k = 0; k < m; k++) {
      const ar = spectrum[2 * k] as number;
      const ai = spectrum[2 * k + 1] as number;
      const br = spectrum[2 * (m - k)] as number;
      const bi = -(spectrum[2 * (m - k) + 1] as number);
      // E = (X[k] + conj X[m-k]) / 2,  O = (X[k] - conj X[m-k]) e^{+j 2 pi k / N} / 2,  Z = E + j O.
      const er = 0.5 * (ar + br);
      const ei = 0.5 * (ai + bi);
      const dr = 0.5 * (ar - br);
      const di = 0.5 * (ai - bi);
      const cr = c[k] as number;
      const ci = s[k] as number;
      const or = dr * cr - di * ci;
      const oi = dr * ci + di * cr;
      z[2 * k] = er - oi;
      z[2 * k + 1] = ei + or;
    }
    // The half-size complex result, interleaved re/im, is the real signal in order: x[2n], x[2n+1].
    this.half.inverseTransform(output, z);
  }
}
