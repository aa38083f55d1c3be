// Packet-level RTP jitter buffer with a fixed playout delay (`jitter_buffer_ms`) and loss concealment.
//
// The first packet anchors the playout clock: the frame with RTP timestamp ts plays at
//   anchorArrival + targetMs + (ts - ts0) / sampleRate
// A packet arriving after its frame has played is late: it is discarded and its frame was concealed,
// so it counts as lost too. A bigger buffer turns fewer packets late but delays every frame by more;
// that latency/loss trade-off is what the optimizers tune. The buffer holds at most 2 x target (+ one
// frame) of audio; a packet further ahead than that (a sender burst, a clock jump) overflows and is dropped.
//
// Timestamps are unwrapped as signed 32-bit differences from the first packet, so RTP wrap-around is fine.
import { PacketLossConcealer } from './plc.ts';

export interface RtpPacket {
  /** RTP sequence number (16-bit); informational, ordering uses the timestamp. */
  seq: number;
  /** RTP timestamp in samples (32-bit, wraps). */
  timestamp: number;
  /** Arrival time at the receiver, ms on any monotonic clock. */
  arrivalMs: number;
  /** One frame of audio (frameMs at the buffer's sample rate). */
  payload: Float32Array;
}

export interface JitterBufferOptions {
  targetMs: number;
  sampleRate: number;
  /** Packetization interval; 20 ms unless told. */
  frameMs?: number;
}

export type PushResult = 'buffered' | 'late' | 'duplicate' | 'overflow';

export interface JitterBufferStats {
  /** Packets handed to push(). */
  received: number;
  /** Frames played from a packet. */
  played: number;
  /** Frames filled by concealment: lost packets, late ones included. */
  concealed: number;
  /** Frames whose packet was not there at playout time (concealed), plus late packets from before playout began. */
  lost: number;
  /** Packets that arrived after their frame had played (discarded; also counted in lost). */
  late: number;
  duplicates: number;
  overflow: number;
  /** lost / (frames played or concealed + late packets from before playout began); 0 before playout starts. */
  lossRatio: number;
  /**
   * Mean of buffered frames / capacity (2 x target + one frame), sampled at each playout after the playing
   * frame left, 0..1. A steady network sits near target / capacity (just under 0.5); near 0 means underruns.
   */
  meanFill: number;
  /** Mean time packets waited in the buffer (playout - arrival), ms. */
  meanWaitMs: number;
  /** Playout delay behind the first packet's arrival: the latency this buffer adds, ms. */
  latencyMs: number;
}

export class JitterBuffer {
  readonly frameSamples: number;
  readonly frameMs: number;
  readonly targetMs: number;
  private readonly capacityFrames: number;
  private readonly slots = new Map<number, RtpPacket>();
  private readonly plc: PacketLossConcealer;
  // Which recent slots played from a packet, so a copy arriving after its original played is a
  // duplicate, not a late packet. Indexed by slot modulo its length.
  private readonly playedRecent = new Uint8Array(1024);
  private ts0 = 0;
  private anchorMs = Number.NaN;
  private nextSlot = 0;
  private firstSlot = 0;
  private lostUnscheduled = 0;
  private received = 0;
  private played = 0;
  private concealed = 0;
  private late = 0;
  private duplicates = 0;
  private overflow = 0;
  private fillSum = 0;
  private waitSum = 0;

  constructor(opts: JitterBufferOptions) {
    this.frameMs = opts.frameMs ?? 20;
    this.frameSamples = Math.round((opts.sampleRate * this.frameMs) / 1000);
    if (!(opts.targetMs > 0)) throw new RangeError(`jitter buffer target ${opts.targetMs} ms must be > 0`);
    this.targetMs = opts.targetMs;
    this.capacityFrames = Math.ceil((2 * opts.targetMs) / this.frameMs) + 1;
    this.plc = new PacketLossConcealer(opts.sampleRate);
  }

  /** Whether the first packet has arrived (and so the playout clock runs). */
  started(): boolean {
    return !Number.isNaN(this.anchorMs);
  }

  /** Playout time (ms) of the next frame, or undefined before the first packet. */
  nextPlayoutMs(): number | undefined {
    return this.started() ? this.playoutMs(this.nextSlot) : undefined;
  }

