// Per-source reception statistics of an RTP receiver (RFC 3550 Appendix A): the extended sequence
// number with wrap-around and the dropout/misorder rules of A.1, expected and lost packets of A.3 (over
// the whole stream and since the previous report), and the interarrival jitter of A.8. Unlike A.1's
// counting, a duplicate (a sequence number already received among the last DUP_WINDOW) is recognised
// and not counted as received, so the cumulative loss is exact when the network duplicates packets.
import { Rfc3550Jitter } from '../../audio/metrics/network.ts';
import type { ReportBlock } from './rtcp.ts';

// A.1's constants: a jump ahead of up to MAX_DROPOUT is loss; up to MAX_MISORDER behind is reordering;
// anything else is a restarted sender (confirmed by the next packet following it).
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
const SEQ_MOD = 1 << 16;
const DUP_WINDOW = 1024;

export type SeqVerdict = 'first' | 'in-order' | 'reordered' | 'duplicate' | 'restart' | 'bad';

export interface IntervalCounts {
  expected: number;
  received: number;
  lost: number;
}

export class ReceptionStats {
  private baseSeq = 0;
  private maxSeq = 0;
  private cycles = 0;
  private badSeq = SEQ_MOD + 1;
  private received = 0;
  private readonly seen = new Int32Array(DUP_WINDOW).fill(-1);
  private readonly jitter = new Rfc3550Jitter();
  private readonly priors = new Map<string, { expected: number; received: number }>();
  private started = false;
  /** Middle 32 bits of the last SR's NTP time and when it arrived (ms, local clock). */
  private lastSr: { lsr: number; atMs: number } | null = null;

  constructor(
    readonly ssrc: number,
    readonly clockRate: number,
  ) {}

  /** Records one packet's sequence number; returns what it was. Jitter is fed separately (audio only). */
  update(seq: number): SeqVerdict {
    if (!this.started) {
      this.started = true;
      this.initSeq(seq);
      this.received = 1;
      this.mark(seq);
      return 'first';
    }
    const udelta = (seq - this.maxSeq + SEQ_MOD) % SEQ_MOD;
    let verdict: SeqVerdict;
    if (udelta !== 0 && udelta < MAX_DROPOUT) {
      if (seq < this.maxSeq) this.cycles += SEQ_MOD;
      this.maxSeq = seq;
      verdict = 'in-order';
    } else if (udelta <= SEQ_MOD - MAX_MISORDER) {
      if (udelta === 0) verdict = 'duplicate';
      else if (seq === this.badSeq) {
        // Two packets in a row after a big jump: the sender restarted its numbering.
        this.initSeq(seq);
        verdict = 'restart';
      } else {
        this.badSeq = (seq + 1) % SEQ_MOD;
        return 'bad';
      }
    } else verdict = 'reordered';
    if (verdict !== 'restart' && verdict !== 'duplicate' && this.wasSeen(seq)) verdict = 'duplicate';
    if (verdict === 'duplicate') return verdict;
    this.received++;
    this.mark(seq);
    return verdict;
  }

  /** Feeds the A.8 jitter with an audio packet's RTP timestamp and arrival time (ms). */
  updateJitter(rtpTimestamp: number, arrivalMs: number): void {
    this.jitter.update(rtpTimestamp, arrivalMs, this.clockRate);
  }

  /** An SR from this source arrived: remembered for the LSR/DLSR of our next report. */
  senderReport(lsr: number, arrivalMs: number): void {
    this.lastSr = { lsr, atMs: arrivalMs };
  }

  private initSeq(seq: number): void {
    this.baseSeq = seq;
    this.maxSeq = seq;
    this.badSeq = SEQ_MOD + 1;
    this.cycles = 0;
    this.received = 0;
    this.seen.fill(-1);
    this.priors.clear();
  }

  private ext(seq: number): number {
    // The extended number of a packet near maxSeq: the cycle it falls in.
    let e = this.cycles + seq;
    const max = this.cycles + this.maxSeq;
    if (e > max + SEQ_MOD / 2) e -= SEQ_MOD;
    else if (e < max - SEQ_MOD / 2) e += SEQ_MOD;
    return e;
  }

  private mark(seq: number): void {
    const e = this.ext(seq);
    this.seen[((e % DUP_WINDOW) + DUP_WINDOW) % DUP_WINDOW] = e;
  }

  private wasSeen(seq: number): boolean {
    const e = this.ext(seq);
    return this.seen[((e % DUP_WINDOW) + DUP_WINDOW) % DUP_WINDOW] === e;
  }

  get extendedHighestSeq(): number {
    return this.cycles + this.maxSeq;
  }

  /** A.3: extended highest sequence number - base + 1. */
  get expected(): number {
    return this.started ? this.extendedHighestSeq - this.baseSeq + 1 : 0;
  }

  get packetsReceived(): number {
    return this.received;
  }

  get cumulativeLost(): number {
    return this.expected - this.received;
  }

  get jitterMs(): number {
    return this.jitter.jitterMs;
  }

  /**
   * Expected, received and lost packets since the previous call with the same `key` (A.3's
   * expected_prior / received_prior): one key for RTCP reports, another for the station's segments.
   */
  interval(key: string): IntervalCounts {
    const prior = this.priors.get(key) ?? { expected: 0, received: 0 };
    const now = { expected: this.expected, received: this.received };
    this.priors.set(key, now);
    const expected = now.expected - prior.expected;
    const received = now.received - prior.received;
    return { expected, received, lost: Math.max(0, expected - received) };
  }

  /** The report block on this source for an RR or SR sent at `nowMs` (local clock, ms). */
  reportBlock(nowMs: number): ReportBlock {
    const iv = this.interval('rtcp');
    return {
      ssrc: this.ssrc,
      // A.3: (lost_interval << 8) / expected_interval, 0 when nothing was lost or expected.
      fractionLost:
        iv.expected === 0 || iv.lost <= 0 ? 0 : Math.min(255, Math.floor((iv.lost * 256) / iv.expected)),
      cumulativeLost: this.cumulativeLost,
      extendedHighestSeq: this.extendedHighestSeq >>> 0,
      jitter: this.jitter.jitterTimestampUnits,
      lsr: this.lastSr?.lsr ?? 0,
      dlsr: this.lastSr ? Math.max(0, Math.round(((nowMs - this.lastSr.atMs) / 1000) * 65536)) : 0,
    };
  }
}
