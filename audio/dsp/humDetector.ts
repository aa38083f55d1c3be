// Hum detection: the stationary harmonic family (mains hum at 50/60 Hz, or any line family from 16 to
// 950 Hz) a signal holds, found for the hum canceller (humCanceller.ts) and for the station's per-call
// hum reading (stations/pipeline.ts: metrics.audio.hum_ratio counts this family as well as the mains
// ones, so hum off 50/60 Hz is seen).
//
// Every HOP_S, the input is decimated to ~2 kHz by the hum metric's CIC (audio/metrics/spectrum.ts),
// and the last FRAME_S of it is Hann-windowed into a 2x zero-padded spectrum (realFft.ts). Per bin,
// the lower quartile over the last HISTORY spectra keeps what persists and drops the voice, so a line is
// a local peak of that spectrum standing LINE_FACTOR over its neighbourhood's median (the metric's
// lineBand). The lines below MAX_HZ are grouped into one harmonic family: the fundamental explaining the
// most line power (a higher one wins a tie, so a sub-harmonic is not picked for nothing; the one in use
// is kept while it explains as much), refined by least squares over its lines' interpolated
// frequencies, which the notches need to a small part of their width. Only the harmonics seen as lines
// count, and only where the line holds a good share of its band's long-term power (DOMINANCE): under a
// voice's harmonics a notch costs more than the hum it removes.
//
// A detector that is not searching (a canceller switched off) still keeps the spectra (decimation and
// one small FFT every HOP_S, not the line search), so one switched on with a full HISTORY behind it
// reads the quartile spectrum at its next analysis and takes the lines it holds as confirmed (arm):
// the quartile over 2.5 s is the persistence test CONFIRM stands in for on a fresh start.
import { cicKernel, HUM_DECIMATED_RATE_HZ, HUM_LINE_MAX_HZ, hann, lineBand } from '../metrics/spectrum.ts';
import { RealFft } from './realFft.ts';
import { nextPow2 } from './units.ts';

/** Lowest fundamental looked for (the simulator's range starts here), Hz. */
export const MIN_HZ = 16;
/**
 * Highest line, Hz: the top of the decimated spectrum (HUM_LINE_MAX_HZ). Lines over a voice's dense
 * harmonics are kept from a notch by DOMINANCE, not by this cap: with it at 400 Hz the lines of a 201 Hz
 * or 116 Hz family above it stayed and read as noise (eval profiles gen-3-0 station 11, gen-10-11
 * station 1), and the loop switched RNNoise on to take them out.
 */
export const MAX_HZ = HUM_LINE_MAX_HZ;
/** Harmonics of a family counted (and notched), 1 .. MAX_HARMONICS. */
export const MAX_HARMONICS = 8;
/** Analysis frame: 0.5 s gives a ±4 Hz main lobe (as the hum metric's), lines 16 Hz apart resolved. */
const FRAME_S = 0.5;
export const HOP_S = 0.25;
/**
 * Spectra the per-bin lower quartile is taken over (2.5 s), and how many before a first decision
 * (1.5 s): a syllable spans at most 3 of them, so it cannot hold the quartile up alone.
 */
const HISTORY = 9;
const MIN_FRAMES = 5;
/** The input the detector has read when its history is first full (2.5 s): its first verdict on a call. */
export const SETTLE_S = FRAME_S + HOP_S * (HISTORY - 1);
/** A line's band holds this many times the background expected in it (12 dB over). */
const LINE_FACTOR = 16;
/**
 * A line is notched only where it holds at least this share of its band's long-term mean power
 * (speech included): where a voice's harmonics sweep through the band far louder than the line, a notch
 * would cost more than the hum. Measured: a 4 Hz notch at 150 Hz on clean female speech alone took
 * PESQ-WB from 4.64 to 4.15 (and 0.25-16 Hz wide alike: what the notch's band-pass rings on after each
 * passing harmonic is added to the output); the hum lines of the eval's profiles hold 0 to -1.5 dB of
 * their band, a voice-masked harmonic -16 dB, stray lines -8 to -14 dB.
 */
