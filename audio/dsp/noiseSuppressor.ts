// Spectral noise suppressor (streaming STFT; real FFT in single precision by PFFFT in wasm: pffft.ts).
//
// Analysis/synthesis: sine (square-root Hann) windows at 50% overlap, whose product overlap-adds to
// exactly 1, so with suppression off the block is a pure delay. The frame is ~32 ms (512 points at
// 16 kHz), the usual speech-enhancement compromise between resolving pitch harmonics and smearing onsets.
//
// Noise estimate: the speech-presence-probability tracker of Gerkmann & Hendriks ("Unbiased MMSE-based
// noise power estimation with low complexity and low tracking delay", IEEE TASLP 2012): per bin, the
// posterior probability of speech under a fixed a-priori SNR of 15 dB decides how much of the periodogram
// enters a recursive noise average; a probability stuck near 1 is capped so the estimate never freezes.
// It follows a rising noise floor within ~1 s, needs no minimum-search buffer, and (measured on the eval
// conditions below) leaks less speech into the noise estimate than the MCRA tracker it replaced.
//
// Gain: the MMSE log-spectral amplitude estimator (Ephraim & Malah 1985) on the decision-directed a-priori
// SNR, weighted by the speech-presence probability as in Cohen's OM-LSA (G = G_lsa^p x G_min^(1-p)), with
// G_min = -noise_suppression_db: the floor is the strength parameter, and noise-only bins go to it
// smoothly instead of flickering between the floor and 1 (musical noise: the presence probability's
// a-priori absence comes from the tracker's presence smoothed over ~150 ms, which is the gain smoothing).
// Two choices favour intelligibility over the last decibel of noise removal, measured on the eval's
// 144 items (12 prompts x white/pink/babble x 0-15 dB):
// - the gain sees half the estimated noise power (3 dB under-subtraction) while the presence probability
//   sees all of it: weak consonants and onsets keep their level, pauses still fall to the floor
//   (worst-condition STOI change at 30 dB: -0.048 with the full noise, -0.009 with half);
// - decision-directed smoothing 0.9 instead of the textbook 0.98: the a-priori SNR follows onsets
//   within a frame, so a syllable's start is not attenuated as if it were still noise.
// Two more, added 2026-12-02 because the block still cost intelligibility on babble at 0 dB SNR (STOI
// -0.004 at 12 dB, -0.013 at 30 dB, 4 items) and on white noise at 0 dB (-0.007 at 30 dB):
// - gain release: a bin's gain falls by at most RELEASE per hop (-1.4 dB per 16 ms). Speech offsets,
//   the weak consonant after a vowel and the frames between two harmonics' bursts keep most of their
//   level, and isolated noise peaks no longer open and shut the gain (musical noise). STOI rose on every
//   condition and PESQ-WB by ~0.01-0.03.
// - a depth limit on speech-like noise. Babble is other talkers: no single-channel tracker tells them from
//   the talker (the SPP tracker follows their syllables; the gain then removes the target's low-SNR
//   parts with them), and measured here, any depth costs STOI on babble at 0 dB: -0.000/-0.001/-0.004/
//   -0.013 at 3/6/12/30 dB (see also Loizou & Kim, "Reasons why current speech-enhancement algorithms
//   do not improve speech intelligibility", IEEE TASLP 2011). The block measures how the tracked noise
//   moves: the RMS of its frame-to-frame change in the speech band, in dB, smoothed over ~0.8 s, is
//   0.08-0.18 dB on white and pink noise at 0-15 dB SNR and 0.26-1.3 dB on 6-talker babble. From
//   NONSTATIONARY_LO to NONSTATIONARY_HI the floor rises (geometrically) from the setting to
//   SPEECH_LIKE_FLOOR_DB: on babble the block keeps to ~2 dB of attenuation, where it costs nothing.
// - depth is earned (2026-12-03). The limit above still cost STOI on babble at 0 dB (-0.0001 at 12 dB,
//   -0.0004 at 30 dB, 12 items), and the cause was the start: the movement measure was seeded with its
//   first reading, which on some babble items is small, so for the first 1-2 s the floor sat near the
//   full setting (holding the limit for the first 2 s turned -0.0004 into +0.0003; a 2 dB limit alone
//   only into -0.0003). The measure now starts at NONSTATIONARY_HI (noise counts as speech-like until it
//   has shown otherwise) and falls to a steady noise's level within ~1 s; with the 2 dB limit, babble at
//   0 dB gains STOI at every setting (+0.0004 at 6 dB, +0.0001 at 30 dB). The price is the first second
//   of white and pink noise, shallower than before: PESQ-WB -0.008 to -0.010 on the 12 conditions.
import { LSA_ABOVE1, lerp, lsaGain, sampled } from './lsaGain.ts';
import { WasmRealFft } from './pffft.ts';
import type { AudioBlock } from './types.ts';
import { dbToGain, dbToPower } from './units.ts';

