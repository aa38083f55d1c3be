// RTCP, RFC 3550 §6: sender reports (SR, §6.4.1), receiver reports (RR, §6.4.2), source description
// with the CNAME item (SDES, §6.5) and BYE (§6.6), in compound packets (§6.1). Parsing follows the
// validity checks of Appendix A.2: version 2, the first packet an SR or RR, padding only on the last
// one, and lengths that add up to the datagram. APP, XR and other types are skipped by their length.

export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;
const SDES_CNAME = 1;

/** One reception report block (§6.4.1): 24 bytes. */
export interface ReportBlock {
  /** SSRC of the source this block reports on. */
  ssrc: number;
  /** Fraction of packets lost since the previous report, in 1/256 (0..255). */
  fractionLost: number;
  /** Packets lost since reception began (signed 24-bit: duplicates can make it negative). */
  cumulativeLost: number;
  /** Cycles << 16 | highest sequence number received. */
  extendedHighestSeq: number;
  /** Interarrival jitter, RTP timestamp units. */
  jitter: number;
  /** Middle 32 bits of the NTP timestamp of the last SR from that source, 0 if none yet. */
  lsr: number;
  /** Delay since that SR was received, 1/65536 s. */
  dlsr: number;
}

export interface SenderInfo {
  /** NTP timestamp of the report, seconds since 1900 and 2^-32 fractions. */
  ntpSeconds: number;
  ntpFraction: number;
  /** The same instant on the RTP clock. */
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
}

export type RtcpPacket =
  | { type: 'sr'; ssrc: number; sender: SenderInfo; reports: ReportBlock[] }
  | { type: 'rr'; ssrc: number; reports: ReportBlock[] }
  | { type: 'sdes'; chunks: { ssrc: number; cname: string | null }[] }
  | { type: 'bye'; ssrcs: number[] }
  | { type: 'other'; packetType: number };

export class RtcpParseError extends Error {}

function header(count: number, packetType: number, words: number): Buffer {
  const b = Buffer.alloc(4);
  b[0] = 0x80 | count;
  b[1] = packetType;
  b.writeUInt16BE(words - 1, 2);
  return b;
}

function writeBlock(out: Buffer, at: number, r: ReportBlock): void {
  out.writeUInt32BE(r.ssrc >>> 0, at);
  // Cumulative loss is a signed 24-bit field; clamp as §6.4.1 asks rather than wrap.
  const lost = Math.max(-0x800000, Math.min(0x7fffff, Math.trunc(r.cumulativeLost)));
  out.writeUInt32BE((((r.fractionLost & 0xff) << 24) | (lost & 0xffffff)) >>> 0, at + 4);
  out.writeUInt32BE(r.extendedHighestSeq >>> 0, at + 8);
  out.writeUInt32BE(Math.min(0xffffffff, Math.round(r.jitter)) >>> 0, at + 12);
  out.writeUInt32BE(r.lsr >>> 0, at + 16);
  out.writeUInt32BE(r.dlsr >>> 0, at + 20);
}

function readBlock(buf: Buffer, at: number): ReportBlock {
  const w = buf.readUInt32BE(at + 4);
  const raw = w & 0xffffff;
  return {
    ssrc: buf.readUInt32BE(at),
    fractionLost: w >>> 24,
    cumulativeLost: raw & 0x800000 ? raw - 0x1000000 : raw,
    extendedHighestSeq: buf.readUInt32BE(at + 8),
    jitter: buf.readUInt32BE(at + 12),
    lsr: buf.readUInt32BE(at + 16),
    dlsr: buf.readUInt32BE(at + 20),
  };
}

