import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CODEC_NAMES, payloadFormat, sdpFor } from '../../../media/rtp/codecs.ts';
import { looksLikeRtcp, parseRtp, RtpParseError, serializeRtp } from '../../../media/rtp/packet.ts';
import {
  comfortNoiseLevelDbov,
  dtmfChar,
  parseTelephoneEvent,
  serializeTelephoneEvent,
} from '../../../media/rtp/payloads.ts';

test('rtp: a packet round-trips through serialize and parse, header fields at their RFC 3550 offsets', () => {
  const p = {
    marker: true,
    payloadType: 8,
    sequenceNumber: 0xfffe,
    timestamp: 0xfffffff0,
    ssrc: 0xdeadbeef,
    csrcs: [1, 2],
    payload: Buffer.from([1, 2, 3]),
  };
  const buf = serializeRtp(p);
  assert.equal(buf.length, 12 + 8 + 3);
  assert.equal(buf[0], 0x82); // V=2, CC=2
  assert.equal(buf[1], 0x88); // M=1, PT=8
  assert.equal(buf.readUInt16BE(2), 0xfffe);
  assert.deepEqual({ ...parseRtp(buf), payload: [...parseRtp(buf).payload] }, { ...p, payload: [1, 2, 3] });
  assert.equal(looksLikeRtcp(buf), false);
});

test('rtp: header extension and padding are skipped; malformed packets are refused with the reason', () => {
  // V=2 P=1 X=1, PT 0, one-word extension, 2 payload bytes, 2 padding bytes.
  const buf = Buffer.from([
    0xb0, 0x00, 0, 1, 0, 0, 0, 160, 0, 0, 0, 9, 0xbe, 0xde, 0, 1, 1, 2, 3, 4, 0x55, 0x66, 0, 2,
  ]);
  const p = parseRtp(buf);
  assert.deepEqual([...p.payload], [0x55, 0x66]);
  assert.equal(p.timestamp, 160);
  assert.throws(() => parseRtp(Buffer.alloc(8)), RtpParseError);
  assert.throws(() => parseRtp(Buffer.from([0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])), /version 1/);
  const badPad = Buffer.from(buf);
  badPad[badPad.length - 1] = 40;
  assert.throws(() => parseRtp(badPad), /padding/);
});

// ITU-T G.711 tables (and the reference decoder of Annex A's software tools): mu-law codes 0x00 and
// 0x80 are -/+ 8031 in 14-bit units (32124 in 16-bit), 0xFF and 0x7F zero; A-law 0xD5/0x55 are +/- 1
// in 13-bit units (8 in 16-bit), 0xAA/0x2A +/- 4032 (32256); silence encodes to 0xFF and 0xD5.
test('g711: known answers of ITU-T G.711 for PCMU and PCMA', () => {
  const u = payloadFormat('pcmu');
  const a = payloadFormat('pcma');
  const dec = (f: typeof u, bytes: number[]) =>
    [...f.decode(Buffer.from(bytes))].map((x) => Math.round(x * 32768));
  assert.deepEqual(dec(u, [0x00, 0x80, 0xff, 0x7f, 0xf0, 0x70]), [-32124, 32124, 0, 0, 120, -120]);
  assert.deepEqual(dec(a, [0xd5, 0x55, 0xaa, 0x2a, 0xd4, 0x54]), [8, -8, 32256, -32256, 24, -24]);
  assert.deepEqual([...u.encode(new Float32Array([0, 1, -1]))], [0xff, 0x80, 0x00]);
  assert.deepEqual([...a.encode(new Float32Array([0, 1, -1]))], [0xd5, 0xaa, 0x2a]);
  // Every code decodes to a value that encodes back to it (0x7F is mu-law's negative zero, -> 0xFF).
  for (const [f, skip] of [
    [u, 0x7f],
    [a, -1],
  ] as const) {
    for (let b = 0; b < 256; b++) {
      if (b === skip) continue;
      assert.equal(f.encode(f.decode(Buffer.from([b])))[0], b, `${f.name} code ${b}`);
    }
  }
});

test('codecs: L16 is big-endian 16-bit; payload types and SDP follow RFC 3551', () => {
  const l = payloadFormat('l16/16000', { payloadType: 97 });
  const buf = l.encode(new Float32Array([0.5, -0.5, 1]));
  assert.deepEqual([...buf], [0x40, 0x00, 0xc0, 0x01, 0x7f, 0xff]);
  assert.deepEqual([...l.decode(buf)], [16384 / 32768, -16383 / 32768, 32767 / 32768]);
  assert.deepEqual(
    CODEC_NAMES.map((n) => [payloadFormat(n).payloadType, payloadFormat(n).clockRate]),
    [
      [0, 8000],
      [8, 8000],
      [96, 8000],
      [96, 16000],
    ],
  );
  assert.throws(() => payloadFormat('l16/8000', { payloadType: 0 }), /dynamic payload type/);
  const sdp = sdpFor(l, '127.0.0.1', 40000);
  assert.match(sdp, /m=audio 40000 RTP\/AVP 97\r\na=rtpmap:97 L16\/16000\/1/);
});

test('payloads: RFC 4733 telephone events and RFC 3389 comfort noise', () => {
  const e = { event: 11, end: true, volume: 10, duration: 800 };
  assert.deepEqual(parseTelephoneEvent(serializeTelephoneEvent(e)), e);
  assert.equal(dtmfChar(11), '#');
  assert.equal(dtmfChar(5), '5');
  assert.equal(dtmfChar(70), null);
  assert.throws(() => parseTelephoneEvent(Buffer.alloc(2)), /need 4/);
  assert.equal(comfortNoiseLevelDbov(Buffer.from([40, 1, 2])), -40);
  assert.equal(comfortNoiseLevelDbov(Buffer.alloc(0)), null);
});