export interface NoiseSuppressorSettings {
  suppressionDb: number;
}

const FRAME_MS = 32;
// 50% overlap. The window code takes any hop >= n/2.
const HOP_FRACTION = 0.5;
// Gerkmann & Hendriks 2012: a-priori SNR assumed under speech presence (15 dB), noise-average and
// presence-average smoothing per 16 ms hop, and the cap that keeps a stuck presence from freezing it.
const XI_H1 = dbToPower(15);
const NOISE_SMOOTHING = 0.8;
const PRESENCE_SMOOTHING = 0.9;
const PRESENCE_CAP = 0.99;
// Decision-directed a-priori SNR smoothing (see above) and its lower bound (OM-LSA's -25 dB).
const ALPHA_DD = 0.9;
const XI_MIN = dbToPower(-25);
// Fraction of the noise estimate the gain subtracts (see above).
const GAIN_NOISE_SCALE = 0.5;
// Bounds of the a-priori speech-absence probability in OM-LSA's presence probability (see applyGains).
const Q_MIN = 0.05;
const Q_MAX = 0.95;
// Largest per-hop fall of a bin's gain (-1.4 dB per 16 ms hop; see above).
const RELEASE = 0.85;
// Depth limit on speech-like noise (see above): the noise's frame-to-frame change (RMS, dB) where the
// limit starts and where it is whole, its smoothing per hop (~0.8 s), the band it is measured over, and
// the attenuation kept at most on such noise.
const NONSTATIONARY_LO = 0.15;
const NONSTATIONARY_HI = 0.28;
const NONSTATIONARY_SMOOTHING = 0.98;
const BAND_LO_HZ = 100;
const BAND_HI_HZ = 4000;
const SPEECH_LIKE_FLOOR_DB = 2;
// Longest wait for a seed frame free of digital zeros (see sinceZero): 1 s of 16 ms hops.
const SEED_WAIT_FRAMES = 62;
// Gerkmann & Hendriks' posterior presence 1 / (1 + (1 + xi_H1) e^-x), x = h1 x periodogram / noise, and
// e^-v for OM-LSA's presence, as tables over [0, 40) (64 points per unit: read error < 2e-6 and < 3e-5
// relative; beyond 40 they are 1 and 0 to 1e-16). Math.exp was most of the block's time.
const LUT_MAX = 40;
const LUT_STEPS = 64;
const PRESENCE_H1 = sampled((x) => 1 / (1 + (1 + XI_H1) * Math.exp(-x)), LUT_MAX, LUT_STEPS);
const EXP_NEG = sampled((v) => Math.exp(-v), LUT_MAX, LUT_STEPS);
// ln(1 + x) and e^y for OM-LSA's weighting G_min x (G_lsa / G_min)^p (ratio up to 31.6 at the catalog's
// 30 dB, exponent p ln(ratio) up to 3.5): read errors < 4e-6 and < 3e-5 relative; Math.log and Math.exp
// past their ends (a setting deeper than 36 dB).
const LN_1P_MAX = 36;
const LN_1P = sampled((x) => Math.log1p(x), LN_1P_MAX, LUT_STEPS);
const EXP_POS_MAX = 8;
const EXP_POS = sampled((y) => Math.exp(y), EXP_POS_MAX, LUT_STEPS);

/**
 * OM-LSA's weighting above the floor: G_lsa^p x G_min^(1-p) = G_min x (G_lsa / G_min)^p, returned as the
 * factor on G_min (>= 1), with p the presence probability on the full noise estimate (`xiPrev` = last
 * clean power over noise, `gamma` = periodogram over noise, `smoothed` the tracker's smoothed presence).
 * The tables come in as arguments (EXP_NEG, LN_1P, EXP_POS), so a loop reads them from registers.
 */
