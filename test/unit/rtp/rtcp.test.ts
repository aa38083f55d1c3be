import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReceptionStats } from '../../../media/rtp/receiverStats.ts';
import {
  ntpFromUnixMs,
  ntpMiddle32,
  parseRtcp,
  RtcpParseError,
  roundTripMs,
  serializeRtcp,
} from '../../../media/rtp/rtcp.ts';

const block = {
  ssrc: 0x01020304,
  fractionLost: 64,
  cumulativeLost: -3,
  extendedHighestSeq: 0x1ffff,
  jitter: 77,
  lsr: 0xabcd1234,
  dlsr: 65536,
};

test('rtcp: a compound SR + SDES CNAME + BYE round-trips; fields at the offsets of RFC 3550 §6.4.1', () => {
  const buf = serializeRtcp([
    {
      type: 'sr',
      ssrc: 7,
      sender: {
        ntpSeconds: 3_900_000_000,
        ntpFraction: 0x80000000,
        rtpTimestamp: 160,
        packetCount: 50,
        octetCount: 8000,
      },
      reports: [block],
    },
    { type: 'sdes', chunks: [{ ssrc: 7, cname: 'agent@host' }] },
    { type: 'bye', ssrcs: [7] },
  ]);
  assert.equal(buf[0], 0x81); // V=2, RC=1
  assert.equal(buf[1], 200);
  assert.equal(buf.readUInt16BE(2), (28 + 24) / 4 - 1);
  // Report block: fraction lost in the top byte, cumulative loss as signed 24-bit.
  assert.equal(buf.readUInt32BE(28 + 4), ((64 << 24) | 0xfffffd) >>> 0);
  assert.equal(buf.length % 4, 0);
  const parsed = parseRtcp(buf);
  assert.deepEqual(parsed, [
    {
      type: 'sr',
      ssrc: 7,
      sender: {
        ntpSeconds: 3_900_000_000,
        ntpFraction: 0x80000000,
        rtpTimestamp: 160,
        packetCount: 50,
        octetCount: 8000,
      },
      reports: [block],
    },
    { type: 'sdes', chunks: [{ ssrc: 7, cname: 'agent@host' }] },
    { type: 'bye', ssrcs: [7] },
  ]);
});

test('rtcp: RR with no blocks; invalid compounds refused naming the problem; unknown types skipped', () => {
  const rr = serializeRtcp([{ type: 'rr', ssrc: 9, reports: [] }]);
  assert.deepEqual(parseRtcp(rr), [{ type: 'rr', ssrc: 9, reports: [] }]);
  const app = Buffer.from([0x80, 204, 0, 1, 0, 0, 0, 1]);
  assert.deepEqual(parseRtcp(Buffer.concat([rr, app]))[1], { type: 'other', packetType: 204 });
  assert.throws(() => parseRtcp(app), /starts with packet type 204/);
  assert.throws(() => parseRtcp(rr.subarray(0, 6)), RtcpParseError);
  const longer = Buffer.from(rr);
  longer.writeUInt16BE(5, 2);
  assert.throws(() => parseRtcp(longer), /runs past/);
  assert.throws(() => serializeRtcp([{ type: 'bye', ssrcs: [1] }]), /starts with an SR or RR/);
});

test('rtcp: NTP middle 32 bits and the LSR/DLSR round trip of RFC 3550 §6.4.1', () => {
  const t0 = Date.UTC(2026, 11, 2, 7, 0, 0, 250);
  const ntp = ntpFromUnixMs(t0);
  assert.equal(ntp.seconds, Math.floor(t0 / 1000) + 2_208_988_800);
  assert.equal(ntp.fraction, 2 ** 30); // 0.25 s
  const lsr = ntpMiddle32(ntp);
  // The far end held our SR for 120 ms; the report reaches us 200 ms after we sent the SR: RTT 80 ms.
  const rtt = roundTripMs({ lsr, dlsr: Math.round(0.12 * 65536) }, t0 + 200);
  assert.ok(Math.abs((rtt as number) - 80) < 0.1, `rtt ${rtt}`);
  assert.equal(roundTripMs({ lsr: 0, dlsr: 0 }, t0), null);
  // A DLSR larger than the elapsed time (a bogus report) gives no estimate rather than ~18 hours.
  assert.equal(roundTripMs({ lsr, dlsr: 65536 }, t0 + 200), null);
});

function feed(stats: ReceptionStats, seqs: number[]): string[] {
  return seqs.map((s) => stats.update(s & 0xffff));
}

test('reception: sequence wrap counts a cycle; loss is extended highest - base + 1 - received', () => {
  const s = new ReceptionStats(1, 8000);
  const seqs: number[] = [];
  for (let k = 65530; k < 65546; k++) if (k !== 65534 && k !== 65540) seqs.push(k);
  feed(s, seqs);
  assert.equal(s.extendedHighestSeq, 65536 + 9);
  assert.equal(s.expected, 16);
  assert.equal(s.cumulativeLost, 2);
});

test('reception: reordering and duplicates are recognised; duplicates do not hide loss', () => {
  const s = new ReceptionStats(1, 8000);
  assert.deepEqual(feed(s, [10, 12, 11, 11, 12, 14, 13, 16]), [
    'first',
    'in-order',
    'reordered',
    'duplicate',
    'duplicate',
    'in-order',
    'reordered',
    'in-order',
  ]);
  assert.equal(s.expected, 7);
  assert.equal(s.packetsReceived, 6);
  assert.equal(s.cumulativeLost, 1); // 15
});

test('reception: a big jump is confirmed by the next packet as a restart (RFC 3550 A.1)', () => {
  const s = new ReceptionStats(1, 8000);
  assert.deepEqual(feed(s, [100, 101, 30000, 30001, 30002]), [
    'first',
    'in-order',
    'bad',
    'restart',
    'in-order',
  ]);
  assert.equal(s.expected, 2);
  assert.equal(s.cumulativeLost, 0);
});

test('reception: fraction lost per report interval, A.3 arithmetic, separate interval keys', () => {
  const s = new ReceptionStats(1, 8000);
  feed(s, [0, 1, 2, 3]);
  const b1 = s.reportBlock(0);
  assert.equal(b1.fractionLost, 0);
  feed(s, [5, 7, 8]); // 5 expected since (4..8), 2 lost (4, 6): 2 * 256 / 5
  const b2 = s.reportBlock(1000);
  assert.equal(b2.fractionLost, 102);
  assert.equal(b2.cumulativeLost, 2);
  assert.equal(b2.extendedHighestSeq, 8);
  // The station's own interval runs from the start, unaffected by the RTCP one.
  assert.deepEqual(s.interval('segment'), { expected: 9, received: 7, lost: 2 });
  assert.deepEqual(s.interval('segment'), { expected: 0, received: 0, lost: 0 });
  s.senderReport(0x12345678, 1000);
  const b3 = s.reportBlock(1500);
  assert.equal(b3.lsr, 0x12345678);
  assert.equal(b3.dlsr, 32768);
});

test('reception: interarrival jitter of RFC 3550 A.8 in timestamp units and ms', () => {
  const s = new ReceptionStats(1, 8000);
  // Transit alternates 0 / 10 ms: |D| = 80 units every packet; J -> 80 geometrically with gain 1/16.
  for (let k = 0; k < 400; k++) s.updateJitter(k * 160, k * 20 + (k % 2) * 10);
  assert.ok(Math.abs(s.reportBlock(0).jitter - 80) < 0.01);
  assert.ok(Math.abs(s.jitterMs - 10) < 0.01);
});
