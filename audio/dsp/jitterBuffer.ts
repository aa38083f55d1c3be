// Packet-level RTP jitter buffer with a target playout delay (`jitter_buffer_ms`) and loss concealment.
//
// The first packet anchors the playout clock: the frame with RTP timestamp ts plays at
//   anchorArrival + delayMs + (ts - ts0) / sampleRate
// where delayMs is the playout delay in effect (the target, once a resize has settled). A packet arriving
// after its frame has played is late: it is discarded and its frame was concealed, so it counts as lost
// too. A bigger buffer turns fewer packets late but delays every frame by more; that latency/loss
// trade-off is what the optimizers tune. The buffer holds at most 2 x target (+ one frame) of audio; a
// packet further ahead than that (a sender burst, a clock jump) overflows and is dropped.
//
// The target may change mid-stream (setTargetMs), taking effect at the next frame played:
// - Growing delays the playout of every later frame by the difference at once: the player fills that gap
//   with concealment (`insertedMs`); no packet is lost by it, and the packets now wait longer.
// - Shrinking must drop whole frames at the playout boundary: each dropped frame brings every later one
//   forward by one frame (the last partial frame is made up by a short insertion, so the delay lands
//   exactly on the target). A frame is only dropped where it is cheap: a frame whose packet is missing
//   (it would be concealed anyway) or a quiet one (a pause: skipping it is inaudible); after MAX_DROP_WAIT_MS
//   without such a frame the next one is dropped regardless (and counts as lost).
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

/** What happened to one playout slot (see pullSlot). */
export interface SlotPlayout {
  /** The slot's audio is its packet's (false: concealment). */
  fromPacket: boolean;
  /** The slot was dropped to shrink the buffer: a stream player skips its audio. */
  dropped: boolean;
  /** Buffered frames / capacity after the slot left the buffer, 0..1. */
  fill: number;
}

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
  /**
   * lost / (frames played, concealed or dropped-and-lost + late packets from before playout began); 0 before
   * playout starts.
   */
  lossRatio: number;
  /**
   * Mean of buffered frames / capacity (2 x target + one frame), sampled at each playout after the playing
   * frame left, 0..1. A steady network sits near target / capacity (just under 0.5); near 0 means underruns.
   */
  meanFill: number;
  /** Mean time packets waited in the buffer (playout - arrival), ms. */
  meanWaitMs: number;
  /** Playout delay in effect behind the first packet's arrival: the latency this buffer adds, ms. */
  latencyMs: number;
  /** Frames dropped to shrink the buffer (quiet or missing ones first; a forced one also counts as lost). */
  dropped: number;
  /** Concealment the player inserted to grow the buffer (and to round a shrink to the target), ms. */
  insertedMs: number;
}

// A frame this far below the loudest recent frame (or below the absolute floor) is a pause: dropping it
// to shrink the buffer is inaudible.
const QUIET_BELOW_PEAK_DB = 20;
const QUIET_FLOOR_DBFS = -60;
// Memory of the loudest recent frame, ms (it decays by QUIET_BELOW_PEAK_DB over this time).
const PEAK_MEMORY_MS = 2000;
// A shrink waits at most this long for a cheap frame to drop.
const MAX_DROP_WAIT_MS = 500;

export class JitterBuffer {
  readonly frameSamples: number;
  readonly frameMs: number;
  private target: number;
  // Playout delay in effect: the target, except while a shrink waits for frames to drop.
  private delayMs: number;
  // Sized for the delay in effect, so a shrink still holds what is buffered until its frames are dropped.
  private capacityFrames: number;
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
  private dropped = 0;
  private droppedLost = 0;
  private insertedMs = 0;
  // Slots a pending shrink has waited for a cheap frame, and the loudest recent frame (mean square).
  private dropWait = 0;
  private peakPower = 0;
  private readonly peakDecay: number;