const DOMINANCE = 0.25;
/** Spectra (of HOP_S) the long-term mean spectrum DOMINANCE reads spans: 8 s, past a pause. */
const LONG_FRAMES = 32;
/** Lines closer than this to a stronger one are its skirt or side lobes, Hz. */
const SEPARATION_HZ = 6;
/** A line is a harmonic of f0 when within this of h f0, Hz. */
const MATCH_HZ = 0.6;
/** A candidate fundamental must explain this share of the best one's line power to win or be kept. */
const TIE = 0.98;
/**
 * Analyses (of HOP_S) a family outlives its last sighting, 2 s: a canceller's notch its line, the
 * station's hum reading its fundamental (stations/pipeline.ts).
 */
export const RELEASE_ANALYSES = 8;
/** Consecutive analyses that must see a line before it is notched. */
const CONFIRM = 3;

interface Line {
  hz: number;
  /** Power above the background (spectrum units). */
  power: number;
  /** That power over the background: the weight of its frequency in the fundamental's fit. */
  snr: number;
}

/** A harmonic family found: its fundamental and the harmonic numbers seen as lines. */
export interface HumFamily {
  readonly f0: number;
  readonly harmonics: readonly number[];
}

/** The hum detector of one signal: push its samples one by one, analyze when push says so. */
export class HumDetector {
  // Decimator: the CIC kernel over a ring of the last kernel.length input samples, each written twice
  // (at i and i + length) so the kernel reads the newest length samples without wrapping.
  private readonly factor: number;
  private readonly kernel: Float64Array;
  private readonly ring: Float64Array;
  private ringAt = 0;
  private phase = 0;
  // The last frameLen decimated samples (ring), counts since the start and the last analysis.
  private readonly frameLen: number;
  private readonly hop: number;
  private readonly decimated: Float64Array;
  private decAt = 0;
  private decCount = 0;
  private sinceAnalysis = 0;
  // Analysis: FFT, window, spectra kept (HISTORY x bins), their per-bin quartile.
  private readonly fft: RealFft;
  private readonly window: Float64Array;
  private readonly frame: Float64Array;
  private readonly spectrum: Float64Array;
  private readonly bins: number;
  private readonly binHz: number;
  private readonly history: Float64Array;
  private frames = 0;
  private readonly quartile: Float64Array;
  private readonly longMean: Float64Array;
  private readonly sortBuf = new Float64Array(HISTORY);
  /** Line frequencies of the last CONFIRM - 1 analyses, oldest first. */
  private previous: number[][] = [];
  /** Armed with the spectra of a full history: the next lines need no confirming. */
  private warm = false;
  /** The fundamental of the last family found (0: none yet); kept while it explains as much. */
  f0 = 0;

  constructor(readonly sampleRate: number) {
    if (!(sampleRate >= 4 * MAX_HZ))
      throw new RangeError(`hum detector: sample rate ${sampleRate} Hz below ${4 * MAX_HZ}`);
    this.factor = Math.max(1, Math.floor(sampleRate / HUM_DECIMATED_RATE_HZ));
    this.kernel = cicKernel(this.factor);
    this.ring = new Float64Array(2 * this.kernel.length);
    const rate = sampleRate / this.factor;
    this.frameLen = Math.round(FRAME_S * rate);
    this.hop = Math.round(HOP_S * rate);
    this.decimated = new Float64Array(this.frameLen);
    const size = nextPow2(2 * this.frameLen);
    this.fft = new RealFft(size);
    this.window = hann(this.frameLen);
    this.frame = new Float64Array(size);
    this.spectrum = new Float64Array(size + 2);
    this.binHz = rate / size;
    // Bins up to the highest line, its main lobe and the neighbourhood lineBand reads around it.
    this.bins = Math.min(size / 2, Math.ceil((MAX_HZ + 20) / this.binHz));
    this.history = new Float64Array(HISTORY * (this.bins + 1));
    this.quartile = new Float64Array(this.bins + 1);
    this.longMean = new Float64Array(this.bins + 1);
  }

  /** A full history of spectra (2.5 s) read: a family that persists over it has been found by now. */
  get settled(): boolean {
    return this.frames >= HISTORY;
  }

  /**
   * Starts the confirmations over: the lines of the next analyses are confirmed afresh, or at once
   * with `warm` when a full history of spectra is already kept.
   */
  arm(warm: boolean): void {
    this.previous = [];
    this.warm = warm && this.frames >= HISTORY;
  }

