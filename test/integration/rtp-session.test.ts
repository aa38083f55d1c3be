// RTP/RTCP over real UDP sockets on loopback: the project's own sender drops a known set of packets
// (across a sequence wrap, with reordering and duplicates on the way) and the receiver's RTCP report,
// parsed on the sender's side, carries exactly that cumulative loss.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { payloadFormat } from '../../media/rtp/codecs.ts';
import { serializeRtp } from '../../media/rtp/packet.ts';
import { serializeTelephoneEvent } from '../../media/rtp/payloads.ts';
import { type ReceivedFrame, RtpSession } from '../../media/rtp/session.ts';

const sessions: RtpSession[] = [];
after(async () => {
  await Promise.all(sessions.map((s) => s.close()));
});

/** A receiver and a sender aimed at it; either may sit behind a simulated path delay (pathDelayMs). */
async function pair(codec: 'pcmu' | 'l16/16000' = 'pcmu', delayMs: { rx?: number; tx?: number } = {}) {
  const format = payloadFormat(codec);
  const rx = await RtpSession.open({
    listen: { host: '127.0.0.1', port: 0 },
    format,
    rtcpIntervalMs: 60_000,
    ...(delayMs.rx ? { pathDelayMs: delayMs.rx } : {}),
  });
  const tx = await RtpSession.open({
    listen: { host: '127.0.0.1', port: 0 },
    format,
    remote: { host: '127.0.0.1', port: rx.rtpPort },
    rtcpIntervalMs: 60_000,
    ...(delayMs.tx ? { pathDelayMs: delayMs.tx } : {}),
  });
  sessions.push(rx, tx);
  return { rx, tx, format };
}

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

test('rtcp over UDP: cumulative loss in the receiver report equals the packets the sender dropped', async () => {
  const { rx, tx } = await pair();
  const frames: ReceivedFrame[] = [];
  rx.onFrame((f) => frames.push(f));
  const total = 300;
  // A burst, singles, and a pair straddling the sequence wrap (the sender starts at 65440).
  const dropped = new Set([3, 40, 41, 42, 43, 44, 95, 96, 150, 201, 202, 203, 250, 299 - 1]);
  const tone = new Float32Array(160).map((_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / 8000));
  const seq0 = 65440;
  const ts0 = 123_456;
  // Send order: every tenth packet swapped with the next (reordering), every 37th sent twice.
  const order: number[] = [];
  for (let k = 0; k < total; k++) order.push(k);
  for (let k = 5; k + 1 < total; k += 10) [order[k], order[k + 1]] = [order[k + 1]!, order[k]!];
  let sent = 0;
  for (const k of order) {
    if (dropped.has(k)) continue;
    const copies = k % 37 === 0 ? 2 : 1;
    for (let c = 0; c < copies; c++) tx.sendFrame(tone, { seq: seq0 + k, timestamp: ts0 + 160 * k });
    if (++sent % 50 === 0) await sleep(1);
  }
  await until(() => frames.length >= total - dropped.size, 'the frames');
  rx.sendReport();
  await until(() => tx.lastReportOnUs !== null, 'the receiver report');
  const block = tx.lastReportOnUs!;
  assert.equal(block.cumulativeLost, dropped.size);
  assert.equal(block.extendedHighestSeq, seq0 + total - 1);
  assert.equal(frames.length, total - dropped.size, 'duplicates are not handed on');
  assert.equal(block.fractionLost, Math.floor((dropped.size * 256) / total));
  const fig = rx.figures('test')!;
  assert.equal(fig.cumulativeLost, dropped.size);
  assert.equal(fig.expected, total);
});

test('rtp over UDP: comfort noise and telephone events are not audio; a new SSRC starts a new source', async () => {
  const { rx, tx, format } = await pair();
  const frames: ReceivedFrame[] = [];
  const sources: number[] = [];
  const events: { event: number; end: boolean }[] = [];
  rx.onFrame((f) => frames.push(f));
  rx.onSource((s) => sources.push(s));
  rx.onEvent((e) => events.push({ event: e.event, end: e.end }));
  const raw = createSocket('udp4');
  const send = (ssrc: number, pt: number, seq: number, ts: number, payload: Buffer) =>
    new Promise<void>((r) =>
      raw.send(
        serializeRtp({
          marker: false,
          payloadType: pt,
          sequenceNumber: seq,
          timestamp: ts,
          ssrc,
          csrcs: [],
          payload,
        }),
        rx.rtpPort,
        '127.0.0.1',
        () => r(),
      ),
    );
  const audio = format.encode(new Float32Array(160).fill(0.25));
  await send(11, 0, 1, 0, audio);
  await send(11, 13, 2, 160, Buffer.from([60]));
  for (const [seq, end] of [
    [3, false],
    [4, false],
    [5, true],
    [6, true],
  ] as const)
    await send(11, 101, seq, 320, serializeTelephoneEvent({ event: 5, end, volume: 10, duration: 400 }));
  // Two frames in one packet are split; then another source takes over.
  await send(11, 0, 7, 480, Buffer.concat([audio, audio]));
  await send(22, 0, 500, 9000, audio);
  await until(() => frames.length === 4, 'four audio frames');
  raw.close();
  assert.deepEqual(
    frames.map((f) => [f.ssrc, f.timestamp]),
    [
      [11, 0],
      [11, 480],
      [11, 640],
      [22, 9000],
    ],
  );
  assert.ok(Math.abs(frames[0]!.samples[0]! - 0.25) < 0.01);
  assert.deepEqual(sources, [11, 22]);
  assert.deepEqual(events, [
    { event: 5, end: false },
    { event: 5, end: true },
  ]);
  assert.equal(rx.counters.comfortNoise, 1);
  assert.equal(rx.figures('t')!.expected, 1, 'the new source has its own statistics');
  void tx;
});

test('rtcp over UDP: a sender learns the round trip from the LSR/DLSR of the report on its SR', async () => {
  // The far end sits behind a 40 ms path each way: the round trip is about 80 ms.
  const { rx: far, tx: near } = await pair('l16/16000', { rx: 40 });
  near.sendFrame(new Float32Array(320));
  await sleep(60);
  near.sendReport(); // an SR: near has sent
  await sleep(100);
  far.sendReport(); // an RR with LSR/DLSR on near's stream
  await until(() => near.rttMs !== null, 'the round trip');
  assert.ok(near.rttMs! > 75 && near.rttMs! < 130, `rtt ${near.rttMs} ms`);
});

test('rtp over UDP: a report delayed on a simulated path and still due when the session closes is dropped, not sent on the closed socket', async () => {
  // The demo's RTP legs simulate path delay (pathDelayMs): a report sent just before close() used to
  // fire on the closed socket and crash the process with ERR_SOCKET_DGRAM_NOT_RUNNING (2026-12-03).
  const { tx } = await pair('pcmu', { tx: 40 });
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  try {
    tx.sendFrame(new Float32Array(160));
    tx.sendReport(); // due in 40 ms
    await tx.close();
    await sleep(120);
  } finally {
    process.off('uncaughtException', onUncaught);
  }
  assert.deepEqual(uncaught, [], `a send after close escaped: ${uncaught.map(String).join('; ')}`);
});