function omLsaLift(
  ratio: number,
  xiPrev: number,
  gamma: number,
  smoothed: number,
  expNeg: Float64Array,
  ln1p: Float64Array,
  expPos: Float64Array,
): number {
  let xi = ALPHA_DD * xiPrev + (1 - ALPHA_DD) * (gamma > 1 ? gamma - 1 : 0);
  if (xi < XI_MIN) xi = XI_MIN;
  const v = (xi * gamma) / (1 + xi);
  // A-priori absence from the tracker's smoothed presence: ~0.95 in pauses, so the gain reaches the
  // floor there; low in speech, so the LSA gain is used as is.
  let q = 1 - smoothed;
  if (q < Q_MIN) q = Q_MIN;
  else if (q > Q_MAX) q = Q_MAX;
  // p = 1 / (1 + q / (1 - q) x (1 + xi) e^-v), with one division; e^-v is 0 past the table.
  if (v >= LUT_MAX) return ratio;
  const p = (1 - q) / (1 - q + q * (1 + xi) * lerp(expNeg, v * LUT_STEPS));
  if (p >= 1) return ratio;
  const y = p * (ratio - 1 < LN_1P_MAX ? lerp(ln1p, (ratio - 1) * LUT_STEPS) : Math.log(ratio));
  return y < EXP_POS_MAX ? lerp(expPos, y * LUT_STEPS) : Math.exp(y);
}

export class NoiseSuppressor implements AudioBlock {
  readonly latency: number;
  readonly fftSize: number;
  private readonly hop: number;
  private readonly bins: number;
  private readonly fft: WasmRealFft;
  private readonly window: Float64Array;
  // The window over the frame size: the inverse transform is unnormalized.
  private readonly synthesis: Float64Array;
  // Analysis x synthesis, for frames that skip the transforms.
  private readonly windowSquared: Float64Array;
  private readonly inBuf: Float64Array;
  private readonly overlap: Float64Array;
  private readonly ready: Float64Array;
  private pos = 0;
  // Per-bin estimator state: noise power, smoothed presence probability, last clean-power estimate.
  private readonly noise: Float64Array;
  // 1 / noise, kept beside it: the next frame's presence needs the ratio, and a division is dear.
  private readonly invNoise: Float64Array;
  private readonly presence: Float64Array;
  private readonly prevClean: Float64Array;
  // Per-frame scratch between the passes: periodogram, LSA gain, last clean power over the new noise.
  private readonly periodogram: Float64Array;
  private readonly lsa: Float64Array;
  private readonly xiPrev: Float64Array;
  private seeded = false;
  // Frames still holding the zeros the input buffer starts with; they would seed the noise near zero.
  private priming: number;
  // Input samples since the last exact zero (capped at the frame size), and frames waited for the seed.
  // Upstream blocks delay the stream with zeros (the echo canceller's block, RNNoise's frame): a seed frame
  // that still holds some of them starts the noise estimate far too low, and the tracker, seeing every bin
  // as speech, takes a second or more to climb out, suppressing nothing meanwhile. So the seed waits for a
  // frame of live input, or SEED_WAIT_FRAMES at most (a line whose quiet samples decode to exact zeros).
  private sinceZero = 0;
  private seedWait = 0;
  private floorGain = 1;
  // Last frame's gain per bin (for the release), and the speech-band bins the noise's movement is measured over.
  private readonly lastGain: Float64Array;
  private readonly bandLo: number;
  private readonly bandHi: number;
  // Band noise power of the last frame (dB) and the smoothed square of its frame-to-frame change.
  private lastBandDb = Number.NaN;
  private movement = 0;
  private movementSeeded = false;