function serializeOne(p: RtcpPacket): Buffer {
  switch (p.type) {
    case 'sr':
    case 'rr': {
      if (p.reports.length > 31) throw new RangeError(`at most 31 report blocks, got ${p.reports.length}`);
      const fixed = p.type === 'sr' ? 28 : 8;
      const out = Buffer.alloc(fixed + 24 * p.reports.length);
      header(p.reports.length, p.type === 'sr' ? RTCP_SR : RTCP_RR, out.length / 4).copy(out);
      out.writeUInt32BE(p.ssrc >>> 0, 4);
      if (p.type === 'sr') {
        out.writeUInt32BE(p.sender.ntpSeconds >>> 0, 8);
        out.writeUInt32BE(p.sender.ntpFraction >>> 0, 12);
        out.writeUInt32BE(p.sender.rtpTimestamp >>> 0, 16);
        out.writeUInt32BE(p.sender.packetCount >>> 0, 20);
        out.writeUInt32BE(p.sender.octetCount >>> 0, 24);
      }
      for (const [i, r] of p.reports.entries()) writeBlock(out, fixed + 24 * i, r);
      return out;
    }
    case 'sdes': {
      const chunks = p.chunks.map((c) => {
        const text = Buffer.from(c.cname ?? '', 'utf8');
        if (text.length > 255) throw new RangeError('CNAME longer than 255 bytes');
        const items = c.cname === null ? 0 : 2 + text.length;
        // SSRC, items, then at least one null octet ending the list, padded to a 32-bit boundary.
        const len = Math.ceil((4 + items + 1) / 4) * 4;
        const b = Buffer.alloc(len);
        b.writeUInt32BE(c.ssrc >>> 0, 0);
        if (c.cname !== null) {
          b[4] = SDES_CNAME;
          b[5] = text.length;
          text.copy(b, 6);
        }
        return b;
      });
      const body = Buffer.concat(chunks);
      return Buffer.concat([header(p.chunks.length, RTCP_SDES, 1 + body.length / 4), body]);
    }
    case 'bye': {
      const out = Buffer.alloc(4 + 4 * p.ssrcs.length);
      header(p.ssrcs.length, RTCP_BYE, out.length / 4).copy(out);
      for (const [i, s] of p.ssrcs.entries()) out.writeUInt32BE(s >>> 0, 4 + 4 * i);
      return out;
    }
    case 'other':
      throw new RangeError(`cannot serialize RTCP packet type ${p.packetType}`);
  }
}

/** A compound RTCP packet; §6.1 wants it to start with an SR or RR. */
export function serializeRtcp(packets: RtcpPacket[]): Buffer {
  const first = packets[0];
  if (!first || (first.type !== 'sr' && first.type !== 'rr'))
    throw new RangeError('a compound RTCP packet starts with an SR or RR');
  return Buffer.concat(packets.map(serializeOne));
}

function parseSdes(buf: Buffer, count: number): { ssrc: number; cname: string | null }[] {
  const chunks: { ssrc: number; cname: string | null }[] = [];
  let at = 0;
  for (let c = 0; c < count; c++) {
    if (at + 4 > buf.length) throw new RtcpParseError('SDES chunk runs past the packet');
    const ssrc = buf.readUInt32BE(at);
    at += 4;
    let cname: string | null = null;
    for (;;) {
      if (at >= buf.length) throw new RtcpParseError('SDES item list without its end');
      const type = buf[at]!;
      if (type === 0) break;
      const len = buf[at + 1];
      if (len === undefined || at + 2 + len > buf.length)
        throw new RtcpParseError('SDES item runs past the packet');
      if (type === SDES_CNAME) cname = buf.toString('utf8', at + 2, at + 2 + len);
      at += 2 + len;
    }
    at = (Math.floor(at / 4) + 1) * 4;
    chunks.push({ ssrc, cname });
  }
  return chunks;
}

