// Automatic gain control: steers the active-speech level toward a target.
//
// Every 10 ms frame the input power is measured. A noise floor follows the quietest frames (the minimum
// over the last 1.5 s); only frames at least 10 dB above it count as speech and update the speech-level
// estimate, a one-pole average of their power over ~0.6 s. So pauses freeze the gain instead of
// letting it climb and pump the line noise up, and syllable-rate envelope swings are not flattened
// (that is the compressor's job). The gain then moves toward target - level, clamped to
// [-MAX_CUT_DB, max gain], at most 10 dB/s up and 20 dB/s down, and is ramped linearly across the next
// frame so it never steps.

import { NoiseFloor } from './noiseFloor.ts';
import type { AudioBlock } from './types.ts';
import { dbToGain, dbToPower, onePole, powerToDb } from './units.ts';

export interface AgcSettings {
  targetDbfs: number;
  maxGainDb: number;
}

const FRAME_MS = 10;
const LEVEL_MS = 600;
/** Frames this far over the noise floor count as speech (the level rule reads it: optimizer/core/level.ts). */
export const SPEECH_ABOVE_FLOOR_DB = 10;
// Frames below this are never speech, whatever the floor: digital silence or a dead line.
const ABSOLUTE_GATE_DBFS = -70;
const SILENCE_POWER = dbToPower(-100);
const RISE_DB_PER_S = 10;
const FALL_DB_PER_S = 20;
// A hot talker is turned down at most this far; anything louder is the limiter's job.
export const AGC_MAX_CUT_DB = 20;

export class Agc implements AudioBlock {
  readonly latency = 0;
  private readonly frameLen: number;
  private readonly levelCoef: number;
  private readonly riseDb: number;
  private readonly fallDb: number;
  private targetDbfs = 0;
  private maxGainDb = 0;
  private acc = 0;
  private count = 0;
  private readonly floor = new NoiseFloor(FRAME_MS);
  private readonly speechRatio = dbToPower(SPEECH_ABOVE_FLOOR_DB);
  private readonly absoluteGate = dbToPower(ABSOLUTE_GATE_DBFS);
  private level = -1;
  private gainDb = 0;
  private gain = 1;
  private step = 0;

  constructor(sampleRate: number, settings: AgcSettings) {
    this.frameLen = Math.round((FRAME_MS / 1000) * sampleRate);
    this.levelCoef = onePole(LEVEL_MS, sampleRate, this.frameLen);
    this.riseDb = (RISE_DB_PER_S * FRAME_MS) / 1000;
    this.fallDb = (FALL_DB_PER_S * FRAME_MS) / 1000;
    this.update(settings);
  }

  update(settings: AgcSettings): void {
    this.targetDbfs = settings.targetDbfs;
    this.maxGainDb = settings.maxGainDb;
  }

  /** Gain currently applied, in dB. */
  currentGainDb(): number {
    return this.gainDb;
  }

  /** Speech-level estimate in dBFS, or undefined before the first speech frame. */
  speechLevelDbfs(): number | undefined {
    return this.level < 0 ? undefined : powerToDb(this.level);
  }

  process(buf: Float32Array): void {
    const frameLen = this.frameLen;
    let acc = this.acc;
    let count = this.count;
    let g = this.gain;
    let step = this.step;
    for (let i = 0; i < buf.length; i++) {
      const x = buf[i] as number;
      acc += x * x;
      buf[i] = x * g;
      g += step;
      if (++count === frameLen) {
        this.gain = g;
        step = this.endFrame(acc / frameLen);
        g = this.gain;
        acc = 0;
        count = 0;
      }
    }
    this.acc = acc;
    this.count = count;
    this.gain = g;
    this.step = step;
  }

  /** Updates the estimates with one frame's power and returns the per-sample gain step for the next frame. */
  private endFrame(power: number): number {
    // Digital silence (a muted line, a downstream block's start-up zeros) says nothing about line noise.
    const floor = power > SILENCE_POWER ? this.floor.push(power) : this.floor.value();
    const isSpeech = power > floor * this.speechRatio && power > this.absoluteGate;
    if (isSpeech) {
      // The first speech frame seeds the estimate so a call does not start from an arbitrary level.
      this.level = this.level < 0 ? power : power + this.levelCoef * (this.level - power);
    }
    if (this.level > 0) {
      let want = this.targetDbfs - powerToDb(this.level);
      if (want > this.maxGainDb) want = this.maxGainDb;
      if (want < -AGC_MAX_CUT_DB) want = -AGC_MAX_CUT_DB;
      if (want > this.gainDb) this.gainDb = Math.min(want, this.gainDb + this.riseDb);
      else this.gainDb = Math.max(want, this.gainDb - this.fallDb);
    }
    return (dbToGain(this.gainDb) - this.gain) / this.frameLen;
  }

  reset(): void {
    this.acc = 0;
    this.count = 0;
    this.floor.reset();
    this.level = -1;
    this.gainDb = 0;
    this.gain = 1;
    this.step = 0;
  }
}
