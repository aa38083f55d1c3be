// Non-audio payloads a receiver must recognise and keep out of the audio path: comfort noise (RFC 3389
// §3: the first octet is the noise level in -dBov; spectral coefficients may follow) and telephone
// events (RFC 4733 §2.3: event, end bit, volume, duration).

export interface TelephoneEvent {
  /** 0-9, 10 = *, 11 = #, 12-15 = A-D (RFC 4733 §3.2), other codes as sent. */
  event: number;
  end: boolean;
  /** Power level, -dBm0 (0..63). */
  volume: number;
  /** Duration so far, RTP timestamp units. */
  duration: number;
}

export class PayloadError extends Error {}

export function parseTelephoneEvent(payload: Buffer): TelephoneEvent {
  if (payload.length < 4)
    throw new PayloadError(`telephone-event payload of ${payload.length} bytes, need 4`);
  return {
    event: payload[0]!,
    end: (payload[1]! & 0x80) !== 0,
    volume: payload[1]! & 0x3f,
    duration: payload.readUInt16BE(2),
  };
}

export function serializeTelephoneEvent(e: TelephoneEvent): Buffer {
  const b = Buffer.alloc(4);
  b[0] = e.event & 0xff;
  b[1] = (e.end ? 0x80 : 0) | (e.volume & 0x3f);
  b.writeUInt16BE(e.duration & 0xffff, 2);
  return b;
}

/** The DTMF character of an event code, or null for the other RFC 4733 events. */
export function dtmfChar(event: number): string | null {
  return event < 16 ? '0123456789*#ABCD'[event]! : null;
}

/** RFC 3389 comfort-noise level, dBov (0 .. -127); null for an empty payload. */
export function comfortNoiseLevelDbov(payload: Buffer): number | null {
  return payload.length === 0 ? null : -(payload[0]! & 0x7f);
}
