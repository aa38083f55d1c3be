// Voice activity detector: an analysis block (audio passes untouched) that marks 10 ms frames as speech.
//
// Speech probability is a logistic function of the frame's SNR over the noise floor (minimum frame power
// over 1.5 s): 0.5 at VAD_MID_SNR_DB, rising by a factor e every VAD_SLOPE_DB. A frame is speech when
// the probability, lightly smoothed, reaches `vad_threshold`; a hangover keeps 80 ms after the last speech
// frame so word endings and short stops are not cut off. Raising the threshold trades missed weak speech
// for fewer noise bursts passed to STT.
import { NoiseFloor } from './noiseFloor.ts';
import type { AudioBlock } from './types.ts';
import { dbToPower } from './units.ts';

export interface VadSettings {
  threshold: number;
}

export interface VadStats {
  frames: number;
  speechFrames: number;
  /** speechFrames / frames, 0 before the first frame. */
  activity: number;
  /** Whether the last complete frame was speech. */
  speaking: boolean;
  /** Speech probability of the last complete frame. */
  probability: number;
}

const FRAME_MS = 10;
export const VAD_MID_SNR_DB = 9;
const VAD_SLOPE_DB = 2.5;
const HANGOVER_MS = 80;
const SILENCE_POWER = dbToPower(-100);
// Below this nothing is speech, however quiet the floor (a muted line with dither).
const ABSOLUTE_FLOOR_POWER = dbToPower(-75);

export class Vad implements AudioBlock {
  readonly latency = 0;
  private readonly frameLen: number;
  private readonly hangoverFrames: number;
  private readonly floor = new NoiseFloor(FRAME_MS);
  private threshold = 0.5;
  private acc = 0;
  private count = 0;
  private smoothed = 0;
  private hangover = 0;
  private frames = 0;
  private speechFrames = 0;
  private speaking = false;
  private probability = 0;

  constructor(sampleRate: number, settings: VadSettings) {
    this.frameLen = Math.round((FRAME_MS / 1000) * sampleRate);
    this.hangoverFrames = Math.round(HANGOVER_MS / FRAME_MS);
    this.update(settings);
  }

  update(settings: VadSettings): void {
    this.threshold = settings.threshold;
  }

  stats(): VadStats {
    return {
      frames: this.frames,
      speechFrames: this.speechFrames,
      activity: this.frames === 0 ? 0 : this.speechFrames / this.frames,
      speaking: this.speaking,
      probability: this.probability,
    };
  }

  process(buf: Float32Array): void {
    let acc = this.acc;
    let count = this.count;
    const frameLen = this.frameLen;
    for (let i = 0; i < buf.length; i++) {
      const x = buf[i] as number;
      acc += x * x;
      if (++count === frameLen) {
        this.endFrame(acc / frameLen);
        acc = 0;
        count = 0;
      }
    }
    this.acc = acc;
    this.count = count;
  }

  private endFrame(power: number): void {
    const floor = power > SILENCE_POWER ? this.floor.push(power) : this.floor.value();
    let p = 0;
    if (power > ABSOLUTE_FLOOR_POWER && Number.isFinite(floor)) {
      const snrDb = 10 * Math.log10(power / Math.max(floor, SILENCE_POWER));
      p = 1 / (1 + Math.exp(-(snrDb - VAD_MID_SNR_DB) / VAD_SLOPE_DB));
    }
    // Light smoothing: a single loud click does not make an utterance.
    this.smoothed = 0.5 * this.smoothed + 0.5 * p;
    this.probability = this.smoothed;
    if (this.smoothed >= this.threshold) this.hangover = this.hangoverFrames;
    else if (this.hangover > 0) this.hangover--;
    this.speaking = this.smoothed >= this.threshold || this.hangover > 0;
    this.frames++;
    if (this.speaking) this.speechFrames++;
  }

  reset(): void {
    this.floor.reset();
    this.acc = 0;
    this.count = 0;
    this.smoothed = 0;
    this.hangover = 0;
    this.frames = 0;
    this.speechFrames = 0;
    this.speaking = false;
    this.probability = 0;
  }
}
