// Echo canceller: a partitioned-block frequency-domain NLMS adaptive filter (the "multidelay block
// frequency-domain" filter of Soo & Pang, IEEE Trans. ASSP 1990, the core of Speex's MDF) that models
// the echo path from the far-end reference to the near-end signal over `tailMs` and subtracts it.
//
// Why frequency domain: a time-domain NLMS over a 64 ms tail at 16 kHz costs ~2,000 multiply-adds per
// sample, ~30x real time at best in JS; the partitioned form does the same adaptation with FFTs at a few
// percent of that. Overlap-save with blocks of ~8 ms (B) and FFTs of 2B; the tail is split into
// P = ceil(tail / B) partitions, each bin normalized by the far-end energy over the tail (that per-bin
// normalization is what makes it an NLMS), and each partition's step weighted by its share of the
// filter's magnitude (proportionate adaptation, as in Speex's MDF: a line echo fills 2-3 partitions of a
// 256 ms tail, which then take most of the step; since 2026-12-03, ERLE 12-13 -> 21-25 dB at 256 ms on
// the echo bench). The gradient constraint (time-domain windowing that keeps
// each partition a linear, not circular, convolution) is applied to one partition per block in turn.
//
// Double talk: three paths. The NLMS background adapts over far-end single talk (a Geigel detector: the
// near end's peak under a ratio of the far-end peak over the tail, the ratio following the echo's
// measured strength, echoTalk.ts); the Kalman path (echoKalman.ts,
// since 2026-12-06) adapts on every block with far-end signal, a near-end talker counted as observation
// noise; the foreground, which produces the output, is only ever a copy of one of them, taken when it has
// been clearly better (echoArbiter.ts). With a talker 6-9 dB above the echo from the first second (the
// demo's station 1), the detector passed 30-100% of the blocks as single talk, and the NLMS pair removed
// 0.6-1.4 dB of the echo over seconds 2-4 and 2-12 dB over 4-8; with the Kalman path 3-6 and 12-18 dB
// (echo over echo minus the estimate), and the station's PESQ at its defaults went 1.70 -> 2.11.
//
// Divergence protection: an adaptive filter fed a far end that is NOT in the near end (a leg without echo,
// e.g. the gateway's outbound leg) still adapts on whatever near-end sound slips past the Geigel detector;
// over short stretches it can even "track" quasi-stationary near-end speech, win the copy test and reach
// the foreground. Subtracting that estimate damages the talker. So the foreground's estimate y is only
// trusted as far as the data show it explains the microphone: over far-end single talk the least-squares
// scale rho = <d, y> / <y, y> is ~1 for a real echo model and ~0 for a spurious one, and the output is
// d - g y with g = 0 for rho <= 0.5 (where subtracting y would add energy: ERLE < 0, so the near end
// passes through untouched), g = 1 for rho >= RHO_FULL, linear in between, ramped sample by sample. g
// starts at 0: until a model has proven itself the canceller is transparent. A foreground that stays
// spurious for SPURIOUS_CLEAR_MS is cleared.
//
// Step-size control: until a foreground has proven itself (g > 0), the background's step is scaled by
// c^SEARCH_POWER (at least SEARCH_STEP), c = <d, y_bg> / |d| |y_bg| over single talk: near 1 from the first
// blocks for a real echo path (its estimate is a scaled copy of the echo), near 0 for sound the far end
// does not explain, so the background does not wander on a leg without echo, while a real echo still
// converges by 20 dB within about a second.
//
// Noise-aware step (since 2026-12-03; PartitionedFilters.adapt): once the foreground is trusted in full,
// each bin's step is scaled by its estimated echo-to-error ratio, the line noise taken while the far end
// is quiet.
//
// The output is one block (B samples) late. Without a reference (no far-end frames, or silence) it is the
// near end delayed by the same B samples, so the chain's latency never changes mid-call.
import { type BlockEnergies, PathArbiter } from './echoArbiter.ts';
import { EchoDelay, type EchoSeen } from './echoDelay.ts';
import { PartitionedFilters } from './echoFilter.ts';
import { KalmanPath } from './echoKalman.ts';
import { SingleTalk } from './echoTalk.ts';
import { HighPassFilter } from './highpass.ts';
import type { AudioBlock } from './types.ts';
import { dbToPower, onePole } from './units.ts';