  /** `fftSize` overrides the ~32 ms frame (a power of two); for experiments, the chain never sets it. */
  constructor(sampleRate: number, settings: NoiseSuppressorSettings, fftSize?: number) {
    // The power of two nearest FRAME_MS: 512 at 16 kHz, 256 at 8 kHz.
    const n = fftSize ?? 2 ** Math.round(Math.log2((FRAME_MS / 1000) * sampleRate));
    this.fftSize = n;
    this.hop = Math.round(n * HOP_FRACTION);
    this.bins = n / 2 + 1;
    // A sample's output is complete once the last frame covering it is done: a fixed delay of one frame.
    this.latency = n;
    this.fft = new WasmRealFft(n);
    this.window = new Float64Array(n);
    // Sine tapers over the overlap (rising, then falling mirror) and flat between: analysis x synthesis
    // is sin^2 + cos^2 = 1 wherever two frames overlap, so overlap-add reconstructs exactly.
    const overlap = n - this.hop;
    for (let i = 0; i < n; i++) {
      if (i < overlap) this.window[i] = Math.sin((Math.PI / 2) * ((i + 0.5) / overlap));
      else if (i >= this.hop) this.window[i] = Math.cos((Math.PI / 2) * ((i - this.hop + 0.5) / overlap));
      else this.window[i] = 1;
    }
    this.synthesis = this.window.map((w) => w / n);
    this.windowSquared = this.window.map((w) => w * w);
    this.inBuf = new Float64Array(n);
    this.overlap = new Float64Array(n);
    this.ready = new Float64Array(this.hop);
    this.noise = new Float64Array(this.bins);
    this.invNoise = new Float64Array(this.bins);
    this.presence = new Float64Array(this.bins);
    this.prevClean = new Float64Array(this.bins);
    this.lastGain = new Float64Array(this.bins);
    this.periodogram = new Float64Array(this.bins);
    this.lsa = new Float64Array(this.bins);
    this.xiPrev = new Float64Array(this.bins);
    const binHz = sampleRate / n;
    this.bandLo = Math.max(1, Math.round(BAND_LO_HZ / binHz));
    this.bandHi = Math.min(this.bins - 1, Math.round(BAND_HI_HZ / binHz));
    this.priming = Math.ceil(n / this.hop) - 1;
    this.update(settings);
  }

  update(settings: NoiseSuppressorSettings): void {
    this.floorGain = dbToGain(-settings.suppressionDb);
  }

  /** Current noise power estimate per bin (periodogram units of the unnormalized FFT); for diagnostics. */
  noiseEstimate(): Float64Array {
    return this.noise;
  }

  process(buf: Float32Array): void {
    const hop = this.hop;
    const n = this.fftSize;
    const inBuf = this.inBuf;
    const ready = this.ready;
    // A run up to the next frame boundary at a time, in three plain loops (samples in, the count of
    // samples since the last exact zero, the finished hop out): no per-sample branching, no allocation.
    for (let i = 0; i < buf.length; ) {
      const pos = this.pos;
      const len = Math.min(hop - pos, buf.length - i);
      const at = n - hop + pos - i;
      for (let j = i; j < i + len; j++) inBuf[at + j] = buf[j] as number;
      // (Only until the estimate is seeded: nothing reads the count after that.)
      if (!this.seeded) {
        let zero = i + len - 1;
        while (zero >= i && buf[zero] !== 0) zero--;
        const live = zero < i ? this.sinceZero + len : i + len - 1 - zero;
        this.sinceZero = Math.min(live, n);
      }
      const from = pos - i;
      for (let j = i; j < i + len; j++) buf[j] = ready[from + j] as number;
      i += len;
      this.pos = pos + len;
      if (this.pos === hop) {
        this.processFrame();
        this.pos = 0;
      }
    }
  }

  private processFrame(): void {
    let filter = false;
    if (this.priming > 0) this.priming--;
    else filter = this.floorGain < 1 && this.canEstimate();
    // A frame that gets no gains (start-up, the wait for a seed, strength 0) skips the transforms: its
    // overlap-add of the windowed input is the input itself, exactly.
    if (filter) this.filterFrame();
    else this.delayFrame();
    this.inBuf.copyWithin(0, this.hop);
  }

  private filterFrame(): void {
    const n = this.fftSize;
    const hop = this.hop;
    const win = this.window;
    const inBuf = this.inBuf;
    const fft = this.fft;
    // The frame, the spectrum and the result live in wasm memory (pffft.ts), read through this view.
    const h = fft.heap();
    const at = fft.time;
    for (let i = 0; i < n; i++) h[at + i] = (inBuf[i] as number) * (win[i] as number);
    fft.forward();
    this.applyGains(h);
    fft.inverse();
    // Overlap-add: the first hop samples are done (the last frame's tail plus this frame's head); the
    // rest, n - hop <= hop samples, waits for the next frame.
    const ov = this.overlap;
    const syn = this.synthesis;
    const ready = this.ready;
    const tail = n - hop;
    for (let i = 0; i < tail; i++) ready[i] = (ov[i] as number) + (h[at + i] as number) * (syn[i] as number);
    for (let i = tail; i < hop; i++) ready[i] = (h[at + i] as number) * (syn[i] as number);
    for (let i = 0; i < tail; i++) ov[i] = (h[at + i + hop] as number) * (syn[i + hop] as number);
  }

