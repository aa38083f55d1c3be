// Noise gate: attenuates the signal while its short-term RMS stays below the threshold, e.g. line hiss
// between utterances. Opens in ~1 ms so word onsets survive, holds 50 ms and releases over ~40 ms so
// word endings are not chopped, and closes by a fixed 40 dB range rather than to digital silence
// (a hard mute makes the remaining noise pump audibly on every syllable).
import type { AudioBlock } from './types.ts';
import { dbToGain, dbToPower, onePole } from './units.ts';

export interface NoiseGateSettings {
  thresholdDbfs: number;
}

const DETECTOR_MS = 5;
const HYSTERESIS_DB = 4;
const HOLD_MS = 50;
const ATTACK_MS = 1;
const RELEASE_MS = 40;
export const NOISE_GATE_RANGE_DB = 40;

export class NoiseGate implements AudioBlock {
  readonly latency = 0;
  private readonly detCoef: number;
  private readonly attackCoef: number;
  private readonly releaseCoef: number;
  private readonly holdSamples: number;
  private readonly floor = dbToGain(-NOISE_GATE_RANGE_DB);
  private openPower = 0;
  private closePower = 0;
  private meanSquare = 0;
  private open = false;
  private hold = 0;
  private gain: number;

  constructor(sampleRate: number, settings: NoiseGateSettings) {
    this.detCoef = onePole(DETECTOR_MS, sampleRate);
    this.attackCoef = onePole(ATTACK_MS, sampleRate);
    this.releaseCoef = onePole(RELEASE_MS, sampleRate);
    this.holdSamples = Math.round((HOLD_MS / 1000) * sampleRate);
    this.gain = this.floor;
    this.update(settings);
  }

  update(settings: NoiseGateSettings): void {
    // The detector is a mean square, so the threshold compares as power.
    this.openPower = dbToPower(settings.thresholdDbfs);
    this.closePower = dbToPower(settings.thresholdDbfs - HYSTERESIS_DB);
  }

  /** Whether the gate is open after the last processed sample. */
  isOpen(): boolean {
    return this.open;
  }

  process(buf: Float32Array): void {
    const det = this.detCoef;
    const floor = this.floor;
    const attack = this.attackCoef;
    const release = this.releaseCoef;
    const openPower = this.openPower;
    const closePower = this.closePower;
    const holdSamples = this.holdSamples;
    let ms = this.meanSquare;
    let open = this.open;
    let hold = this.hold;
    let g = this.gain;
    for (let i = 0; i < buf.length; i++) {
      const x = buf[i] as number;
      const x2 = x * x;
      ms = x2 + det * (ms - x2);
      if (ms > openPower) {
        open = true;
        hold = holdSamples;
      } else if (open && ms < closePower) {
        if (hold > 0) hold--;
        else open = false;
      }
      if (open) {
        if (g !== 1) g = 1 - g < 1e-7 ? 1 : 1 + attack * (g - 1);
      } else if (g !== floor) {
        g = g - floor < 1e-9 ? floor : floor + release * (g - floor);
      }
      buf[i] = x * g;
    }
    this.meanSquare = ms < 1e-30 ? 0 : ms;
    this.open = open;
    this.hold = hold;
    this.gain = g;
  }

  reset(): void {
    this.meanSquare = 0;
    this.open = false;
    this.hold = 0;
    this.gain = this.floor;
  }
}