export interface EchoCancellerSettings {
  tailMs: number;
  /**
   * A high-pass at this cutoff on the near end before anything else (none when absent): for a chain
   * without a high-pass of its own in front of the canceller. Mains hum and DC are error no echo model
   * explains; on a line with hum as loud as the echo the background filter's error never fell under
   * COPY_RATIO of the foreground's, so no model was ever used and the echo passed untouched (generated
   * profile gen-5-1, station 10: 50 Hz hum at -33.5 dBFS, echo at -35 dBFS, ERLE 0 dB at any tail; with
   * a 120 Hz high-pass in front, the same as without the hum). WebRTC's audio processing runs a
   * high-pass before its echo canceller for the same reason.
   */
  inputHighpassHz?: number;
  /** Reads the echo's delay from its own input (echoDelay.ts; default), or only as given (observeEcho). */
  findDelay?: boolean;
  /** Echo readings set the single-talk detector's ratio (echoTalk.ts; default), or (false) it stays 0.5. */
  ratioFromReadings?: boolean;
  /** Runs the Kalman path beside the NLMS pair (echoKalman.ts; default), or (false) the NLMS pair alone. */
  kalmanPath?: boolean;
}

/** The canceller's block (and its latency), ms: a power of two of samples near it (64 at 8 kHz, 128 at 16). */
export const BLOCK_MS = 8;
const MU = 0.5;
// Far-end blocks quieter than this (mean square) carry no usable reference: adapting on them is noise.
const FAR_ACTIVE_POWER = dbToPower(-60);
// Memory of the echo-model validity statistics (<d, y>, <y, y> over far-end single talk).
const VALIDITY_MS = 150;
// Least-squares scale of the foreground estimate at or below which it is not subtracted at all (subtracting
// y with rho <= 0.5 would raise the output energy above the input's), and at or above which it is in full.
const RHO_OFF = 0.5;
const RHO_FULL = 0.8;
// A foreground that stays unproven (rho below RHO_OFF) this long while it produces an estimate is cleared.
const SPURIOUS_CLEAR_MS = 400;
const SEARCH_STEP = 0.1;
const SEARCH_POWER = 4;
// A tail resized mid-call keeps its echo model only where the model removes at least this much (dB).
const KEEP_MODEL_ERLE_DB = 6;

function partitionsFor(tailMs: number, sampleRate: number, block: number): number {
  return Math.max(1, Math.ceil(((tailMs / 1000) * sampleRate) / block));
}

export class EchoCanceller implements AudioBlock {
  readonly latency: number;
  private tail: number;
  private parts: number;
  private readonly block: number;
  private filters: PartitionedFilters;
  // The Kalman path (none without settings.kalmanPath), the arbitration, the share of its error it explained.
  private kalman: KalmanPath | null;
  private readonly arbiter = new PathArbiter();
  private explained = 1;
  private readonly mic: Float64Array;
  private readonly inputHp: HighPassFilter | undefined;
  private readonly farFrame: Float64Array;
  private readonly out: Float64Array;
  private pos = 0;
  private silentBlocks: number;
  // Blocks in a row with a far end under FAR_ACTIVE_POWER: past the tail's length the near end is echo-free.
  private quietBlocks: number;
  private readonly talk: SingleTalk;
  private readonly ratioFromReadings: boolean;
  private micPower = 0;
  private outPower = 0;
  private readonly erleCoef: number;
  // Over far-end single talk, smoothed: <d, d>, <d, y> and <y, y> of the foreground estimate, and the same
  // of the background's; the gain the foreground estimate is subtracted with; blocks it has been spurious.
  private sdd = 0;
  private sdy = 0;
  private syy = 0;
  private sdyBg = 0;
  private syyBg = 0;
  private gain = 0;
  private spuriousBlocks = 0;
  // The current block's statistics (measureErrors): microphone, background-error and foreground-error
  // energies, microphone peak, <d, y> and <y, y> of the foreground estimate and of the background's.
  private readonly energies: BlockEnergies = { mic: 0, bg: 0, fg: 0, kal: 0, kalDiff: 0 };
  private blkMicPeak = 0;
  private blkDy = 0;
  private blkYy = 0;
  private blkDyBg = 0;
  private blkYyBg = 0;
  private readonly validityCoef: number;
  private readonly spuriousClearBlocks: number;
  private readonly sampleRate: number;
  // Where the tail's window starts (echoDelay.ts), and the far end held back by it, per frame.
  private readonly align: EchoDelay;
  private ref = new Float32Array(0);

