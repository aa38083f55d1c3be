// One RTP session over UDP (RFC 3550): receives a mono audio stream (and sends one), keeps the
// reception statistics of its current source, and exchanges RTCP on the port above: SR when it has
// sent since the last report, else RR, each with SDES CNAME, at a randomised interval (§6.3.1: the
// interval times a uniform factor in [0.5, 1.5]; the first report after half an interval, §6.2).
// A new SSRC is a new source: its statistics start over and listeners hear of it. Comfort noise and
// telephone events are counted for the statistics but never handed on as audio.
//
// This is the receiver API other parts build on (the station agent's RTP transport, an Asterisk
// externalMedia channel): open(), onFrame/onSource/onEvent/onBye, sendFrame(), figures(), close().
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:dgram';
import { hostname } from 'node:os';
import { DEFAULT_TELEPHONE_EVENT_PT, type PayloadFormat, PT_COMFORT_NOISE } from './codecs.ts';
import { parseRtp, RtpParseError, serializeRtp } from './packet.ts';
import { comfortNoiseLevelDbov, parseTelephoneEvent, type TelephoneEvent } from './payloads.ts';
import { bindRtpPorts, type UdpEndpoint } from './ports.ts';
import { ReceptionStats } from './receiverStats.ts';
import {
  ntpFromUnixMs,
  ntpMiddle32,
  parseRtcp,
  type ReportBlock,
  type RtcpPacket,
  RtcpParseError,
  roundTripMs,
  serializeRtcp,
} from './rtcp.ts';

export interface RtpSessionOptions {
  /** Where to listen for RTP (RTCP on port + 1). Port 0 picks a free pair. */
  listen: UdpEndpoint;
  format: PayloadFormat;
  /** Where to send RTP (RTCP to port + 1). Without it, reports go back to whoever sends to us. */
  remote?: UdpEndpoint;
  /** Mean RTCP interval, ms: RFC 3550 §6.2's recommended minimum of 5 s unless told. */
  rtcpIntervalMs?: number;
  telephoneEventPt?: number;
  /** Packetization interval of the frames handed on (a packet of several frames is split), ms. */
  frameMs?: number;
  cname?: string;
  /** Milliseconds on a clock that runs with wall time (NTP timestamps are taken from it). */
  clock?: () => number;
  /**
   * One-way delay of the path behind this endpoint, ms: RTCP it sends and packets it receives are held
   * this long. For a simulated far end on loopback, so that the round trip measured by the other side
   * covers a network in both directions.
   */
  pathDelayMs?: number;
  onWarning?: (message: string) => void;
}

export interface ReceivedFrame {
  ssrc: number;
  /** RTP sequence number of the packet the frame came in. */
  seq: number;
  /** RTP timestamp of the frame's first sample. */
  timestamp: number;
  /** Arrival time on the session's clock, ms. */
  arrivalMs: number;
  samples: Float32Array;
}

/** Network figures of the current source, as this session's RTCP reports them. */
export interface ReceptionFigures {
  ssrc: number;
  /** Since the previous figures() call with the same key. */
  interval: { expected: number; received: number; lost: number };
  expected: number;
  received: number;
  cumulativeLost: number;
  extendedHighestSeq: number;
  jitterMs: number;
  /** From the far end's last report on our stream (LSR/DLSR); null before one arrives. */
  rttMs: number | null;
}

type Listener<T> = (x: T) => void;

const defaultClock = () => performance.timeOrigin + performance.now();

export class RtpSession {
  readonly ssrc: number;
  readonly frameSamples: number;
  private stats: ReceptionStats | null = null;
  private rtt: number | null = null;
  private reportOnUs: ReportBlock | null = null;
  private rtcpDest: UdpEndpoint | null = null;
  private rtpSource: UdpEndpoint | null = null;
  private seq: number;
  private timestamp: number;
  private sent = { packets: 0, octets: 0 };
  private sentSinceReport = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly frameL = new Set<Listener<ReceivedFrame>>();
  private readonly sourceL = new Set<Listener<number>>();
  private readonly eventL = new Set<Listener<TelephoneEvent & { ssrc: number; timestamp: number }>>();
  private readonly byeL = new Set<Listener<number>>();
  private readonly lastEvent = new Map<number, boolean>();
  readonly counters = { comfortNoise: 0, events: 0, otherPayload: 0, badPackets: 0, badRtcp: 0 };
  private readonly clock: () => number;
  private readonly cname: string;