  constructor(opts: JitterBufferOptions) {
    this.frameMs = opts.frameMs ?? 20;
    this.frameSamples = Math.round((opts.sampleRate * this.frameMs) / 1000);
    this.target = JitterBuffer.checkTarget(opts.targetMs);
    this.delayMs = opts.targetMs;
    this.capacityFrames = this.capacityFor(opts.targetMs);
    this.plc = new PacketLossConcealer(opts.sampleRate);
    this.peakDecay = 10 ** (-QUIET_BELOW_PEAK_DB / 10 / (PEAK_MEMORY_MS / this.frameMs));
  }

  /** The target playout delay, ms. */
  get targetMs(): number {
    return this.target;
  }

  /** The playout delay in effect now, ms (differs from the target while a shrink waits to drop frames). */
  get playoutDelayMs(): number {
    return this.delayMs;
  }

  /**
   * Changes the target playout delay; it takes effect at the next frame played. Growing delays every later
   * frame at once (the player conceals the gap); shrinking drops frames at the playout boundary, quiet or
   * missing ones first (see the top of this file).
   */
  setTargetMs(targetMs: number): void {
    this.target = JitterBuffer.checkTarget(targetMs);
    if (!this.started() || this.played + this.concealed === 0) {
      // Nothing has played yet: the schedule simply starts with the new delay.
      this.delayMs = targetMs;
    } else if (targetMs > this.delayMs) {
      this.insertedMs += targetMs - this.delayMs;
      this.delayMs = targetMs;
    }
    // A smaller target is reached by dropping frames in pullSlot().
    this.dropWait = 0;
    this.capacityFrames = this.capacityFor(this.delayMs);
  }

  private static checkTarget(targetMs: number): number {
    if (!(targetMs > 0)) throw new RangeError(`jitter buffer target ${targetMs} ms must be > 0`);
    return targetMs;
  }

  private capacityFor(targetMs: number): number {
    return Math.ceil((2 * targetMs) / this.frameMs) + 1;
  }

  /** Whether the first packet has arrived (and so the playout clock runs). */
  started(): boolean {
    return !Number.isNaN(this.anchorMs);
  }

  /** Playout time (ms) of the next frame, or undefined before the first packet. */
  nextPlayoutMs(): number | undefined {
    return this.started() ? this.playoutMs(this.nextSlot) : undefined;
  }

  /**
   * The slot the next pullSlot plays. Slot 0 is the first packet to arrive; playout starts earlier
   * (a negative slot) when packets from before it arrive while still in time (the first were reordered).
   */
  get nextSlotIndex(): number {
    return this.nextSlot;
  }

  /** Playout time (ms) of `slot` with the delay in effect, or undefined before the first packet. */
  slotPlayoutMs(slot: number): number | undefined {
    return this.started() ? this.playoutMs(slot) : undefined;
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
   * `{ inclusive: false }`), concealing missing ones and skipping frames dropped to shrink the buffer.
   * Returns the audio, possibly empty.
   */
  pullUntil(nowMs: number, opts: { inclusive?: boolean } = {}): Float32Array {
    if (!this.started()) return new Float32Array(0);
    const inclusive = opts.inclusive ?? true;
    const chunks: Float32Array[] = [];
    for (;;) {
      const t = this.playoutMs(this.nextSlot);
      if (inclusive ? t > nowMs : t >= nowMs) break;
      const frame = new Float32Array(this.frameSamples);
      if (!this.pullSlot(frame).dropped) chunks.push(frame);
    }
    return concat(chunks, this.frameSamples);
  }

  /** Plays the next `count` frames regardless of time (end of stream), skipping dropped ones. */
  pullFrames(count: number): Float32Array {
    const out = new Float32Array(count * this.frameSamples);
    for (let f = 0; f < count; ) {
      const frame = out.subarray(f * this.frameSamples, (f + 1) * this.frameSamples);
      if (!this.pullSlot(frame).dropped) f++;
    }
    return out;
  }

