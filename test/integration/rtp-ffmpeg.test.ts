// Interop with a far end nobody here wrote (issue 14, point 3): ffmpeg (Debian, installed by the test
// when missing) sends a WAV file as RTP to a station agent, which reports no loss and the file's level;
// the agent sends its processed stream to a second ffmpeg, which receives it through an SDP file and
// writes a WAV that matches the agent's output sample for sample (after G.711 where used).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CodecName, type PayloadFormat, payloadFormat, sdpFor } from '../../media/rtp/codecs.ts';
import { RtpSession } from '../../media/rtp/session.ts';
import { startApp } from '../../runtime/app.ts';
import { commandNeed, ensureDebianPackages } from '../../stack/debian.ts';
import { type ProcessedSegment, startStationAgent } from '../../stations/agent/index.ts';
import { startRtpStation } from '../../stations/agent/rtpTransport.ts';
import { resample, speechSource } from '../../stations/sim/index.ts';
import { decodeWav } from '../../stations/sim/speech.ts';
import { cleanupTopics, defer, testSettings, uniqueId } from '../helpers/runtime.ts';
import { encodeWav, rmsDbfs } from '../helpers/wav.ts';

function run(
  cmd: string,
  args: string[],
): { child: ChildProcess; exited: Promise<number>; stderr: () => string } {
  const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => {
    err += String(d);
  });
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  return { child, exited, stderr: () => err };
}

/** A free even UDP port for ffmpeg's receiver (and its RTCP port above it). */
async function freePort(): Promise<number> {
  const probe = await RtpSession.open({
    listen: { host: '127.0.0.1', port: 0 },
    format: payloadFormat('pcmu'),
  });
  const port = probe.rtpPort;
  await probe.close();
  return port;
}

/** A station agent on the real stack (its own topics), as `npm run agent` runs one. */
async function agentOnStack(t: TestContext, station: number) {
  const cfg = testSettings('rtpff');
  cleanupTopics(t, cfg);
  const app = await startApp(cfg, ['relay'], { listen: false });
  defer(t, () => app.stop());
  const role = await startStationAgent(app.rt, {
    topics: cfg.topics,
    agentId: uniqueId('agent'),
    stations: [station],
  });
  defer(t, () => role.stop());
  return { agent: role.station(station), log: app.rt.log };
}

/** ffmpeg receiving RTP described by an SDP file into a WAV; finish() ends it and reads the file. */
async function ffmpegReceiver(t: TestContext, dir: string, format: PayloadFormat) {
  const port = await freePort();
  writeFileSync(join(dir, 'out.sdp'), sdpFor(format, '127.0.0.1', port));
  const rx = run('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'info',
    '-protocol_whitelist',
    'file,udp,rtp',
    '-i',
    join(dir, 'out.sdp'),
    '-c:a',
    'pcm_s16le',
    '-y',
    join(dir, 'out.wav'),
  ]);
  defer(t, () => rx.child.exitCode === null && rx.child.kill('SIGKILL'));
  return {
    port,
    async finish(session: RtpSession): Promise<{ samples: Float32Array; sampleRate: number }> {
      // A receiving ffmpeg waits for packets forever, and sees a SIGTERM only between packets (a second
      // one would abort its file): one more frame after the signal lets it finish the file and exit.
      rx.child.kill('SIGTERM');
      for (let i = 0; i < 50 && rx.child.exitCode === null; i++) {
        session.sendFrame(new Float32Array(session.frameSamples));
        await Promise.race([rx.exited, sleep(100)]);
      }
      await rx.exited;
      assert.match(rx.stderr(), /Exiting normally/, rx.stderr());
      const bytes = readFileSync(join(dir, 'out.wav'));
      const got = decodeWav(bytes);
      assert.ok(got, `ffmpeg wrote no 16-bit mono WAV (${bytes.length} bytes); ${rx.stderr().slice(-500)}`);
      return got;
    },
  };
}

/** ffmpeg sending a WAV as RTP in real time, one 20 ms frame per packet; resolves when it is done. */
async function ffmpegSend(wav: string, format: PayloadFormat, port: number): Promise<void> {
  const frame = (format.clockRate * 20) / 1000;
  const tx = run('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-re',
    '-i',
    wav,
    '-af',
    `asetnsamples=n=${frame}:p=0`,
    '-c:a',
    format.name === 'pcmu' ? 'pcm_mulaw' : 'pcm_s16be',
    ...(format.name === 'pcmu' ? [] : ['-payload_type', String(format.payloadType)]),
    '-f',
    'rtp',
    `rtp://127.0.0.1:${port}?pkt_size=${12 + frame * format.bytesPerSample}`,
  ]);
  assert.equal(await tx.exited, 0, tx.stderr());
}

/** Where `got` starts within `expected` (whole frames; ffmpeg's file starts with the first packet it caught). */
function frameOffset(got: Int16Array, expected: Int16Array, frame: number): number {
  for (let k = 0; k * frame < expected.length; k++) {
    let same = true;
    for (let i = 0; i < 2 * frame && same; i++) same = got[i] === expected[k * frame + i];
    if (same) return k * frame;
  }
  return -1;
}

