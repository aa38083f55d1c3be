// Look-ahead peak limiter whose output never exceeds the ceiling, by construction rather than by tuning:
//
//   need[n]   = min(1, ceiling / |x[n]|)                  gain sample n needs
//   hold[n]   = min(need[n-L .. n])                       sliding minimum over the look-ahead window
//   rel[n]    = min(hold[n], release toward 1 of rel[n-1])
//   gain[n]   = mean(rel[n-L .. n])                       (L+1)-tap box smoothing, so the gain glides
//   y[n]      = x[n-L] * gain[n]
//
// Every rel value in the window that averages into gain[n] covers sample x[n-L] in its sliding minimum,
// so each is <= need[n-L] and so is their mean. A final clamp to the ceiling only absorbs rounding.
import type { AudioBlock } from './types.ts';
import { dbToGain, float32AtMost, nextPow2, onePole } from './units.ts';

export interface LimiterSettings {
  ceilingDbfs: number;
}

const LOOKAHEAD_MS = 2;
const RELEASE_MS = 60;
// Re-sum the box window now and then so the running sum cannot drift over a long call.
const RESUM_EVERY = 1 << 14;

export class Limiter implements AudioBlock {
  readonly latency: number;
  // Window length L + 1; the rings are a power of two long so indices wrap with a mask.
  private readonly size: number;
  private readonly mask: number;
  private readonly delay: Float32Array;
  private readonly rel: Float64Array;
  // Monotonic deque (increasing need values) for the sliding minimum: values and their sample indices.
  private readonly dqVal: Float64Array;
  private readonly dqIdx: Float64Array;
  private dqHead = 0;
  private dqLen = 0;
  private readonly releaseCoef: number;
  private ceiling = 1;
  private clamp = 1;
  private pos = 0;
  private n = 0;
  private relPrev = 1;
  private sum: number;
  private minGain = 1;
  // Consecutive samples whose smoothed gain was exactly 1 (enables the fast path once >= L + 1).
  private ones = 0;

  constructor(sampleRate: number, settings: LimiterSettings) {
    this.latency = Math.max(1, Math.round((LOOKAHEAD_MS / 1000) * sampleRate));
    this.size = this.latency + 1;
    const ring = nextPow2(this.size + 1);
    this.mask = ring - 1;
    this.delay = new Float32Array(ring);
    this.rel = new Float64Array(ring).fill(1);
    this.dqVal = new Float64Array(ring);
    this.dqIdx = new Float64Array(ring);
    this.sum = this.size;
    this.releaseCoef = onePole(RELEASE_MS, sampleRate);
    this.update(settings);
  }

  update(settings: LimiterSettings): void {
    this.ceiling = dbToGain(settings.ceilingDbfs);
    this.clamp = float32AtMost(this.ceiling);
    // Samples already in the window were judged against the old ceiling: no fast path until they are out.
    this.ones = 0;
  }

  /** Smallest gain applied since the last call (1 = untouched); resets on read. */
  takeMinGain(): number {
    const g = this.minGain;
    this.minGain = 1;
    return g;
  }

  process(buf: Float32Array): void {
    const size = this.size;
    const mask = this.mask;
    const delay = this.delay;
    const rel = this.rel;
    const dqVal = this.dqVal;
    const dqIdx = this.dqIdx;
    const ceiling = this.ceiling;
    const clamp = this.clamp;
    const rc = this.releaseCoef;
    const inv = 1 / size;
    let pos = this.pos;
    let n = this.n;
    let relPrev = this.relPrev;
    let sum = this.sum;
    let head = this.dqHead;
    let len = this.dqLen;
    let minGain = this.minGain;
    let ones = this.ones;
    for (let i = 0; i < buf.length; i++) {
      const x = buf[i] as number;
      const ax = x < 0 ? -x : x;
      const need = ax > ceiling ? ceiling / ax : 1;
      if (need === 1 && ones >= size) {
        // Fast path, the common case: nothing in the window needs gain and the release is over, so the
        // gain is exactly 1 and the limiter is a delay line. Keep the deque and box sum consistent.
        dqVal[head] = 1;
        dqIdx[head] = n;
        len = 1;
        rel[pos] = 1;
        sum = size;
        delay[pos] = x;
        buf[i] = delay[(pos - size + 1) & mask] as number;
        pos = (pos + 1) & mask;
        n++;
        continue;
      }
      // Sliding minimum: drop larger-or-equal values from the back, the expired one from the front.
      while (len > 0 && (dqVal[(head + len - 1) & mask] as number) >= need) len--;
      const slot = (head + len) & mask;
      dqVal[slot] = need;
      dqIdx[slot] = n;
      len++;
      if ((dqIdx[head] as number) <= n - size) {
        head = (head + 1) & mask;
        len--;
      }
      const hold = dqVal[head] as number;
      let r = relPrev === 1 ? 1 : 1 + rc * (relPrev - 1);
      if (hold < r) r = hold;
      relPrev = r;
      ones = r === 1 ? ones + 1 : 0;
      // Box window over the last L + 1 gains: add the newest, drop the one L + 1 back.
      sum += r - (rel[(pos - size) & mask] as number);
      rel[pos] = r;
      delay[pos] = x;
      // x[n - L] sits L slots back.
      const out = delay[(pos - size + 1) & mask] as number;
      pos = (pos + 1) & mask;
      const g = sum * inv;
      if (g < minGain) minGain = g;
      let y = out * g;
      if (y > clamp) y = clamp;
      else if (y < -clamp) y = -clamp;
      buf[i] = y;
      n++;
      if ((n & (RESUM_EVERY - 1)) === 0) {
        sum = 0;
        for (let k = 0; k < size; k++) sum += rel[(pos - 1 - k) & mask] as number;
      }
    }
    // Release snaps to exactly 1 once within rounding, so the box sum returns to exactly `size`.
    this.relPrev = 1 - relPrev < 1e-9 ? 1 : relPrev;
    this.pos = pos;
    this.n = n;
    this.sum = sum;
    this.dqHead = head;
    this.dqLen = len;
    this.minGain = minGain;
    this.ones = ones;
  }

  reset(): void {
    this.delay.fill(0);
    this.rel.fill(1);
    this.sum = this.size;
    this.pos = 0;
    this.n = 0;
    this.relPrev = 1;
    this.dqHead = 0;
    this.dqLen = 0;
    this.minGain = 1;
    this.ones = 0;
  }
}