  private constructor(
    private readonly rtp: Socket,
    private readonly rtcp: Socket,
    private readonly o: RtpSessionOptions,
  ) {
    const rnd = randomBytes(10);
    this.ssrc = rnd.readUInt32BE(0);
    // RFC 3550 §5.1: random initial sequence number and timestamp.
    this.seq = rnd.readUInt16BE(4);
    this.timestamp = rnd.readUInt32BE(6);
    this.frameSamples = Math.round((o.format.clockRate * (o.frameMs ?? 20)) / 1000);
    this.clock = o.clock ?? defaultClock;
    this.cname = o.cname ?? `voiceloop@${hostname()}`;
    if (o.remote) this.rtcpDest = { host: o.remote.host, port: o.remote.port + 1 };
    rtp.on('message', (msg, rinfo) => this.afterPath(() => this.onRtp(msg, rinfo)));
    rtcp.on('message', (msg, rinfo) => this.afterPath(() => this.onRtcp(msg, rinfo)));
    this.schedule(true);
  }

  static async open(o: RtpSessionOptions): Promise<RtpSession> {
    const [rtp, rtcp] = await bindRtpPorts(o.listen);
    return new RtpSession(rtp, rtcp, o);
  }

  get rtpPort(): number {
    return this.rtp.address().port;
  }

  get format(): PayloadFormat {
    return this.o.format;
  }

  onFrame(f: Listener<ReceivedFrame>): () => void {
    this.frameL.add(f);
    return () => this.frameL.delete(f);
  }
  /** A new source (SSRC) started; its statistics start from zero. */
  onSource(f: Listener<number>): () => void {
    this.sourceL.add(f);
    return () => this.sourceL.delete(f);
  }
  onEvent(f: Listener<TelephoneEvent & { ssrc: number; timestamp: number }>): () => void {
    this.eventL.add(f);
    return () => this.eventL.delete(f);
  }
  /** The current source said BYE. */
  onBye(f: Listener<number>): () => void {
    this.byeL.add(f);
    return () => this.byeL.delete(f);
  }

  /**
   * Runs `f` after the simulated path delay (pathDelayMs), or now without one. Whatever is still on the
   * path when the session closes is lost: a send on a closed socket throws outside any caller (a
   * delayed RTCP report crashed the demo once).
   */
  private afterPath(f: () => void): void {
    const d = this.o.pathDelayMs ?? 0;
    if (d <= 0) {
      f();
      return;
    }
    setTimeout(() => {
      if (!this.closed) f();
    }, d);
  }

  private warn(message: string): void {
    this.o.onWarning?.(message);
  }

