// Cuts a received RTP stream into a station's segments on the wall clock: segment k is cut at first
// arrival + (k + 1) x segment + hold and holds the frames of its own stretch of the sender's timeline
// (and any of earlier ones) that arrived by then, in arrival order, with their real arrival times. The
// hold (at least the largest jitter buffer delay) makes sure every frame of segment k has been played,
// or given up as late, by the time it is cut. A frame that arrives early for a later segment waits for
// that segment (handed to the jitter buffer before it plays, it would overflow it); one that arrives
// after its segment was cut goes with the next, where the jitter buffer finds it late. Pure: the
// caller owns the clock and the timers.
import type { RtpPacket } from '../../audio/dsp/jitterBuffer.ts';
import type { ReceivedFrame } from './session.ts';

export interface SegmenterOptions {
  frameSamples: number;
  /** Segment length, ms: a whole number of frames. */
  segmentMs: number;
  frameMs?: number;
  holdMs: number;
}

export interface CutSegment {
  index: number;
  packets: RtpPacket[];
  /** RTP timestamp of the segment's first frame on the sender's grid. */
  rtpTimestamp: number;
  /** Samples in the segment (whole frames; the last segment of a call may be shorter). */
  samples: number;
}

export class Segmenter {
  private pending: ReceivedFrame[] = [];
  private t0: number | undefined;
  private ts0 = 0;
  private next = 0;
  private readonly framesPerSegment: number;
  private lastArrival = Number.NEGATIVE_INFINITY;

  constructor(private readonly o: SegmenterOptions) {
    const frameMs = o.frameMs ?? 20;
    if (!(o.segmentMs > 0) || o.segmentMs % frameMs !== 0)
      throw new RangeError(`segmentMs must be a positive multiple of ${frameMs} ms, got ${o.segmentMs}`);
    this.framesPerSegment = o.segmentMs / frameMs;
  }

  add(f: ReceivedFrame): void {
    if (this.t0 === undefined) {
      this.t0 = f.arrivalMs;
      this.ts0 = f.timestamp;
    }
    this.pending.push(f);
    this.lastArrival = Math.max(this.lastArrival, f.arrivalMs);
  }

  get started(): boolean {
    return this.t0 !== undefined;
  }

  get lastArrivalMs(): number {
    return this.lastArrival;
  }

  get nextIndex(): number {
    return this.next;
  }

  /** When the next segment can be cut (ms on the frames' clock); undefined before the first frame. */
  dueAt(): number | undefined {
    return this.t0 === undefined ? undefined : this.t0 + (this.next + 1) * this.o.segmentMs + this.o.holdMs;
  }

  /** Cuts the next segment with the frames that arrived by its due time. */
  cut(): CutSegment {
    const due = this.dueAt();
    if (due === undefined) throw new Error('no frame received yet');
    const end = (this.next + 1) * this.framesPerSegment;
    const mine = (f: ReceivedFrame) => f.arrivalMs <= due && this.slotOf(f) < end;
    const take = this.pending.filter(mine);
    this.pending = this.pending.filter((f) => !mine(f));
    return this.make(take, this.framesPerSegment);
  }

  /**
   * The end of the stream: the rest as a last segment up to the last frame received on the sender's
   * grid (at most one segment long; null when nothing of it arrived). Frames beyond it are dropped.
   */
  cutLast(): CutSegment | null {
    if (this.t0 === undefined) return null;
    const fs = this.o.frameSamples;
    const base = this.ts0 + this.next * this.framesPerSegment * fs;
    let frames = 0;
    for (const f of this.pending) frames = Math.max(frames, Math.floor(((f.timestamp - base) | 0) / fs) + 1);
    frames = Math.min(frames, this.framesPerSegment);
    if (frames <= 0) return null;
    const take = this.pending;
    this.pending = [];
    return this.make(take, frames);
  }

  /** Frame index of `f` on the sender's timeline, from the first frame received. */
  private slotOf(f: ReceivedFrame): number {
    return Math.floor(((f.timestamp - this.ts0) | 0) / this.o.frameSamples);
  }

  private make(frames: ReceivedFrame[], count: number): CutSegment {
    const fs = this.o.frameSamples;
    const index = this.next++;
    return {
      index,
      packets: frames.map((f) => ({
        seq: f.seq,
        timestamp: f.timestamp,
        arrivalMs: f.arrivalMs,
        payload: f.samples,
      })),
      rtpTimestamp: (this.ts0 + index * this.framesPerSegment * fs) >>> 0,
      samples: count * fs,
    };
  }
}