  constructor(sampleRate: number, settings: EchoCancellerSettings) {
    // A power of two near BLOCK_MS: 128 samples at 16 kHz, 64 at 8 kHz.
    const b = 2 ** Math.round(Math.log2((BLOCK_MS / 1000) * sampleRate));
    this.block = b;
    this.latency = b;
    this.sampleRate = sampleRate;
    this.tail = settings.tailMs;
    this.parts = partitionsFor(settings.tailMs, sampleRate, b);
    this.filters = new PartitionedFilters(b, this.parts);
    this.kalman =
      settings.kalmanPath === false ? null : new KalmanPath(b, this.parts, this.filters.absRegularization);
    this.mic = new Float64Array(b);
    this.inputHp =
      settings.inputHighpassHz === undefined
        ? undefined
        : new HighPassFilter(sampleRate, { cutoffHz: settings.inputHighpassHz });
    this.farFrame = new Float64Array(2 * b);
    this.out = new Float64Array(b);
    this.silentBlocks = this.parts + 1;
    this.quietBlocks = 0;
    this.talk = new SingleTalk(this.parts + 1, sampleRate, b);
    this.ratioFromReadings = settings.ratioFromReadings ?? true;
    this.erleCoef = onePole(500, sampleRate, b);
    this.validityCoef = onePole(VALIDITY_MS, sampleRate, b);
    this.spuriousClearBlocks = Math.ceil((SPURIOUS_CLEAR_MS / 1000) * (sampleRate / b));
    this.align = new EchoDelay(sampleRate, b, settings.findDelay ?? true);
  }

  get tailMs(): number {
    return this.tail;
  }

  get partitions(): number {
    return this.parts;
  }

  /** Where the tail's window starts: the far end's bulk delay the canceller found (echoDelay.ts), ms. */
  get windowStartMs(): number {
    return this.align.delayMs;
  }

  /**
   * Resizes the tail mid-call with the converged echo model kept (PartitionedFilters.resized): the taps
   * it has learned model the same delays in the longer or shorter filter, so a longer tail only has its
   * new partitions to learn, and an echo that was past the old tail is cancelled once they have (about
   * a second of far-end speech on the echo bench) while the output keeps the old model's cancellation
   * meanwhile. The block, the delay and every other statistic stay as they are.
   */
  setTail(tailMs: number): void {
    const parts = partitionsFor(tailMs, this.sampleRate, this.block);
    this.tail = tailMs;
    if (parts === this.parts) return;
    this.filters = this.filters.resized(parts);
    this.kalman = this.kalman?.resized(parts) ?? null;
    // The background's own headway (a model being learned, not yet copied, when the tail grows again).
    const { bgErr, micErr } = this.arbiter;
    const learning = bgErr > 0 && micErr > 10 ** (KEEP_MODEL_ERLE_DB / 10) * bgErr;
    if (this.erleDb() < KEEP_MODEL_ERLE_DB && !learning) {
      // A model that removes next to nothing is the search's wandering on an echo the old tail could not
      // reach (or on none): kept, its energy would take the proportionate step from the new partitions
      // (the echo bench's 80 ms echo behind a 64 ms tail: 1.9 dB of ERLE 1-4 s after lengthening the tail
      // with it kept, 8.4 dB with the search started over, 8.2 dB for a new canceller). So it starts over.
      this.filters.clearForeground();
      this.filters.restartBackground();
      this.kalman?.reset();
      this.arbiter.modelsCleared();
      this.forgetModelStats();
    }
    this.talk.resized(parts + 1);
    this.parts = parts;
  }