  private onRtp(msg: Buffer, rinfo: { address: string; port: number }): void {
    if (this.closed) return;
    const now = this.clock();
    let p: ReturnType<typeof parseRtp>;
    try {
      p = parseRtp(msg);
    } catch (err) {
      if (!(err instanceof RtpParseError)) throw err;
      this.counters.badPackets++;
      this.warn(`dropped an RTP packet from ${rinfo.address}:${rinfo.port}: ${err.message}`);
      return;
    }
    this.rtpSource = { host: rinfo.address, port: rinfo.port };
    if (this.stats === null || this.stats.ssrc !== p.ssrc) {
      this.stats = new ReceptionStats(p.ssrc, this.o.format.clockRate);
      this.lastEvent.clear();
      for (const f of this.sourceL) f(p.ssrc);
    }
    const verdict = this.stats.update(p.sequenceNumber);
    if (verdict === 'duplicate' || verdict === 'bad') return;
    const fmt = this.o.format;
    if (p.payloadType === fmt.payloadType) {
      this.stats.updateJitter(p.timestamp, now);
      const samples = fmt.decode(p.payload);
      const n = this.frameSamples;
      if (samples.length === 0 || samples.length % n !== 0) {
        this.counters.badPackets++;
        this.warn(`dropped an RTP packet of ${samples.length} samples: not whole ${n}-sample frames`);
        return;
      }
      for (let i = 0; i < samples.length; i += n) {
        const frame: ReceivedFrame = {
          ssrc: p.ssrc,
          seq: p.sequenceNumber,
          timestamp: (p.timestamp + i) >>> 0,
          arrivalMs: now,
          samples: samples.subarray(i, i + n),
        };
        for (const f of this.frameL) f(frame);
      }
    } else if (p.payloadType === PT_COMFORT_NOISE) {
      this.counters.comfortNoise++;
      if (comfortNoiseLevelDbov(p.payload) === null) this.warn('empty comfort-noise payload');
    } else if (p.payloadType === (this.o.telephoneEventPt ?? DEFAULT_TELEPHONE_EVENT_PT)) {
      this.counters.events++;
      try {
        const e = parseTelephoneEvent(p.payload);
        // An event is sent again and again as it lasts (and its end three times): hand on its start and end.
        if (this.lastEvent.get(p.timestamp) !== e.end) {
          this.lastEvent.set(p.timestamp, e.end);
          for (const f of this.eventL) f({ ...e, ssrc: p.ssrc, timestamp: p.timestamp });
        }
      } catch (err) {
        this.warn((err as Error).message);
      }
    } else {
      this.counters.otherPayload++;
    }
  }

  private onRtcp(msg: Buffer, rinfo: { address: string; port: number }): void {
    if (this.closed) return;
    const now = this.clock();
    let packets: RtcpPacket[];
    try {
      packets = parseRtcp(msg);
    } catch (err) {
      if (!(err instanceof RtcpParseError)) throw err;
      this.counters.badRtcp++;
      this.warn(`dropped an RTCP packet from ${rinfo.address}:${rinfo.port}: ${err.message}`);
      return;
    }
    if (!this.o.remote) this.rtcpDest = { host: rinfo.address, port: rinfo.port };
    for (const p of packets) {
      if (p.type === 'sr' && this.stats?.ssrc === p.ssrc) {
        this.stats.senderReport(
          ntpMiddle32({ seconds: p.sender.ntpSeconds, fraction: p.sender.ntpFraction }),
          now,
        );
      }
      if (p.type === 'sr' || p.type === 'rr') {
        for (const b of p.reports) {
          if (b.ssrc !== this.ssrc) continue;
          this.reportOnUs = b;
          const rtt = roundTripMs(b, now);
          if (rtt !== null) this.rtt = rtt;
        }
      }
      if (p.type === 'bye' && this.stats && p.ssrcs.includes(this.stats.ssrc)) {
        for (const f of this.byeL) f(this.stats.ssrc);
      }
    }
  }

  /**
   * Sends one packet of audio (whole frames) now; sequence number and timestamp advance. `timestamp`
   * overrides this packet's RTP timestamp (a sender keeping its own grid); later ones follow it.
   */
  sendFrame(samples: Float32Array, opts: { marker?: boolean; seq?: number; timestamp?: number } = {}): void {
    if (this.closed) return;
    const dest = this.o.remote ?? this.rtpSource;
    if (!dest) return;
    if (opts.seq !== undefined) this.seq = opts.seq & 0xffff;
    if (opts.timestamp !== undefined) this.timestamp = opts.timestamp >>> 0;
    const payload = this.o.format.encode(samples);
    const buf = serializeRtp({
      marker: opts.marker ?? false,
      payloadType: this.o.format.payloadType,
      sequenceNumber: this.seq,
      timestamp: this.timestamp,
      ssrc: this.ssrc,
      csrcs: [],
      payload,
    });
    this.rtp.send(buf, dest.port, dest.host);
    this.seq = (this.seq + 1) & 0xffff;
    this.timestamp = (this.timestamp + samples.length) >>> 0;
    this.sent.packets++;
    this.sent.octets += payload.length;
    this.sentSinceReport = true;
  }