// Station 2 (a gateway: the packets go through its own jitter buffer) on both codecs, and station 1 (the
// Asterisk station an externalMedia channel feeds: the transport plays the packets out for it).
for (const [STATION, codec] of [
  [2, 'pcmu'],
  [2, 'l16/16000'],
  [1, 'pcmu'],
] as [number, CodecName][]) {
  test(`ffmpeg interop (station ${STATION}, ${codec}): ffmpeg -> agent with no loss and the file's level; agent -> ffmpeg sample for sample`, async (t) => {
    await ensureDebianPackages([commandNeed('ffmpeg', 'ffmpeg', 'RTP interop far end')], (s) =>
      console.log(s),
    );
    const format = payloadFormat(codec);
    const rate = format.clockRate;
    const dir = mkdtempSync(join(tmpdir(), 'rtp-ffmpeg-'));
    defer(t, () => rmSync(dir, { recursive: true, force: true }));

    // 4 s of recorded speech: the level the agent must report.
    const speech = speechSource(41, { durationMs: 4000, voice: 'caller' }).samples;
    const file = rate === 8000 ? speech : resample(speech, 8000, rate);
    writeFileSync(join(dir, 'in.wav'), encodeWav(file, rate));
    const fileLevel = rmsDbfs(decodeWav(readFileSync(join(dir, 'in.wav')))!.samples);

    const { agent, log } = await agentOnStack(t, STATION);
    // The receiving ffmpeg first, so it is listening when the agent's output starts.
    const receiver = await ffmpegReceiver(t, dir, format);
    const session = await RtpSession.open({
      listen: { host: '127.0.0.1', port: 0 },
      format,
      remote: { host: '127.0.0.1', port: receiver.port },
      rtcpIntervalMs: 1000,
    });
    defer(t, () => session.close());
    const segments: ProcessedSegment[] = [];
    const station = startRtpStation(
      { agent, session, log },
      {
        tenantId: uniqueId('tn'),
        callPrefix: 'ff',
        maxCalls: 1,
        idleMs: 1000,
        onSegment: (r) => segments.push(r),
      },
    );
    defer(t, () => station.stop());
    await sleep(1000);
    await ffmpegSend(join(dir, 'in.wav'), format, session.rtpPort);
    await station.done;
    await sleep(500);
    const got = await receiver.finish(session);

    // What the agent reported: no loss on the way in, RTCP's cumulative loss 0, the file's level.
    assert.ok(segments.length >= 4, `${segments.length} segments`);
    let power = 0;
    let count = 0;
    for (const { snapshot } of segments) {
      const why = `segment ${snapshot.segment.index}: ${JSON.stringify(snapshot.labels)} ${JSON.stringify(snapshot.metrics.network)}`;
      if (STATION === 2) assert.equal(snapshot.metrics.network?.packet_loss_ratio, 0, why);
      assert.equal(snapshot.labels['rtcp.cumulative_lost'], '0', why);
      const n = Number(snapshot.labels['rtp.input_samples'] ?? 0);
      power += n * 10 ** (Number(snapshot.labels['rtp.input_rms_dbfs']) / 10);
      count += n;
    }
    assert.equal(count, file.length, 'every sample of the file arrived');
    const agentLevel = 10 * Math.log10(power / count);
    assert.ok(
      Math.abs(agentLevel - fileLevel) < 0.5,
      `agent ${agentLevel.toFixed(2)} dBFS, file ${fileLevel.toFixed(2)}`,
    );

    // What ffmpeg received: the agent's output through the codec, sample for sample.
    const sent = new Float32Array(segments.reduce((n, s) => n + s.output.length, 0));
    let at = 0;
    for (const s of segments) {
      sent.set(s.output, at);
      at += s.output.length;
    }
    const expected = Int16Array.from(format.decode(format.encode(sent)), (x) => Math.round(x * 32768));
    assert.equal(got.sampleRate, rate);
    const wav = Int16Array.from(got.samples, (x) => Math.round(x * 32768));
    const offset = frameOffset(wav, expected, (rate * 20) / 1000);
    assert.ok(offset >= 0 && offset <= 0.1 * expected.length, `ffmpeg's file starts at sample ${offset}`);
    const overlap = Math.min(wav.length, expected.length - offset);
    assert.ok(overlap >= 0.9 * expected.length, `${overlap} of ${expected.length} samples received`);
    let mismatches = 0;
    for (let i = 0; i < overlap; i++) if (wav[i] !== expected[offset + i]) mismatches++;
    assert.equal(mismatches, 0, `samples differing between the agent's output and ffmpeg's file`);
    t.diagnostic(
      `station ${STATION} ${codec}: file ${fileLevel.toFixed(2)} dBFS, agent ${agentLevel.toFixed(2)} dBFS; ${segments.length} segments; ffmpeg's file from sample ${offset}, ${overlap} samples identical`,
    );
  });
}