  // filterFrame() without the transforms: the overlap-add contribution is the input x window^2 (own loops,
  // not a helper shared with filterFrame(): doubles here, wasm floats there, each loop monomorphic).
  private delayFrame(): void {
    const n = this.fftSize;
    const hop = this.hop;
    const w2 = this.windowSquared;
    const x = this.inBuf;
    const ov = this.overlap;
    const ready = this.ready;
    const tail = n - hop;
    for (let i = 0; i < tail; i++) ready[i] = (ov[i] as number) + (x[i] as number) * (w2[i] as number);
    for (let i = tail; i < hop; i++) ready[i] = (x[i] as number) * (w2[i] as number);
    for (let i = 0; i < tail; i++) ov[i] = (x[i + hop] as number) * (w2[i + hop] as number);
  }

  private applyGains(h: Float32Array): void {
    this.readPeriodogram(h);
    if (!this.seeded) this.seed();
    // This frame's floor comes from the noise's movement up to the last frame.
    const floor = this.effectiveFloor();
    const band = this.trackNoise();
    this.lsaGains();
    this.weightGains(floor);
    this.applyToSpectrum(h);
    this.trackMovement(band);
  }

  /** The periodogram of the spectrum in wasm memory (PFFFT's order: bin 0, bin n/2, then re, im pairs). */
  private readPeriodogram(h: Float32Array): void {
    const per = this.periodogram;
    const s = this.fft.spectrum;
    const m = this.bins - 1;
    const dc = h[s] as number;
    const nyquist = h[s + 1] as number;
    per[0] = dc * dc + 1e-20;
    per[m] = nyquist * nyquist + 1e-20;
    for (let k = 1; k < m; k++) {
      const re = h[s + 2 * k] as number;
      const im = h[s + 2 * k + 1] as number;
      per[k] = re * re + im * im + 1e-20;
    }
  }

  /** This frame's gains (lastGain) onto the spectrum in wasm memory. */
  private applyToSpectrum(h: Float32Array): void {
    const g = this.lastGain;
    const s = this.fft.spectrum;
    const m = this.bins - 1;
    h[s] = (h[s] as number) * (g[0] as number);
    h[s + 1] = (h[s + 1] as number) * (g[m] as number);
    for (let k = 1; k < m; k++) {
      const gk = g[k] as number;
      h[s + 2 * k] = (h[s + 2 * k] as number) * gk;
      h[s + 2 * k + 1] = (h[s + 2 * k + 1] as number) * gk;
    }
  }

  /** Pass 1: the periodogram, the presence-driven noise update, and the speech band's noise power. */
  private trackNoise(): number {
    const bins = this.bins;
    const N = this.noise;
    const pres = this.presence;
    const per = this.periodogram;
    const invN = this.invNoise;
    const h1 = XI_H1 / (1 + XI_H1);
    const presenceH1 = PRESENCE_H1;
    for (let k = 0; k < bins; k++) {
      const pk = per[k] as number;
      // Noise update from the posterior speech presence (fixed priors: equal odds, xi = 15 dB).
      const nPrev = N[k] as number;
      const x = pk * (invN[k] as number) * h1;
      let ph1 = x >= LUT_MAX ? 1 : lerp(presenceH1, x * LUT_STEPS);
      const smoothed = PRESENCE_SMOOTHING * (pres[k] as number) + (1 - PRESENCE_SMOOTHING) * ph1;
      pres[k] = smoothed;
      if (smoothed > PRESENCE_CAP && ph1 > PRESENCE_CAP) ph1 = PRESENCE_CAP;
      const noise = NOISE_SMOOTHING * nPrev + (1 - NOISE_SMOOTHING) * ((1 - ph1) * pk + ph1 * nPrev);
      N[k] = noise;
      invN[k] = 1 / noise;
    }
    let band = 0;
    for (let k = this.bandLo; k <= this.bandHi; k++) band += N[k] as number;
    return band;
  }