  reset(): void {
    this.ring.fill(0);
    this.ringAt = 0;
    this.phase = 0;
    this.decAt = 0;
    this.decCount = 0;
    this.sinceAnalysis = 0;
    this.frames = 0;
    this.previous = [];
    this.warm = false;
    this.f0 = 0;
  }

  /**
   * The newest spectrum into the history; with `search`, the line search over the kept spectra and the
   * family of the confirmed lines (null: none, or none confirmed yet).
   */
  analyze(search: boolean): HumFamily | null {
    this.spectrumNow(search);
    if (!search) return null;
    const lines = this.lines();
    const family = lines.length > 0 ? this.family(lines) : null;
    if (family !== null) this.f0 = family.f0;
    return family;
  }

  /** One input sample into the decimator; true when an analysis is due. */
  push(x: number): boolean {
    const ring = this.ring;
    const len = this.kernel.length;
    const at = this.ringAt;
    ring[at] = x;
    ring[at + len] = x;
    this.ringAt = at + 1 === len ? 0 : at + 1;
    if (++this.phase < this.factor) return false;
    this.phase = 0;
    // Newest sample first: kernel[t] x[n - t], x[n] at at + len.
    const kernel = this.kernel;
    const newest = at + len;
    let acc = 0;
    for (let t = 0; t < len; t++) acc += (kernel[t] as number) * (ring[newest - t] as number);
    this.decimated[this.decAt] = acc;
    this.decAt = this.decAt + 1 === this.frameLen ? 0 : this.decAt + 1;
    this.decCount++;
    this.sinceAnalysis++;
    if (this.decCount < this.frameLen || this.sinceAnalysis < this.hop) return false;
    this.sinceAnalysis = 0;
    return true;
  }

  /** The newest frame's power spectrum into the history, and the per-bin quartile over the history. */
  private spectrumNow(search: boolean): void {
    const { frame, window, decimated, frameLen, spectrum, bins } = this;
    let mean = 0;
    for (let i = 0; i < frameLen; i++) mean += decimated[i] as number;
    mean /= frameLen;
    // Oldest first: the ring's write position is the oldest sample.
    for (let i = 0, j = this.decAt; i < frameLen; i++, j = j + 1 === frameLen ? 0 : j + 1) {
      frame[i] = ((decimated[j] as number) - mean) * (window[i] as number);
    }
    this.fft.forward(frame, spectrum);
    const slot = (this.frames % HISTORY) * (bins + 1);
    for (let b = 0; b <= bins; b++) {
      this.history[slot + b] = (spectrum[2 * b] as number) ** 2 + (spectrum[2 * b + 1] as number) ** 2;
    }
    this.frames++;
    // The long-term mean: a running mean over the first LONG_FRAMES spectra, then exponential.
    const w = 1 / Math.min(this.frames, LONG_FRAMES);
    for (let b = 0; b <= bins; b++) {
      const v = this.history[slot + b] as number;
      this.longMean[b] = (this.longMean[b] as number) + w * (v - (this.longMean[b] as number));
    }
    // Off, the line search does not run: the quartile is taken once it is back on, from the same history.
    if (!search) return;
    const count = Math.min(this.frames, HISTORY);
    const q = Math.floor((count - 1) / 4);
    const s = this.sortBuf;
    for (let b = 0; b <= bins; b++) {
      // Insertion sort of the few values of one bin.
      for (let f = 0; f < count; f++) {
        const v = this.history[f * (bins + 1) + b] as number;
        let i = f;
        while (i > 0 && (s[i - 1] as number) > v) {
          s[i] = s[i - 1] as number;
          i--;
        }
        s[i] = v;
      }
      this.quartile[b] = s[q] as number;
    }
  }