  push(packet: RtpPacket): PushResult {
    if (packet.payload.length !== this.frameSamples) {
      throw new RangeError(
        `packet ${packet.seq} has ${packet.payload.length} samples, expected ${this.frameSamples}`,
      );
    }
    this.received++;
    if (!this.started()) {
      this.ts0 = packet.timestamp;
      this.anchorMs = packet.arrivalMs;
    }
    const slot = this.slotOf(packet.timestamp);
    if (
      slot < this.nextSlot &&
      this.played + this.concealed === 0 &&
      packet.arrivalMs <= this.playoutMs(slot)
    ) {
      // Playout has not started and a packet from before the first arrival is still in time (the first
      // packets were reordered): start playout from it.
      this.nextSlot = slot;
      this.firstSlot = slot;
    }
    if (slot < this.nextSlot) {
      if (this.nextSlot - slot <= this.playedRecent.length && this.playedRecent[slot & 1023] === 1) {
        this.duplicates++;
        return 'duplicate';
      }
      this.late++;
      // A frame from before where playout started was never scheduled, so not concealed: still lost audio.
      if (slot < this.firstSlot) this.lostUnscheduled++;
      return 'late';
    }
    if (this.slots.has(slot)) {
      this.duplicates++;
      return 'duplicate';
    }
    if (slot >= this.nextSlot + this.capacityFrames) {
      this.overflow++;
      return 'overflow';
    }
    this.slots.set(slot, packet);
    return 'buffered';
  }

  /**
   * Plays every frame whose playout time is at or before `nowMs` (strictly before with
   * `{ inclusive: false }`), concealing missing ones. Returns the audio, possibly empty.
   */
  pullUntil(nowMs: number, opts: { inclusive?: boolean } = {}): Float32Array {
    if (!this.started()) return new Float32Array(0);
    const inclusive = opts.inclusive ?? true;
    let frames = 0;
    for (;;) {
      const t = this.playoutMs(this.nextSlot + frames);
      if (inclusive ? t > nowMs : t >= nowMs) break;
      frames++;
    }
    return this.pullFrames(frames);
  }

  /** Plays the next `count` frames regardless of time (end of stream). */
  pullFrames(count: number): Float32Array {
    const out = new Float32Array(count * this.frameSamples);
    for (let f = 0; f < count; f++) {
      const frame = out.subarray(f * this.frameSamples, (f + 1) * this.frameSamples);
      const slot = this.nextSlot;
      const packet = this.slots.get(slot);
      if (packet !== undefined) this.slots.delete(slot);
      // Fill is sampled at each playout, after the playing frame has left the buffer.
      this.fillSum += Math.min(1, this.slots.size / this.capacityFrames);
      if (packet !== undefined) {
        this.plc.good(packet.payload, frame);
        this.played++;
        this.waitSum += this.playoutMs(slot) - packet.arrivalMs;
        this.playedRecent[slot & 1023] = 1;
      } else {
        this.plc.conceal(frame);
        this.concealed++;
        this.playedRecent[slot & 1023] = 0;
      }
      this.nextSlot++;
    }
    return out;
  }

  /** Frames still waiting, counting from the next to play to the furthest buffered one. */
  pendingFrames(): number {
    let last = this.nextSlot - 1;
    for (const s of this.slots.keys()) if (s > last) last = s;
    return last - this.nextSlot + 1;
  }

  stats(): JitterBufferStats {
    const frames = this.played + this.concealed;
    return {
      received: this.received,
      played: this.played,
      concealed: this.concealed,
      lost: this.concealed + this.lostUnscheduled,
      late: this.late,
      duplicates: this.duplicates,
      overflow: this.overflow,
      lossRatio: frames === 0 ? 0 : (this.concealed + this.lostUnscheduled) / (frames + this.lostUnscheduled),
      meanFill: frames === 0 ? 0 : this.fillSum / frames,
      meanWaitMs: this.played === 0 ? 0 : this.waitSum / this.played,
      latencyMs: this.targetMs,
    };
  }

  private slotOf(timestamp: number): number {
    // Signed 32-bit difference: correct across RTP timestamp wrap-around.
    const diff = (timestamp - this.ts0) | 0;
    return Math.round(diff / this.frameSamples);
  }

  private playoutMs(slot: number): number {
    return this.anchorMs + this.targetMs + slot * this.frameMs;
  }
}

/**
 * Batch replay of a packet trace through a jitter buffer (counterfactual replay of network stations):
 * packets are taken in arrival order, each frame plays at its scheduled time, and the stream ends with
 * the last frame any packet belonged to. A packet arriving exactly at its playout time is in time.
 */
export function runJitterBuffer(
  packets: readonly RtpPacket[],
  opts: JitterBufferOptions,
): { audio: Float32Array; stats: JitterBufferStats } {
  const jb = new JitterBuffer(opts);
  const order = packets.map((p, i) => ({ p, i })).sort((a, b) => a.p.arrivalMs - b.p.arrivalMs || a.i - b.i);
  const chunks: Float32Array[] = [];
  for (const { p } of order) {
    chunks.push(jb.pullUntil(p.arrivalMs, { inclusive: false }));
    jb.push(p);
  }
  chunks.push(jb.pullFrames(jb.pendingFrames()));
  let total = 0;
  for (const c of chunks) total += c.length;
  const audio = new Float32Array(total);
  let at = 0;
  for (const c of chunks) {
    audio.set(c, at);
    at += c.length;
  }
  return { audio, stats: jb.stats() };
}
