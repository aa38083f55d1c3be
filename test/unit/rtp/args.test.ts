import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArgError } from '../../../lib/cli.ts';
import { parseRtpArgs } from '../../../stations/agent/rtpArgs.ts';

const SIM = ['impairments', 'seed', 'speed', 'segments'];

test('agent RTP flags: parsed with defaults; every refusal names its flag', () => {
  assert.equal(parseRtpArgs({}, SIM), null);
  // Any station can take RTP (the Asterisk station from an externalMedia channel); 2 and 10 through
  // their own jitter buffer.
  assert.equal(parseRtpArgs({ 'rtp-listen': '127.0.0.1:40000' }, SIM)?.codec, 'pcmu');
  assert.deepEqual(parseRtpArgs({ 'rtp-listen': '127.0.0.1:40000' }, SIM), {
    listen: { host: '127.0.0.1', port: 40000 },
    send: null,
    codec: 'pcmu',
    payloadType: undefined,
    rtcpIntervalMs: 5000,
  });
  assert.deepEqual(
    parseRtpArgs(
      {
        'rtp-listen': '[::1]:40010',
        'rtp-send': 'gw.example:5004',
        codec: 'L16/16000',
        'payload-type': '110',
      },
      SIM,
    ),
    {
      listen: { host: '::1', port: 40010 },
      send: { host: 'gw.example', port: 5004 },
      codec: 'l16/16000',
      payloadType: 110,
      rtcpIntervalMs: 5000,
    },
  );
  const refused: [Record<string, string>, RegExp][] = [
    [{ codec: 'pcmu' }, /^--codec needs --rtp-listen/],
    [{ 'rtp-listen': '127.0.0.1' }, /^--rtp-listen "127.0.0.1" is not host:port/],
    [{ 'rtp-listen': '127.0.0.1:65535' }, /^--rtp-listen port 65535/],
    [{ 'rtp-listen': '127.0.0.1:4000', 'rtp-send': 'x:0' }, /^--rtp-send port 0/],
    [{ 'rtp-listen': '127.0.0.1:4000', codec: 'opus' }, /^--codec "opus"/],
    [{ 'rtp-listen': '127.0.0.1:4000', 'payload-type': '96' }, /^--payload-type is for L16 only/],
    [
      { 'rtp-listen': '127.0.0.1:4000', codec: 'l16/8000', 'payload-type': '8' },
      /^--payload-type must be within/,
    ],
    [{ 'rtp-listen': '127.0.0.1:4000', 'rtcp-interval-ms': '10' }, /^--rtcp-interval-ms must be within/],
    [{ 'rtp-listen': '127.0.0.1:4000', speed: '2' }, /^--speed is for simulated calls/],
  ];
  for (const [flags, re] of refused) {
    assert.throws(
      () => parseRtpArgs(flags, SIM),
      (e: unknown) => e instanceof ArgError && re.test(e.message),
    );
  }
});
