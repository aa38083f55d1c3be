// RTP data packets, RFC 3550 §5.1: the 12-byte fixed header, CSRC list, header extension (skipped,
// §5.3.1) and padding (§5.1 P bit: the last octet counts the padding octets, itself included).

export const RTP_VERSION = 2;
const FIXED_HEADER = 12;

export interface RtpHeader {
  marker: boolean;
  payloadType: number;
  /** 16-bit. */
  sequenceNumber: number;
  /** 32-bit, in the payload's clock rate. */
  timestamp: number;
  ssrc: number;
  csrcs: number[];
}

export interface RtpDatagram extends RtpHeader {
  payload: Buffer;
}

export class RtpParseError extends Error {}

/** Parses one RTP datagram; throws RtpParseError naming what is wrong. The payload is a view. */
export function parseRtp(buf: Buffer): RtpDatagram {
  if (buf.length < FIXED_HEADER) throw new RtpParseError(`RTP packet of ${buf.length} bytes, need >= 12`);
  const b0 = buf[0]!;
  const version = b0 >> 6;
  if (version !== RTP_VERSION) throw new RtpParseError(`RTP version ${version}, expected 2`);
  const padding = (b0 & 0x20) !== 0;
  const extension = (b0 & 0x10) !== 0;
  const cc = b0 & 0x0f;
  const b1 = buf[1]!;
  let offset = FIXED_HEADER + 4 * cc;
  if (buf.length < offset) throw new RtpParseError(`RTP packet too short for ${cc} CSRCs`);
  const csrcs: number[] = [];
  for (let i = 0; i < cc; i++) csrcs.push(buf.readUInt32BE(FIXED_HEADER + 4 * i));
  if (extension) {
    if (buf.length < offset + 4) throw new RtpParseError('RTP packet too short for its header extension');
    offset += 4 + 4 * buf.readUInt16BE(offset + 2);
    if (buf.length < offset) throw new RtpParseError('RTP header extension runs past the packet');
  }
  let end = buf.length;
  if (padding) {
    const pad = buf[buf.length - 1]!;
    if (pad === 0 || end - pad < offset) throw new RtpParseError(`RTP padding count ${pad} is invalid`);
    end -= pad;
  }
  return {
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequenceNumber: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    csrcs,
    payload: buf.subarray(offset, end),
  };
}

/** Serializes a packet (no padding, no extension). */
export function serializeRtp(p: RtpDatagram): Buffer {
  if (p.csrcs.length > 15) throw new RangeError(`at most 15 CSRCs, got ${p.csrcs.length}`);
  if (!Number.isInteger(p.payloadType) || p.payloadType < 0 || p.payloadType > 127)
    throw new RangeError(`payload type ${p.payloadType} outside 0..127`);
  const head = FIXED_HEADER + 4 * p.csrcs.length;
  const out = Buffer.allocUnsafe(head + p.payload.length);
  out[0] = (RTP_VERSION << 6) | p.csrcs.length;
  out[1] = (p.marker ? 0x80 : 0) | p.payloadType;
  out.writeUInt16BE(p.sequenceNumber & 0xffff, 2);
  out.writeUInt32BE(p.timestamp >>> 0, 4);
  out.writeUInt32BE(p.ssrc >>> 0, 8);
  for (const [i, c] of p.csrcs.entries()) out.writeUInt32BE(c >>> 0, FIXED_HEADER + 4 * i);
  p.payload.copy(out, head);
  return out;
}

/**
 * RFC 3550 §5.1 / RFC 5761 §4: in the second octet of an RTCP packet the packet types 200-204 land on
 * what would be RTP payload types 72-76, which no RTP stream uses; so one test tells them apart.
 */
export function looksLikeRtcp(buf: Buffer): boolean {
  return buf.length >= 2 && buf[1]! >= 192 && buf[1]! <= 223;
}