  /**
   * Plays exactly one slot (the next RTP frame in timestamp order) into `out` (one frame long), whatever
   * the time. For a slot dropped to shrink the buffer, `out` still gets the slot's audio as it would
   * have sounded had it played (its packet when it was a quiet one, else concealment), so a caller that
   * keeps its output on the sender's frame grid stays aligned; a stream player skips it.
   */
  pullSlot(out: Float32Array): SlotPlayout {
    if (out.length !== this.frameSamples) {
      throw new RangeError(`slot output has ${out.length} samples, expected ${this.frameSamples}`);
    }
    const slot = this.nextSlot;
    const packet = this.slots.get(slot);
    if (packet !== undefined) this.slots.delete(slot);
    const fill = Math.min(1, this.slots.size / this.capacityFrames);
    let power = 0;
    if (packet !== undefined) {
      const p = packet.payload;
      for (let i = 0; i < p.length; i++) power += (p[i] as number) * (p[i] as number);
      power /= p.length;
    }
    this.peakPower = Math.max(power, this.peakPower * this.peakDecay);
    let dropped = false;
    let fromPacket = packet !== undefined;
    if (this.delayMs > this.target) {
      const quiet =
        packet !== undefined &&
        (power < 10 ** (QUIET_FLOOR_DBFS / 10) || power < this.peakPower * 10 ** (-QUIET_BELOW_PEAK_DB / 10));
      const forced = ++this.dropWait * this.frameMs > MAX_DROP_WAIT_MS;
      if (packet === undefined || quiet || forced) {
        dropped = true;
        this.dropped++;
        this.dropWait = 0;
        const next = this.delayMs - this.frameMs;
        if (next < this.target) this.insertedMs += this.target - next;
        this.delayMs = Math.max(this.target, next);
        this.capacityFrames = this.capacityFor(this.delayMs);
        // A forced drop of a sounding frame loses it; a missing packet was lost anyway.
        if (!quiet) {
          this.droppedLost++;
          fromPacket = false;
        }
      }
    }
    if (fromPacket && packet !== undefined) {
      this.plc.good(packet.payload, out);
      if (!dropped) {
        this.played++;
        this.waitSum += this.playoutMs(slot) - packet.arrivalMs;
      }
      this.playedRecent[slot & 1023] = 1;
    } else {
      this.plc.conceal(out);
      if (!dropped) this.concealed++;
      // A packet that was there but dropped must not later count as late.
      this.playedRecent[slot & 1023] = packet !== undefined ? 1 : 0;
    }
    if (!dropped) this.fillSum += fill;
    this.nextSlot++;
    return { fromPacket, dropped, fill };
  }

  /** Frames still waiting, counting from the next to play to the furthest buffered one. */
  pendingFrames(): number {
    let last = this.nextSlot - 1;
    for (const s of this.slots.keys()) if (s > last) last = s;
    return last - this.nextSlot + 1;
  }

  stats(): JitterBufferStats {
    const frames = this.played + this.concealed;
    const lost = this.concealed + this.lostUnscheduled + this.droppedLost;
    return {
      received: this.received,
      played: this.played,
      concealed: this.concealed,
      lost,
      late: this.late,
      duplicates: this.duplicates,
      overflow: this.overflow,
      lossRatio:
        frames + this.droppedLost === 0 ? 0 : lost / (frames + this.lostUnscheduled + this.droppedLost),
      meanFill: frames === 0 ? 0 : this.fillSum / frames,
      meanWaitMs: this.played === 0 ? 0 : this.waitSum / this.played,
      latencyMs: this.delayMs,
      dropped: this.dropped,
      insertedMs: this.insertedMs,
    };
  }

  private slotOf(timestamp: number): number {
    // Signed 32-bit difference: correct across RTP timestamp wrap-around.
    const diff = (timestamp - this.ts0) | 0;
    return Math.round(diff / this.frameSamples);
  }

  private playoutMs(slot: number): number {
    return this.anchorMs + this.delayMs + slot * this.frameMs;
  }
}

function concat(chunks: readonly Float32Array[], frame: number): Float32Array {
  const out = new Float32Array(chunks.length * frame);
  for (let i = 0; i < chunks.length; i++) out.set(chunks[i] as Float32Array, i * frame);
  return out;
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
