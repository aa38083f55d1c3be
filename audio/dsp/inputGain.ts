// Static input gain. A changed setting is approached with a ~5 ms one-pole ramp so a mid-call change
// (the parameter is hot) does not click.
import type { AudioBlock } from './types.ts';
import { dbToGain, onePole } from './units.ts';

export interface InputGainSettings {
  gainDb: number;
}

export class InputGain implements AudioBlock {
  readonly latency = 0;
  private target: number;
  private current: number;
  private readonly coef: number;

  constructor(sampleRate: number, settings: InputGainSettings) {
    this.target = dbToGain(settings.gainDb);
    this.current = this.target;
    this.coef = onePole(5, sampleRate);
  }

  update(settings: InputGainSettings): void {
    this.target = dbToGain(settings.gainDb);
  }

  process(buf: Float32Array): void {
    let g = this.current;
    const t = this.target;
    if (g === t) {
      if (g !== 1) for (let i = 0; i < buf.length; i++) buf[i] = (buf[i] as number) * g;
      return;
    }
    const a = this.coef;
    for (let i = 0; i < buf.length; i++) {
      g = t + a * (g - t);
      buf[i] = (buf[i] as number) * g;
    }
    // Snap once within 1e-6 so the steady state takes the cheap path above.
    this.current = Math.abs(g - t) < 1e-6 * t ? t : g;
  }

  reset(): void {
    this.current = this.target;
  }
}