  /** The single-talk detector's ratio in use (echoTalk.ts). */
  get singleTalkRatio(): number {
    return this.talk.ratio;
  }

  /** Gain (0..1) with which the foreground echo estimate is being subtracted: 0 passes the near end through. */
  echoEstimateGain(): number {
    return this.gain;
  }

  /**
   * Echo return loss enhancement (dB) over roughly the last half second of far-end single talk:
   * near-end power over output power. 0 before any far-end signal.
   */
  erleDb(): number {
    return this.outPower > 0 ? 10 * Math.log10(this.micPower / this.outPower) : 0;
  }

  /** Processes `buf` (near end) in place, with `far` the far-end reference of the same length, if any. */
  process(buf: Float32Array, far?: Float32Array): void {
    if (far !== undefined && far.length !== buf.length) {
      throw new RangeError(`far-end frame has ${far.length} samples, near-end frame ${buf.length}`);
    }
    this.inputHp?.process(buf);
    let ref = far;
    if (far !== undefined) {
      if (this.ref.length < far.length) this.ref = new Float32Array(far.length);
      ref = this.ref.subarray(0, far.length);
      if (this.align.process(far, buf, this.tail, this.working(), ref)) this.realign();
      const seen = this.align.takeReading();
      if (seen !== null && this.ratioFromReadings) this.talk.reading(seen, 'input');
    }
    const b = this.block;
    const mic = this.mic;
    const farCur = this.farFrame;
    const out = this.out;
    let pos = this.pos;
    for (let i = 0; i < buf.length; i++) {
      mic[pos] = buf[i] as number;
      farCur[b + pos] = ref === undefined ? 0 : (ref[i] as number);
      buf[i] = out[pos] as number;
      if (++pos === b) {
        this.processBlock();
        pos = 0;
      }
    }
    this.pos = pos;
  }

  private processBlock(): void {
    const farPower = this.ingestFar();
    this.quietBlocks = farPower < FAR_ACTIVE_POWER ? this.quietBlocks + 1 : 0;
    if (this.quietBlocks > this.partitions) this.filters.observeNoise(this.mic);
    if (farPower < 0) {
      // No reference anywhere in the tail: the estimate is zero, pass the near end through.
      this.out.set(this.mic);
      return;
    }
    this.filters.estimate();
    this.kalman?.estimate(this.filters);
    this.measureErrors();
    const farActive = farPower >= FAR_ACTIVE_POWER;
    const singleTalk = farActive && this.talk.single(this.blkMicPeak);
    if (singleTalk) {
      // Only far-end single talk says whether y explains d: under double talk the near end swamps <d, y>.
      const v = this.validityCoef;
      this.sdd = v * this.sdd + (1 - v) * this.energies.mic;
      this.sdy = v * this.sdy + (1 - v) * this.blkDy;
      this.syy = v * this.syy + (1 - v) * this.blkYy;
      this.sdyBg = v * this.sdyBg + (1 - v) * this.blkDyBg;
      this.syyBg = v * this.syyBg + (1 - v) * this.blkYyBg;
    }
    const rho = this.syy > 0 ? this.sdy / this.syy : 0;
    const target = Math.min(1, Math.max(0, (rho - RHO_OFF) / (RHO_FULL - RHO_OFF)));
    const g = this.gain;
    const outPow = this.writeOutput(target);
    const b = this.block;
    this.talk.powers(farPower, this.energies.mic / b, outPow / b, (g * g * this.blkYy) / b, this.blkMicPeak);
    if (!farActive) return;
    this.arbitrate(target);
    if (this.kalman !== null) this.explained = this.kalman.adapt(this.filters);
    if (!singleTalk) return;
    const c = this.erleCoef;
    this.micPower = c * this.micPower + (1 - c) * this.energies.mic;
    this.outPower = c * this.outPower + (1 - c) * outPow;
    let mu = MU;
    if (this.gain === 0) {
      // Not yet proven: search with a step scaled by how well the background explains the microphone.
      const corr = this.syyBg > 0 && this.sdd > 0 ? this.sdyBg / Math.sqrt(this.syyBg * this.sdd) : 0;
      mu *= Math.max(SEARCH_STEP, Math.min(1, Math.max(0, corr)) ** SEARCH_POWER);
    }
    // While the output follows the Kalman path's trusted model, the background's step is scaled by the share
    // of the error that model's uncertainty accounts for: next to nothing while a near-end talker the Geigel
    // detector missed fills it (full steps on such blocks left it 0-5 dB worse than no model).
    if (this.arbiter.followsKalman(this.gain)) mu *= this.explained;
    // The noise-aware step only once the foreground is trusted in full: until then the step searches (above)
    // and a near-end talker read into the noise floor would slow the search (double-talk PESQ-WB fell).
    this.filters.adapt(mu, this.gain >= 1);
  }

