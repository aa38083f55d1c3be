// Real-signal FFT pair on top of fft.js, both directions at half size (the standard "two-for-one" real
// FFT): a real N-point signal read as N/2 complex samples (even samples real, odd imaginary) takes one
// N/2-point complex FFT, and the spectrum is split into the even and odd halves' spectra and recombined
// with one twiddle per bin; the inverse packs the Hermitian half spectrum the same way. fft.js's own
// real forward transform runs at full size and fills the mirrored half nobody here reads.
import FFT from 'fft.js';

export class RealFft {
  readonly size: number;
  private readonly half: FFT;
  private readonly packed: Float64Array;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;

  constructor(size: number) {
    if (size < 4 || (size & (size - 1)) !== 0)
      throw new RangeError(`FFT size ${size} must be a power of two >= 4`);
    this.size = size;
    this.half = new FFT(size / 2);
    this.packed = new Float64Array(size);
    this.cos = new Float64Array(size / 2);
    this.sin = new Float64Array(size / 2);
    for (let k = 0; k < size / 2; k++) {
      this.cos[k] = Math.cos((2 * Math.PI * k) / size);
      this.sin[k] = Math.sin((2 * Math.PI * k) / size);
    }
  }

  /** Forward transform of `input` (size samples) into `spectrum`: bins 0..size/2, interleaved re/im (size + 2 values). */
  forward(input: Float64Array, spectrum: Float64Array): void {
    const m = this.size / 2;
    const z = this.packed;
    // Interleaved re/im is exactly the real signal's memory layout: no packing copy.
    this.half.transform(z, input);
    const c = this.cos;
    const s = this.sin;
    const z0r = z[0] as number;
    const z0i = z[1] as number;
    spectrum[0] = z0r + z0i;
    spectrum[1] = 0;
    spectrum[2 * m] = z0r - z0i;
    spectrum[2 * m + 1] = 0;
    for (let k = 1; k < m; k++) {
      const a = z[2 * k] as number;
      const b = z[2 * k + 1] as number;
      const cr = z[2 * (m - k)] as number;
      const d = z[2 * (m - k) + 1] as number;
      // E = (Z[k] + conj Z[m-k]) / 2, O = (Z[k] - conj Z[m-k]) / 2j, X[k] = E + e^{-j 2 pi k / N} O.
      const er = 0.5 * (a + cr);
      const ei = 0.5 * (b - d);
      const or = 0.5 * (b + d);
      const oi = -0.5 * (a - cr);
      const wr = c[k] as number;
      const wi = s[k] as number;
      spectrum[2 * k] = er + wr * or + wi * oi;
      spectrum[2 * k + 1] = ei + wr * oi - wi * or;
    }
  }

  /** Inverse of a Hermitian spectrum given by its bins 0..size/2 (interleaved re/im) into `output` (size samples, scaled by 1/size). */
  inverse(spectrum: Float64Array, output: Float64Array): void {
    const m = this.size / 2;
    const z = this.packed;
    const c = this.cos;
    const s = this.sin;
    // Packed as conj(Z) / m, whose forward transform is conj(x): no inverse pass, whose 1 / m is a
    // division per sample in fft.js; the conjugate is undone on the odd samples below.
    const h = 0.5 / m;
    for (let k = 0; k < m; k++) {
      const ar = spectrum[2 * k] as number;
      const ai = spectrum[2 * k + 1] as number;
      const br = spectrum[2 * (m - k)] as number;
      const bi = -(spectrum[2 * (m - k) + 1] as number);
      // E = (X[k] + conj X[m-k]) / 2,  O = (X[k] - conj X[m-k]) e^{+j 2 pi k / N} / 2,  Z = E + j O.
      const er = h * (ar + br);
      const ei = h * (ai + bi);
      const dr = h * (ar - br);
      const di = h * (ai - bi);
      const cr = c[k] as number;
      const ci = s[k] as number;
      const or = dr * cr - di * ci;
      const oi = dr * ci + di * cr;
      z[2 * k] = er - oi;
      z[2 * k + 1] = -(ei + or);
    }
    // The half-size complex result, interleaved re/im, is the real signal in order: x[2n], x[2n+1].
    this.half.transform(output, z);
    for (let i = 1; i < this.size; i += 2) output[i] = -(output[i] as number);
  }
}
