// DC blocker of every station's input stage. A DC offset (an ADC's or a codec's bias) holds the AGC's
// and the compressor's power meters up: the AGC's noise floor sits at the offset, no frame reads 10 dB
// over it and the gain never moves; the compressor squeezes the speech riding on it (eval seed 4
// gen-4-3 station 9, a -0.13 offset: the loop never got the level up). Stations with a high-pass
// (1, 3, 11) lose the offset there; stations 2, 4, 9 and 10 have none.
//
// The block tracks the input's mean (two one-pole averages of 100 ms in cascade: a 50 Hz tone at
// -10 dBFS ripples it by 3e-4, so voices and hum do not read as an offset) and subtracts it only while
// it reads over DC_ENGAGE: speech has no mean of its own, so without an offset the block is a
// bit-exact pass-through. Engaging and releasing fade over 50 ms, so switching never steps. Zero
// latency.
import type { AudioBlock } from './types.ts';
import { onePole } from './units.ts';

/**
 * An offset from here (-48 dBFS) is removed; under DC_RELEASE the block lets go again. An offset fools
 * the AGC from about 10 dB under the speech, so this catches it under speech down to about -38 dBov.
 */
export const DC_ENGAGE = 4e-3;
const DC_RELEASE = 2e-3;
const MEAN_MS = 100;
const FADE_MS = 50;

export class DcBlocker implements AudioBlock {
  readonly latency = 0;
  private readonly a: number;
  private readonly fadeStep: number;
  private mean1 = 0;
  private mean = 0;
  private fade = 0;
  private engaged = false;

  constructor(sampleRate: number) {
    this.a = 1 - onePole(MEAN_MS, sampleRate);
    this.fadeStep = 1 / ((FADE_MS / 1000) * sampleRate);
  }

  /** Whether the block is removing an offset now (or fading in or out of it). */
  get active(): boolean {
    return this.fade > 0;
  }

  process(buf: Float32Array): void {
    const a = this.a;
    let m1 = this.mean1;
    let m = this.mean;
    let fade = this.fade;
    let engaged = this.engaged;
    for (let i = 0; i < buf.length; i++) {
      const x = buf[i] as number;
      m1 += a * (x - m1);
      m += a * (m1 - m);
      const abs = Math.abs(m);
      if (!engaged && abs > DC_ENGAGE) engaged = true;
      else if (engaged && abs < DC_RELEASE) engaged = false;
      if (engaged) fade = Math.min(1, fade + this.fadeStep);
      else if (fade > 0) fade = Math.max(0, fade - this.fadeStep);
      if (fade > 0) buf[i] = x - fade * m;
    }
    this.mean1 = m1;
    this.mean = m;
    this.fade = fade;
    this.engaged = engaged;
  }

  reset(): void {
    this.mean1 = 0;
    this.mean = 0;
    this.fade = 0;
    this.engaged = false;
  }
}