  /** Stationary lines of the quartile spectrum in [MIN_HZ, MAX_HZ], strongest first, side lobes dropped. */
  private lines(): Line[] {
    if (this.frames < MIN_FRAMES) return [];
    const p = this.quartile;
    const { bins, binHz } = this;
    // Half the Hann main lobe of the frame (not of the zero-padded FFT).
    const halfBand = (2 * this.sampleRate) / this.factor / this.frameLen;
    const found: Line[] = [];
    const lo = Math.max(2, Math.floor((MIN_HZ - 1) / binHz));
    const hi = Math.min(bins - 1, Math.ceil((MAX_HZ + 1) / binHz));
    for (let b = lo; b <= hi; b++) {
      const c = p[b] as number;
      if (!(c > (p[b - 1] as number) && c >= (p[b + 1] as number))) continue;
      // Gaussian interpolation (a parabola through the log powers): the Hann main lobe's shape.
      const l = Math.log(Math.max(p[b - 1] as number, 1e-300));
      const m = Math.log(c);
      const r = Math.log(Math.max(p[b + 1] as number, 1e-300));
      const den = l - 2 * m + r;
      const hz = (b + (den < 0 ? (0.5 * (l - r)) / den : 0)) * binHz;
      if (hz < MIN_HZ || hz > MAX_HZ) continue;
      const band = lineBand(p, bins, binHz, hz, halfBand);
      if (band === null || !(band.band > LINE_FACTOR * band.background)) continue;
      const power = band.band - band.background;
      if (power < DOMINANCE * this.meanBand(hz, halfBand)) continue;
      found.push({ hz, power, snr: band.background > 0 ? power / band.background : 1e6 });
    }
    found.sort((a, b) => b.power - a.power);
    const kept: Line[] = [];
    for (const line of found) {
      if (kept.every((k) => Math.abs(k.hz - line.hz) > SEPARATION_HZ)) kept.push(line);
    }
    // A line counts once the previous CONFIRM - 1 analyses saw it too, where it is now.
    if (this.warm) {
      this.warm = false;
      this.previous = Array.from({ length: CONFIRM - 1 }, () => kept.map((l) => l.hz));
    }
    const ready = this.previous.length === CONFIRM - 1;
    const confirmed = kept.filter((l) =>
      this.previous.every((seen) => seen.some((hz) => Math.abs(hz - l.hz) <= MATCH_HZ)),
    );
    this.previous.push(kept.map((l) => l.hz));
    if (this.previous.length > CONFIRM - 1) this.previous.shift();
    return ready ? confirmed : [];
  }

  /** Band power f ± halfBand of the long-term mean spectrum (bins as lineBand counts them). */
  private meanBand(hz: number, halfBand: number): number {
    const { bins, binHz, longMean } = this;
    let sum = 0;
    const lo = Math.max(1, Math.ceil((hz - halfBand) / binHz));
    const hi = Math.min(bins, Math.floor((hz + halfBand) / binHz));
    for (let b = lo; b <= hi; b++) sum += longMean[b] as number;
    return sum;
  }

  /** Line power a fundamental explains: its lines at harmonics 1 .. MAX_HARMONICS. */
  private explained(f0: number, lines: readonly Line[]): number {
    let sum = 0;
    for (const line of lines) {
      const h = Math.round(line.hz / f0);
      if (h >= 1 && h <= MAX_HARMONICS && Math.abs(line.hz - h * f0) <= MATCH_HZ) sum += line.power;
    }
    return sum;
  }

  /** The harmonic family of the lines: fundamental (refined) and the harmonic numbers seen. */
  private family(lines: readonly Line[]): { f0: number; harmonics: number[] } | null {
    const candidates: [number, number][] = [];
    let best = 0;
    for (const line of lines) {
      for (let h = 1; h <= MAX_HARMONICS && line.hz / h >= MIN_HZ; h++) {
        const e = this.explained(line.hz / h, lines);
        candidates.push([line.hz / h, e]);
        best = Math.max(best, e);
      }
    }
    let f0 = 0;
    for (const [c, e] of candidates) if (e >= TIE * best && c > f0) f0 = c;
    if (this.f0 > 0 && this.explained(this.f0, lines) >= TIE * best) f0 = this.f0;
    if (f0 === 0) return null;
    // Least squares over the lines' frequencies, each weighted by its SNR: f0 = sum(w h p) / sum(w h^2).
    let num = 0;
    let den = 0;
    const harmonics: number[] = [];
    for (const line of lines) {
      const h = Math.round(line.hz / f0);
      if (h < 1 || h > MAX_HARMONICS || Math.abs(line.hz - h * f0) > MATCH_HZ) continue;
      num += line.snr * h * line.hz;
      den += line.snr * h * h;
      harmonics.push(h);
    }
    return den > 0 ? { f0: num / den, harmonics } : null;
  }
}