/** Parses a compound RTCP datagram; throws RtcpParseError naming what is wrong. */
export function parseRtcp(buf: Buffer): RtcpPacket[] {
  const out: RtcpPacket[] = [];
  let at = 0;
  while (at < buf.length) {
    if (at + 4 > buf.length) throw new RtcpParseError(`RTCP header cut short at byte ${at}`);
    const b0 = buf[at]!;
    if (b0 >> 6 !== 2) throw new RtcpParseError(`RTCP version ${b0 >> 6} at byte ${at}, expected 2`);
    const count = b0 & 0x1f;
    const pt = buf[at + 1]!;
    const len = 4 * (buf.readUInt16BE(at + 2) + 1);
    if (at + len > buf.length) throw new RtcpParseError(`RTCP packet type ${pt} runs past the datagram`);
    let end = at + len;
    if (b0 & 0x20) {
      if (end !== buf.length) throw new RtcpParseError('RTCP padding on a packet that is not the last');
      end -= buf[end - 1]!;
    }
    if (out.length === 0 && pt !== RTCP_SR && pt !== RTCP_RR)
      throw new RtcpParseError(`compound RTCP starts with packet type ${pt}, not SR or RR`);
    const body = buf.subarray(at + 4, end);
    if (pt === RTCP_SR || pt === RTCP_RR) {
      const fixed = pt === RTCP_SR ? 24 : 4;
      if (body.length < fixed + 24 * count)
        throw new RtcpParseError(`RTCP ${pt} too short for ${count} blocks`);
      const reports = Array.from({ length: count }, (_, i) => readBlock(body, fixed + 24 * i));
      const ssrc = body.readUInt32BE(0);
      if (pt === RTCP_SR) {
        out.push({
          type: 'sr',
          ssrc,
          sender: {
            ntpSeconds: body.readUInt32BE(4),
            ntpFraction: body.readUInt32BE(8),
            rtpTimestamp: body.readUInt32BE(12),
            packetCount: body.readUInt32BE(16),
            octetCount: body.readUInt32BE(20),
          },
          reports,
        });
      } else out.push({ type: 'rr', ssrc, reports });
    } else if (pt === RTCP_SDES) out.push({ type: 'sdes', chunks: parseSdes(body, count) });
    else if (pt === RTCP_BYE) {
      if (body.length < 4 * count) throw new RtcpParseError(`RTCP BYE too short for ${count} sources`);
      out.push({ type: 'bye', ssrcs: Array.from({ length: count }, (_, i) => body.readUInt32BE(4 * i)) });
    } else out.push({ type: 'other', packetType: pt });
    at += len;
  }
  if (out.length === 0) throw new RtcpParseError('empty RTCP datagram');
  return out;
}

// NTP's era starts 1900-01-01; Unix time 1970-01-01 (RFC 868's 2,208,988,800 s between them).
const NTP_UNIX_OFFSET_S = 2_208_988_800;

/** An instant (ms since the Unix epoch) as a 64-bit NTP timestamp. */
export function ntpFromUnixMs(ms: number): { seconds: number; fraction: number } {
  const s = Math.floor(ms / 1000);
  return {
    seconds: (s + NTP_UNIX_OFFSET_S) >>> 0,
    fraction: Math.min(0xffffffff, Math.floor(((ms - s * 1000) / 1000) * 2 ** 32)) >>> 0,
  };
}

/** The middle 32 bits of an NTP timestamp (§4 "compact" form, 1/65536 s): what LSR carries. */
export function ntpMiddle32(ntp: { seconds: number; fraction: number }): number {
  return (((ntp.seconds & 0xffff) << 16) | (ntp.fraction >>> 16)) >>> 0;
}

/**
 * Round-trip time from a report block about our own stream (§6.4.1, figure 2): arrival time A of the
 * report minus LSR minus DLSR, all in 1/65536 s; null when the far end has not seen an SR of ours.
 */
export function roundTripMs(block: Pick<ReportBlock, 'lsr' | 'dlsr'>, arrivalUnixMs: number): number | null {
  if (block.lsr === 0) return null;
  const a = ntpMiddle32(ntpFromUnixMs(arrivalUnixMs));
  const rtt = (a - block.lsr - block.dlsr) >>> 0;
  // A negative result (clock step, bogus DLSR) wraps to a huge value: no estimate.
  if (rtt > 0x80000000) return null;
  return (rtt / 65536) * 1000;
}
