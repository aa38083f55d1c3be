// Network-side metrics of a station: RFC 3550 interarrival jitter, packet loss and its burstiness, and
// the NetworkMetrics record with the G.107 rating of the resulting mouth-to-ear conditions.

import { type Codec, emodel } from './emodel.ts';
import type { NetworkMetrics } from './types.ts';

const TWO_32 = 2 ** 32;

/**
 * RFC 3550 §6.4.1 interarrival jitter, streaming. For consecutive packets i-1, i with RTP timestamps S
 * and arrival times R (both in timestamp units), D = (R_i - R_{i-1}) - (S_i - S_{i-1}) and
 * J += (|D| - J) / 16. Packets are fed in arrival order, as the RFC specifies; the 32-bit RTP timestamp
 * may wrap. The state is kept in timestamp units like the RFC's and converted to ms on read.
 */
export class Rfc3550Jitter {
  private j = 0;
  private clockRate = 0;
  private lastTimestamp = 0;
  private lastArrivalMs = 0;
  private started = false;

  /** Feed one packet; returns the jitter in ms after it. */
  update(rtpTimestamp: number, arrivalMs: number, clockRate: number): number {
    if (!(clockRate > 0)) throw new RangeError(`clockRate must be > 0, got ${clockRate}`);
    if (this.started && clockRate === this.clockRate) {
      // Signed 32-bit timestamp difference, so a wrap between the two packets costs nothing.
      let ds = (rtpTimestamp - this.lastTimestamp) % TWO_32;
      if (ds >= TWO_32 / 2) ds -= TWO_32;
      else if (ds < -TWO_32 / 2) ds += TWO_32;
      const dr = ((arrivalMs - this.lastArrivalMs) * clockRate) / 1000;
      const d = dr - ds;
      // RFC 3550 §6.4.1's gain of 1/16: "a good noise reduction ratio while maintaining a reasonable
      // rate of convergence".
      this.j += (Math.abs(d) - this.j) / 16;
    } else if (this.started) {
      // A new clock rate (e.g. a codec change) starts a new stream: keep J, converted to the new units.
      this.j = (this.j * clockRate) / this.clockRate;
    }
    this.started = true;
    this.clockRate = clockRate;
    this.lastTimestamp = rtpTimestamp;
    this.lastArrivalMs = arrivalMs;
    return this.jitterMs;
  }

  /** Current jitter, ms (0 before two packets). */
  get jitterMs(): number {
    return this.clockRate > 0 ? (this.j * 1000) / this.clockRate : 0;
  }

  /** Current jitter in RTP timestamp units, as an RTCP receiver report carries it. */
  get jitterTimestampUnits(): number {
    return this.j;
  }

  reset(): void {
    this.j = 0;
    this.clockRate = 0;
    this.started = false;
  }
}

export interface LossStats {
  /** Packets expected (received + lost). */
  readonly expected: number;
  readonly lost: number;
  /** lost / expected, 0 when nothing was expected. */
  readonly lossRatio: number;
  /** Runs of consecutive lost packets. */
  readonly bursts: number;
  /** lost / bursts, 0 without loss. */
  readonly meanBurstLength: number;
  /**
   * G.107 / G.113 BurstR: the observed mean burst length over the mean burst length expected for
   * random loss at the same rate, 1 / (1 - p). 1 = random; > 1 bursty; < 1 more scattered than random.
   * Defined as 1 when there is no loss or nothing was received (nothing to compare).
   */
  readonly burstRatio: number;
}

/**
 * Loss statistics of one stream from a received (true) / lost (false) flag per expected packet, in
 * sequence order.
 */
export function lossStats(received: ArrayLike<boolean>): LossStats {
  const expected = received.length;
  let lost = 0;
  let bursts = 0;
  let inBurst = false;
  for (let i = 0; i < expected; i++) {
    if (received[i]) {
      inBurst = false;
    } else {
      lost++;
      if (!inBurst) bursts++;
      inBurst = true;
    }
  }
  const lossRatio = expected === 0 ? 0 : lost / expected;
  const meanBurstLength = bursts === 0 ? 0 : lost / bursts;
  const burstRatio = lost === 0 || lost === expected ? 1 : meanBurstLength * (1 - lossRatio);
  return { expected, lost, lossRatio, bursts, meanBurstLength, burstRatio };
}

export interface NetworkMetricsInput {
  /** Loss over the segment, e.g. from lossStats(); packets dropped by the jitter buffer count as lost. */
  readonly loss: Pick<LossStats, 'lossRatio' | 'burstRatio'>;
  /** RFC 3550 jitter, ms (Rfc3550Jitter.jitterMs). */
  readonly jitterMs: number;
  /** One-way network transport delay, ms (e.g. RTCP round-trip time / 2). */
  readonly networkDelayMs: number;
  /** Mean delay the jitter buffer adds before playout, ms. */
  readonly jitterBufferDelayMs: number;
  /** Mean fill of the jitter buffer, 0..1. */
  readonly jitterBufferFill: number;
  /** Packetization, codec look-ahead and device delay, ms (default 0: the caller knows its path). */
  readonly codecDelayMs?: number;
  /** Codec for the E-model's Ie and Bpl (default 'g711', G.107's defaults). */
  readonly codec?: Codec;
}

const nonNegative = (v: number) => (Number.isFinite(v) && v > 0 ? v : 0);

/**
 * The avro NetworkMetrics record. Latency is mouth-to-ear: network + jitter buffer + codec delay, and
 * that is the delay the E-model rates. Jitter itself is not an E-model input (G.107 sees it only
 * through the buffer delay it forces and the late packets it drops), so it is reported, not rated.
 */
export function networkMetrics(input: NetworkMetricsInput): NetworkMetrics {
  const lossRatio = Math.min(1, nonNegative(input.loss.lossRatio));
  const burstRatio =
    Number.isFinite(input.loss.burstRatio) && input.loss.burstRatio > 0 ? input.loss.burstRatio : 1;
  const latencyMs =
    nonNegative(input.networkDelayMs) +
    nonNegative(input.jitterBufferDelayMs) +
    nonNegative(input.codecDelayMs ?? 0);
  const { r, mos } = emodel({
    packetLossPct: 100 * lossRatio,
    burstR: burstRatio,
    oneWayDelayMs: latencyMs,
    ...(input.codec ? { codec: input.codec } : {}),
  });
  return {
    packet_loss_ratio: lossRatio,
    burst_ratio: burstRatio,
    jitter_ms: nonNegative(input.jitterMs),
    latency_ms: latencyMs,
    jitter_buffer_fill: Math.min(1, nonNegative(input.jitterBufferFill)),
    r_factor: r,
    mos,
  };
}