  /**
   * Takes the newest far-end block into the spectrum ring (and its peak into the Geigel history) and
   * returns its mean square, or -1 when no far-end signal is anywhere in the tail (nothing to estimate).
   */
  private ingestFar(): number {
    const b = this.block;
    const P = this.partitions;
    const frame = this.farFrame;
    let farPeak = 0;
    let farPower = 0;
    for (let i = b; i < 2 * b; i++) {
      const v = frame[i] as number;
      farPower += v * v;
      const a = v < 0 ? -v : v;
      if (a > farPeak) farPeak = a;
    }
    farPower /= b;
    this.filters.advance();
    this.talk.farPeak(this.filters.head(), farPeak);
    this.silentBlocks = farPeak === 0 ? this.silentBlocks + 1 : 0;
    if (this.silentBlocks > P + 1) {
      frame.copyWithin(0, b);
      return -1;
    }
    this.filters.pushFar(frame);
    frame.copyWithin(0, b);
    return farPower;
  }

  /**
   * Block statistics of the microphone against both estimates (energies, cross terms, peak) into the
   * blk* fields, and the background's error frame [0 x B, e] into `real` for the adaptation.
   */
  private measureErrors(): void {
    const b = this.block;
    const mic = this.mic;
    const real = this.filters.errorFrame;
    const fgTime = this.filters.fgTime;
    const bgTime = this.filters.bgTime;
    let micPow = 0;
    let bgPow = 0;
    let fgPow = 0;
    let micPeak = 0;
    let dy = 0;
    let yy = 0;
    let dyBg = 0;
    let yyBg = 0;
    for (let i = 0; i < b; i++) {
      const d = mic[i] as number;
      const yf = fgTime[b + i] as number;
      const yb = bgTime[b + i] as number;
      dyBg += d * yb;
      yyBg += yb * yb;
      const eb = d - yb;
      const ef = d - yf;
      real[i] = 0;
      real[b + i] = eb;
      micPow += d * d;
      bgPow += eb * eb;
      fgPow += ef * ef;
      dy += d * yf;
      yy += yf * yf;
      const a = d < 0 ? -d : d;
      if (a > micPeak) micPeak = a;
    }
    const en = this.energies;
    en.mic = micPow;
    en.bg = bgPow;
    en.fg = fgPow;
    this.blkMicPeak = micPeak;
    this.blkDy = dy;
    this.blkYy = yy;
    this.blkDyBg = dyBg;
    this.blkYyBg = yyBg;
    if (this.kalman === null) return;
    this.kalman.measure(mic, fgTime);
    en.kal = this.kalman.errorEnergy;
    en.kalDiff = this.kalman.diffEnergy;
  }

