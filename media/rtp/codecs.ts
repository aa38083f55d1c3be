// Payload formats of RFC 3551: PCMU (static payload type 0) and PCMA (8), G.711 at 8 kHz; L16 (16-bit
// linear, network byte order) at 8 or 16 kHz on a dynamic payload type agreed out of band (SDP
// rtpmap, RFC 4566), 96 unless told. The G.711 tables come from `alawmulaw`, checked against ITU-T
// G.711's values in test/unit/rtp/codecs.test.ts.
import alawmulaw from 'alawmulaw';

export const CODEC_NAMES = ['pcmu', 'pcma', 'l16/8000', 'l16/16000'] as const;
export type CodecName = (typeof CODEC_NAMES)[number];

/** Comfort noise, RFC 3389 (static payload type 13 of RFC 3551). */
export const PT_COMFORT_NOISE = 13;
/** Telephone events (RFC 4733) have no static type; 101 is what most gateways offer. */
export const DEFAULT_TELEPHONE_EVENT_PT = 101;
export const DEFAULT_DYNAMIC_PT = 96;

export interface PayloadFormat {
  name: CodecName;
  /** SDP encoding name. */
  encoding: 'PCMU' | 'PCMA' | 'L16';
  payloadType: number;
  clockRate: number;
  bytesPerSample: number;
  /** Float samples in [-1, 1] -> payload bytes. */
  encode(samples: Float32Array): Buffer;
  /** Payload bytes -> float samples (a trailing odd byte of L16 is ignored). */
  decode(payload: Buffer): Float32Array;
}

/** Float [-1, 1] -> 16-bit integers, clamped and rounded as the agent's PCM upload does. */
export function toInt16(x: Float32Array): Int16Array {
  const out = new Int16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.round(Math.max(-1, Math.min(1, x[i]!)) * 32767);
  return out;
}

function fromInt16(x: Int16Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! / 32768;
  return out;
}

const g711 = (law: typeof alawmulaw.mulaw) => ({
  bytesPerSample: 1,
  encode: (x: Float32Array) => Buffer.from(law.encode(toInt16(x)).buffer),
  decode: (b: Buffer) => fromInt16(law.decode(new Uint8Array(b.buffer, b.byteOffset, b.length))),
});

const l16 = {
  bytesPerSample: 2,
  encode(x: Float32Array): Buffer {
    const s = toInt16(x);
    const out = Buffer.allocUnsafe(2 * s.length);
    for (let i = 0; i < s.length; i++) out.writeInt16BE(s[i]!, 2 * i);
    return out;
  },
  decode(b: Buffer): Float32Array {
    const out = new Float32Array(b.length >> 1);
    for (let i = 0; i < out.length; i++) out[i] = b.readInt16BE(2 * i) / 32768;
    return out;
  },
};

/** The payload format named `name`; `payloadType` overrides the L16 dynamic type. */
export function payloadFormat(name: CodecName, opts: { payloadType?: number } = {}): PayloadFormat {
  switch (name) {
    case 'pcmu':
      return { name, encoding: 'PCMU', payloadType: 0, clockRate: 8000, ...g711(alawmulaw.mulaw) };
    case 'pcma':
      return { name, encoding: 'PCMA', payloadType: 8, clockRate: 8000, ...g711(alawmulaw.alaw) };
    case 'l16/8000':
    case 'l16/16000': {
      const pt = opts.payloadType ?? DEFAULT_DYNAMIC_PT;
      if (!Number.isInteger(pt) || pt < 96 || pt > 127)
        throw new RangeError(`L16 needs a dynamic payload type 96..127, got ${pt}`);
      return {
        name,
        encoding: 'L16',
        payloadType: pt,
        clockRate: name === 'l16/8000' ? 8000 : 16000,
        ...l16,
      };
    }
  }
}

/** Parses a codec name as the CLI takes it; null when unknown. */
export function parseCodecName(raw: string): CodecName | null {
  const s = raw.trim().toLowerCase();
  return (CODEC_NAMES as readonly string[]).includes(s) ? (s as CodecName) : null;
}

/** The SDP (RFC 4566) an RTP receiver such as ffmpeg needs to take a mono stream of `format` on `port`. */
export function sdpFor(format: PayloadFormat, host: string, port: number, sessionName = 'voiceloop'): string {
  return [
    'v=0',
    `o=- 0 0 IN IP4 ${host}`,
    `s=${sessionName}`,
    `c=IN IP4 ${host}`,
    't=0 0',
    `m=audio ${port} RTP/AVP ${format.payloadType}`,
    `a=rtpmap:${format.payloadType} ${format.encoding}/${format.clockRate}/1`,
    'a=ptime:20',
    '',
  ].join('\r\n');
}