  /** RTP sequence number and timestamp the next sendFrame() will use. */
  nextSend(): { seq: number; timestamp: number } {
    return { seq: this.seq, timestamp: this.timestamp };
  }

  /** The current source's figures; `key` names whose interval it is (each caller keeps its own). */
  figures(key: string): ReceptionFigures | null {
    const s = this.stats;
    if (!s) return null;
    return {
      ssrc: s.ssrc,
      interval: s.interval(key),
      expected: s.expected,
      received: s.packetsReceived,
      cumulativeLost: s.cumulativeLost,
      extendedHighestSeq: s.extendedHighestSeq,
      jitterMs: s.jitterMs,
      rttMs: this.rtt,
    };
  }

  get rttMs(): number | null {
    return this.rtt;
  }

  /** The far end's last report block on the stream we send (its loss and jitter as it sees them). */
  get lastReportOnUs(): ReportBlock | null {
    return this.reportOnUs;
  }

  /** Packets and payload octets sent so far (the SR's sender counts). */
  get sentCounts(): { packets: number; octets: number } {
    return { ...this.sent };
  }

  /** The compound report this session would send now: SR (or RR) + SDES CNAME. */
  buildReport(): Buffer {
    const now = this.clock();
    const reports = this.stats ? [this.stats.reportBlock(now)] : [];
    const first: RtcpPacket = this.sentSinceReport
      ? {
          type: 'sr',
          ssrc: this.ssrc,
          sender: {
            ...(({ seconds, fraction }) => ({ ntpSeconds: seconds, ntpFraction: fraction }))(
              ntpFromUnixMs(now),
            ),
            rtpTimestamp: this.timestamp,
            packetCount: this.sent.packets,
            octetCount: this.sent.octets,
          },
          reports,
        }
      : { type: 'rr', ssrc: this.ssrc, reports };
    this.sentSinceReport = false;
    return serializeRtcp([first, { type: 'sdes', chunks: [{ ssrc: this.ssrc, cname: this.cname }] }]);
  }

  private rtcpTarget(): UdpEndpoint | null {
    if (this.rtcpDest) return this.rtcpDest;
    return this.rtpSource ? { host: this.rtpSource.host, port: this.rtpSource.port + 1 } : null;
  }

  /** Sends a report now (also done on the timer). */
  sendReport(): void {
    const dest = this.rtcpTarget();
    if (this.closed || !dest || (!this.stats && this.sent.packets === 0)) return;
    const buf = this.buildReport();
    this.afterPath(() => this.rtcp.send(buf, dest.port, dest.host));
  }

  private schedule(first = false): void {
    if (this.closed) return;
    const mean = this.o.rtcpIntervalMs ?? 5000;
    const ms = (first ? 0.5 : 1) * mean * (0.5 + Math.random());
    this.timer = setTimeout(() => {
      try {
        this.sendReport();
      } catch (err) {
        this.warn(`RTCP report not sent: ${(err as Error).message}`);
      }
      this.schedule();
    }, ms);
    this.timer.unref();
  }

  /** Sends a last report and BYE (§6.6), then closes both sockets. */
  async close(): Promise<void> {
    if (this.closed) return;
    clearTimeout(this.timer);
    const dest = this.rtcpTarget();
    if (dest && (this.stats || this.sent.packets > 0)) {
      const buf = Buffer.concat([this.buildReport(), serializeByeOnly(this.ssrc)]);
      await new Promise<void>((r) => this.rtcp.send(buf, dest.port, dest.host, () => r()));
    }
    this.closed = true;
    await Promise.all([this.rtp, this.rtcp].map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

function serializeByeOnly(ssrc: number): Buffer {
  // A BYE only travels inside a compound packet; serializeRtcp wants an RR first, which is dropped here
  // because the caller's report already leads the compound.
  return serializeRtcp([
    { type: 'rr', ssrc, reports: [] },
    { type: 'bye', ssrcs: [ssrc] },
  ]).subarray(8);
}