  /** out = d - g y_fg with the gain ramped across the block to `target`, so a change of trust never steps; returns the output energy. */
  private writeOutput(target: number): number {
    const b = this.block;
    const mic = this.mic;
    const out = this.out;
    const fgTime = this.filters.fgTime;
    const g0 = this.gain;
    const step = (target - g0) / b;
    let outPow = 0;
    for (let i = 0; i < b; i++) {
      const e = (mic[i] as number) - (g0 + step * (i + 1)) * (fgTime[b + i] as number);
      out[i] = e;
      outPow += e * e;
    }
    this.gain = target;
    return outPow;
  }

  /** Arbitration (echoArbiter.ts): the copies between the paths it asks for; clear a spurious foreground. */
  private arbitrate(target: number): void {
    const k = this.kalman;
    const copy = this.arbiter.next(this.energies, k !== null, this.gain);
    if (copy === 'kalman') k?.giveModel(this.filters);
    else if (copy === 'background') this.filters.copyToForeground();
    else if (copy === 'restart') this.filters.restartBackground();
    else if (copy === 'kalman-restart') k?.restartFrom(this.filters);
    // A foreground that keeps producing an estimate the microphone does not contain is a spurious model:
    // clear it, so the output is exactly the near end until a real echo path is found.
    if (this.blkYy > 0 && target === 0) {
      if (++this.spuriousBlocks >= this.spuriousClearBlocks) {
        // The Kalman path goes too: it produced the model, or would hand back one like it.
        this.filters.clearForeground();
        this.kalman?.reset();
        this.arbiter.foregroundCleared(true);
        this.sdy = 0;
        this.syy = 0;
        this.spuriousBlocks = 0;
      }
    } else this.spuriousBlocks = 0;
  }

  /**
   * A reading of the echo left after the canceller (the station's residual-echo metric), its delay from
   * the far end to the canceller's output (one block more than the path's), for the tail's window
   * (echoDelay.ts); from the first one on, the canceller runs no detector of its own.
   */
  observeEcho(seen: EchoSeen | null): void {
    const blockMs = (1000 * this.block) / this.sampleRate;
    const at = seen === null || seen.delayMs === null ? null : Math.max(0, seen.delayMs - blockMs);
    const reading = seen === null ? null : { residualDb: seen.residualDb, delayMs: at };
    if (this.align.observe(reading, this.tail, this.working())) this.realign();
    if (reading !== null && this.ratioFromReadings) this.talk.reading(reading, 'output');
  }

  /** A model that removes echo: the foreground is trusted and cancels at least KEEP_MODEL_ERLE_DB. */
  private working(): boolean {
    return this.gain > 0 && this.erleDb() >= KEEP_MODEL_ERLE_DB;
  }

  /** The window moved to the echo: the old window's model and far-end spectra go; timing stays. */
  private realign(): void {
    this.filters.reset();
    this.kalman?.reset();
    this.arbiter.modelsCleared();
    this.micPower = 0;
    this.outPower = 0;
    this.forgetModelStats();
  }

  reset(): void {
    this.align.reset();
    this.mic.fill(0);
    this.farFrame.fill(0);
    this.out.fill(0);
    this.pos = 0;
    this.filters.reset();
    this.inputHp?.reset();
    this.silentBlocks = this.partitions + 1;
    this.quietBlocks = 0;
    this.talk.reset();
    this.kalman?.reset();
    this.arbiter.reset();
    this.explained = 1;
    this.micPower = 0;
    this.outPower = 0;
    this.sdd = 0;
    this.forgetModelStats();
  }

  /** The echo model's validity statistics and the gain it was subtracted with: none, as at the start. */
  private forgetModelStats(): void {
    this.sdy = 0;
    this.syy = 0;
    this.sdyBg = 0;
    this.syyBg = 0;
    this.gain = 0;
    this.spuriousBlocks = 0;
  }
}
