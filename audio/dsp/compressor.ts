// Feed-forward compressor after Giannoulis, Massberg & Reiss, "Digital dynamic range compressor design —
// a tutorial and analysis" (JAES 2012): RMS level detector, soft-knee static curve, attack/release
// smoothing in the gain (dB) domain. Smoothing the gain rather than the level keeps a steady tone's
// gain exact (a branching level detector would ride the waveform's peaks and over-compress).
//
// The gain is recomputed every CONTROL_MS (logs and powers per sample would dominate the chain's cost)
// and interpolated linearly per sample in between, so it never steps.
import type { AudioBlock } from './types.ts';
import { dbToGain, onePole, powerToDb } from './units.ts';

export interface CompressorSettings {
  thresholdDbfs: number;
  ratio: number;
}

export const COMPRESSOR_KNEE_DB = 6;
const DETECTOR_MS = 10;
const ATTACK_MS = 5;
const RELEASE_MS = 100;
const CONTROL_MS = 1;

/** Static curve: output level (dB) for an input level (dB), soft knee of width `knee` centred on the threshold. */
export function compressorCurve(
  levelDb: number,
  thresholdDb: number,
  ratio: number,
  knee = COMPRESSOR_KNEE_DB,
): number {
  const over = levelDb - thresholdDb;
  if (2 * over < -knee) return levelDb;
  if (2 * over > knee) return thresholdDb + over / ratio;
  const k = over + knee / 2;
  return levelDb + ((1 / ratio - 1) * k * k) / (2 * knee);
}

export class Compressor implements AudioBlock {
  readonly latency = 0;
  private readonly control: number;
  private readonly detCoef: number;
  private readonly attackCoef: number;
  private readonly releaseCoef: number;
  private thresholdDbfs = 0;
  private ratio = 1;
  private meanSquare = 0;
  private reductionDb = 0;
  private gain = 1;
  private step = 0;
  private count = 0;

  constructor(sampleRate: number, settings: CompressorSettings) {
    this.control = Math.max(1, Math.round((CONTROL_MS / 1000) * sampleRate));
    this.detCoef = onePole(DETECTOR_MS, sampleRate);
    this.attackCoef = onePole(ATTACK_MS, sampleRate, this.control);
    this.releaseCoef = onePole(RELEASE_MS, sampleRate, this.control);
    this.update(settings);
  }

  update(settings: CompressorSettings): void {
    this.thresholdDbfs = settings.thresholdDbfs;
    this.ratio = settings.ratio;
  }

  /** Current gain reduction in dB (>= 0). */
  gainReductionDb(): number {
    return -this.reductionDb;
  }

  process(buf: Float32Array): void {
    const det = this.detCoef;
    let ms = this.meanSquare;
    let g = this.gain;
    let step = this.step;
    let count = this.count;
    for (let i = 0; i < buf.length; i++) {
      const x = buf[i] as number;
      const x2 = x * x;
      ms = x2 + det * (ms - x2);
      buf[i] = x * g;
      g += step;
      if (++count === this.control) {
        count = 0;
        const target = this.targetGain(ms);
        step = (target - g) / this.control;
      }
    }
    this.meanSquare = ms < 1e-30 ? 0 : ms;
    this.gain = g;
    this.step = step;
    this.count = count;
  }

  private targetGain(meanSquare: number): number {
    const level = powerToDb(meanSquare + 1e-12);
    const want = compressorCurve(level, this.thresholdDbfs, this.ratio) - level;
    // More reduction wanted: attack; less: release.
    const a = want < this.reductionDb ? this.attackCoef : this.releaseCoef;
    this.reductionDb = want + a * (this.reductionDb - want);
    return dbToGain(this.reductionDb);
  }

  reset(): void {
    this.meanSquare = 0;
    this.reductionDb = 0;
    this.gain = 1;
    this.step = 0;
    this.count = 0;
  }
}