  /** Pass 2: the LSA gain on the under-subtracted noise (the SNRs scale by 1 / scale), and the clean-power update. */
  private lsaGains(): void {
    const bins = this.bins;
    const per = this.periodogram;
    const invN = this.invNoise;
    const prev = this.prevClean;
    const lsaOut = this.lsa;
    const xiPrevOut = this.xiPrev;
    const above1 = LSA_ABOVE1;
    for (let k = 0; k < bins; k++) {
      const pk = per[k] as number;
      const prevClean = prev[k] as number;
      const invNoise = invN[k] as number;
      const gamma = pk * invNoise * (1 / GAIN_NOISE_SCALE);
      let xi =
        (ALPHA_DD / GAIN_NOISE_SCALE) * prevClean * invNoise + (1 - ALPHA_DD) * (gamma > 1 ? gamma - 1 : 0);
      if (xi < XI_MIN) xi = XI_MIN;
      const ratio = xi / (1 + xi);
      let g = lsaGain(ratio, ratio * gamma, above1);
      if (g > 1) g = 1;
      prev[k] = g * g * pk;
      lsaOut[k] = g;
      xiPrevOut[k] = prevClean * invNoise;
    }
  }

  /** Pass 3: OM-LSA's presence weighting above the floor and the release, into lastGain. */
  private weightGains(floor: number): void {
    const bins = this.bins;
    const per = this.periodogram;
    const invN = this.invNoise;
    const pres = this.presence;
    const lsa = this.lsa;
    const xiPrev = this.xiPrev;
    const last = this.lastGain;
    const invFloor = 1 / floor;
    const expNeg = EXP_NEG;
    const ln1p = LN_1P;
    const expPos = EXP_POS;
    for (let k = 0; k < bins; k++) {
      const l = lsa[k] as number;
      // With the LSA gain at or under the floor, the weighted gain is too (p is in [0, 1]) and the floor
      // clamps it: the presence probability is not needed. Most noise-only bins end here.
      let g = floor;
      if (l > floor)
        g =
          floor *
          omLsaLift(
            l * invFloor,
            xiPrev[k] as number,
            (per[k] as number) * (invN[k] as number),
            pres[k] as number,
            expNeg,
            ln1p,
            expPos,
          );
      const held = RELEASE * (last[k] as number);
      if (g < held) g = held;
      last[k] = g;
    }
  }

  /** The gain floor for this frame: the setting, raised toward SPEECH_LIKE_FLOOR_DB on speech-like noise. */
  private effectiveFloor(): number {
    const floor = this.floorGain;
    const limit = dbToGain(-SPEECH_LIKE_FLOOR_DB);
    if (floor >= limit) return floor;
    // Before the first reading of the noise's movement: speech-like (see "depth is earned").
    if (!this.movementSeeded) return limit;
    const w = (Math.sqrt(this.movement) - NONSTATIONARY_LO) / (NONSTATIONARY_HI - NONSTATIONARY_LO);
    if (w <= 0) return floor;
    if (w >= 1) return limit;
    return floor ** (1 - w) * limit ** w;
  }

  /** Updates the smoothed frame-to-frame change of the speech band's noise power (dB, squared). */
  private trackMovement(band: number): void {
    const db = 10 * Math.log10(band + 1e-20);
    const last = this.lastBandDb;
    this.lastBandDb = db;
    if (Number.isNaN(last)) return;
    const d2 = (db - last) ** 2;
    this.movement = this.movementSeeded
      ? NONSTATIONARY_SMOOTHING * this.movement + (1 - NONSTATIONARY_SMOOTHING) * d2
      : Math.max(d2, NONSTATIONARY_HI ** 2);
    this.movementSeeded = true;
  }

  /** Whether the estimator is seeded, or may be seeded from this frame (see sinceZero). */
  private canEstimate(): boolean {
    if (this.seeded) return true;
    return this.sinceZero >= this.fftSize || ++this.seedWait >= SEED_WAIT_FRAMES;
  }

  /** First frame after priming: it seeds the noise and clean-power estimates (the recursions track from there). */
  private seed(): void {
    const per = this.periodogram;
    for (let k = 0; k < this.bins; k++) {
      const pk = per[k] as number;
      this.noise[k] = pk;
      this.invNoise[k] = 1 / pk;
      this.prevClean[k] = pk;
      this.presence[k] = 0;
      this.lastGain[k] = 0;
    }
    this.seeded = true;
  }

  reset(): void {
    this.inBuf.fill(0);
    this.overlap.fill(0);
    this.ready.fill(0);
    this.pos = 0;
    this.seeded = false;
    this.sinceZero = 0;
    this.seedWait = 0;
    this.priming = Math.ceil(this.fftSize / this.hop) - 1;
    this.presence.fill(0);
    this.lastGain.fill(0);
    this.lastBandDb = Number.NaN;
    this.movement = 0;
    this.movementSeeded = false;
  }
}
