import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JitterBuffer, type RtpPacket, runJitterBuffer } from '../../../audio/dsp/jitterBuffer.ts';
import { PacketLossConcealer } from '../../../audio/dsp/plc.ts';
import { gaussianSource, mulberry32 } from '../../../audio/metrics/random.ts';
import { dbfs, speechLike } from './signals.ts';

const SR = 16000;
const FRAME = 320;

/** Packetizes `audio` into 20 ms RTP packets sent every 20 ms, with one-way delay 40 ms + |N(0, jitterMs)|. */
function trace(
  audio: Float32Array,
  opts: { jitterMs: number; seed: number; drop?: (seq: number) => boolean; ts0?: number },
): RtpPacket[] {
  const g = gaussianSource(mulberry32(opts.seed));
  const out: RtpPacket[] = [];
  for (let seq = 0; (seq + 1) * FRAME <= audio.length; seq++) {
    const jitter = Math.abs(g()) * opts.jitterMs;
    if (opts.drop?.(seq)) continue;
    out.push({
      seq: seq & 0xffff,
      timestamp: ((opts.ts0 ?? 1000) + seq * FRAME) >>> 0,
      arrivalMs: 1_000_000 + seq * 20 + 40 + jitter,
      payload: audio.slice(seq * FRAME, (seq + 1) * FRAME),
    });
  }
  return out;
}

function maxStep(x: Float32Array, from = 1, to = x.length): number {
  let m = 0;
  for (let i = Math.max(1, from); i < to; i++)
    m = Math.max(m, Math.abs((x[i] as number) - (x[i - 1] as number)));
  return m;
}

test('jitter buffer: a clean network plays every packet back bit-exact', () => {
  const { signal } = speechLike(SR, 4, -20, 1);
  const packets = trace(signal, { jitterMs: 0, seed: 1 });
  const { audio, stats } = runJitterBuffer(packets, { targetMs: 60, sampleRate: SR });
  assert.deepEqual(audio, signal.subarray(0, packets.length * FRAME));
  assert.equal(stats.lost, 0);
  assert.equal(stats.late, 0);
  assert.equal(stats.played, packets.length);
  // Each packet waits exactly the 60 ms target; 3 of the 7-frame capacity are buffered at playout.
  assert.ok(Math.abs(stats.meanWaitMs - 60) < 1e-6);
  assert.ok(Math.abs(stats.meanFill - 3 / 7) < 0.01);
});

test('jitter buffer: jitter larger than the buffer causes late losses; a bigger buffer removes them and adds latency', (t) => {
  const { signal } = speechLike(SR, 20, -20, 2);
  // |N(0, 40 ms)|: 95% of packets within 80 ms of the fastest, a few beyond 100 ms.
  const packets = trace(signal, { jitterMs: 40, seed: 3 });
  const rows = [20, 40, 80, 160, 240].map((targetMs) => ({
    targetMs,
    ...runJitterBuffer(packets, { targetMs, sampleRate: SR }).stats,
  }));
  for (const r of rows) {
    t.diagnostic(
      `target ${r.targetMs} ms: late ${r.late}, lost ${r.lost} (${(100 * r.lossRatio).toFixed(1)}%), ` +
        `mean wait ${r.meanWaitMs.toFixed(1)} ms, mean fill ${r.meanFill.toFixed(2)}`,
    );
  }
  const [small, , , , big] = rows;
  assert.ok(small && big);
  assert.ok(small.late > 0.1 * packets.length, `only ${small.late} late at 20 ms`);
  assert.equal(small.lost, small.late, 'every late packet is a lost frame here (nothing else dropped)');
  assert.equal(big.late, 0);
  assert.equal(big.lost, 0);
  for (let i = 1; i < rows.length; i++) {
    const a = rows[i - 1];
    const b = rows[i];
    assert.ok(a && b);
    assert.ok(b.late <= a.late, 'late losses must not grow with the buffer');
    assert.ok(b.meanWaitMs > a.meanWaitMs, 'a bigger buffer must hold packets longer');
    assert.ok(b.latencyMs > a.latencyMs);
  }
});

test('jitter buffer: dropped packets are concealed and counted as lost, not late', () => {
  const { signal } = speechLike(SR, 4, -20, 4);
  const dropped = new Set([10, 11, 50, 120]);
  const packets = trace(signal, { jitterMs: 5, seed: 5, drop: (s) => dropped.has(s) });
  const { audio, stats } = runJitterBuffer(packets, { targetMs: 60, sampleRate: SR });
  assert.equal(stats.lost, 4);
  assert.equal(stats.concealed, 4);
  assert.equal(stats.late, 0);
  assert.equal(audio.length, 200 * FRAME);
});

test('jitter buffer: reordering within the buffer is repaired; duplicates are ignored; RTP timestamps may wrap', () => {
  const { signal } = speechLike(SR, 2, -20, 6);
  const packets = trace(signal, { jitterMs: 0, seed: 7, ts0: 0xffffffff - 10 * FRAME });
  // Swap the arrival times of neighbours (a 20 ms reorder) and deliver packet 30 twice.
  for (let i = 0; i + 1 < packets.length; i += 7) {
    const a = packets[i] as RtpPacket;
    const b = packets[i + 1] as RtpPacket;
    [a.arrivalMs, b.arrivalMs] = [b.arrivalMs, a.arrivalMs];
  }
  const dup = packets[30] as RtpPacket;
  packets.push({ ...dup, arrivalMs: dup.arrivalMs + 5 });
  packets.push({ ...dup, arrivalMs: dup.arrivalMs + 500 });
  const { audio, stats } = runJitterBuffer(packets, { targetMs: 40, sampleRate: SR });
  assert.equal(stats.lost, 0);
  assert.equal(stats.late, 0);
  assert.equal(stats.duplicates, 2);
  assert.deepEqual(audio, signal.subarray(0, 100 * FRAME));
});

test('jitter buffer: a packet further ahead than the capacity overflows; push reports each outcome', () => {
  const jb = new JitterBuffer({ targetMs: 40, sampleRate: SR });
  const payload = new Float32Array(FRAME);
  assert.equal(jb.push({ seq: 0, timestamp: 0, arrivalMs: 0, payload }), 'buffered');
  assert.equal(jb.push({ seq: 0, timestamp: 0, arrivalMs: 1, payload }), 'duplicate');
  // Capacity is 2 x 40 ms + one frame = 5 frames.
  assert.equal(jb.push({ seq: 9, timestamp: 9 * FRAME, arrivalMs: 2, payload }), 'overflow');
  assert.equal(jb.pullUntil(40).length, FRAME);
  assert.equal(jb.push({ seq: 0, timestamp: 0, arrivalMs: 41, payload }), 'duplicate');
  assert.equal(jb.pullUntil(60).length, FRAME);
  assert.equal(jb.push({ seq: 1, timestamp: FRAME, arrivalMs: 61, payload }), 'late');
  assert.throws(
    () => jb.push({ seq: 2, timestamp: 2 * FRAME, arrivalMs: 62, payload: new Float32Array(160) }),
    /160 samples/,
  );
});

/** Streams `packets` through a buffer in arrival order, calling `at(ms, jb)` before each packet is pushed. */
function stream(packets: readonly RtpPacket[], targetMs: number, at: (ms: number, jb: JitterBuffer) => void) {
  const jb = new JitterBuffer({ targetMs, sampleRate: SR });
  const chunks: Float32Array[] = [];
  const order = [...packets].sort((a, b) => a.arrivalMs - b.arrivalMs);
  for (const p of order) {
    at(p.arrivalMs, jb);
    chunks.push(jb.pullUntil(p.arrivalMs, { inclusive: false }));
    jb.push(p);
  }
  chunks.push(jb.pullFrames(jb.pendingFrames()));
  const audio = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  let k = 0;
  for (const c of chunks) {
    audio.set(c, k);
    k += c.length;
  }
  return { jb, audio };
}

test('jitter buffer: growing the target mid-stream delays playout at once and stops late losses after it', (t) => {
  const { signal } = speechLike(SR, 20, -20, 2);
  const packets = trace(signal, { jitterMs: 40, seed: 3 });
  const half = 1_000_000 + 10_000;
  let lateAtHalf = 0;
  const { jb } = stream(packets, 40, (ms, b) => {
    if (ms >= half && b.targetMs === 40) {
      lateAtHalf = b.stats().late;
      b.setTargetMs(240);
    }
  });
  const s = jb.stats();
  t.diagnostic(
    `late: ${lateAtHalf} in the first 10 s at 40 ms, ${s.late - lateAtHalf} in the next 10 s at 240 ms; inserted ${s.insertedMs} ms`,
  );
  assert.ok(lateAtHalf > 20, 'the first half must be jittery enough to lose packets');
  // A couple of packets already on their way when the change came can still be late; none after.
  assert.ok(s.late - lateAtHalf <= 2, `${s.late - lateAtHalf} late after growing`);
  assert.equal(s.latencyMs, 240);
  assert.equal(s.insertedMs, 200);
  assert.equal(s.dropped, 0);
});

test('jitter buffer: shrinking drops only quiet frames (pauses) when it can; the delay lands on the target', (t) => {
  const { signal } = speechLike(SR, 6, -20, 4);
  const packets = trace(signal, { jitterMs: 0, seed: 5 });
  let changedAt = -1;
  const { jb, audio } = stream(packets, 120, (ms, b) => {
    if (ms >= 1_001_000 && b.targetMs === 120) {
      changedAt = b.stats().played;
      b.setTargetMs(50);
    }
  });
  const s = jb.stats();
  t.diagnostic(
    `dropped ${s.dropped} frames, inserted ${s.insertedMs} ms, lost ${s.lost}, delay now ${s.latencyMs} ms`,
  );
  assert.ok(changedAt > 0);
  // 70 ms less: 4 frames dropped (80 ms), 10 ms made up by insertion.
  assert.equal(s.dropped, 4);
  assert.equal(s.insertedMs, 10);
  assert.equal(s.latencyMs, 50);
  assert.equal(s.lost, 0);
  assert.equal(s.late, 0);
  // Every frame played is the original; the dropped ones were quiet (a syllable's tail or a pause, >= 15 dB
  // below the -20 dBFS active speech level; the rule is 20 dB below the loudest recent frame).
  assert.equal(audio.length, (packets.length - 4) * FRAME);
  let k = 0;
  const skipped: number[] = [];
  for (let f = 0; f < packets.length; f++) {
    const original = signal.subarray(f * FRAME, (f + 1) * FRAME);
    const played = audio.subarray(k * FRAME, (k + 1) * FRAME);
    if (played.every((v, i) => v === original[i])) k++;
    else skipped.push(f);
  }
  assert.equal(skipped.length, 4);
  for (const f of skipped)
    assert.ok(dbfs(signal, f * FRAME, (f + 1) * FRAME) <= -35, `frame ${f} was not quiet`);
});

test('jitter buffer: a shrink with no pause to drop in forces a drop after 500 ms and counts it lost', () => {
  const x = new Float32Array(SR * 3);
  for (let i = 0; i < x.length; i++) x[i] = 0.3 * Math.sin((2 * Math.PI * 300 * i) / SR);
  const packets = trace(x, { jitterMs: 0, seed: 6 });
  let played = -1;
  const { jb } = stream(packets, 80, (ms, b) => {
    if (ms >= 1_000_500 && b.targetMs === 80) {
      played = b.stats().played;
      b.setTargetMs(60);
    }
  });
  const s = jb.stats();
  assert.equal(s.dropped, 1);
  assert.equal(s.lost, 1);
  assert.equal(s.latencyMs, 60);
  // Forced after waiting MAX_DROP_WAIT_MS (25 frames of 20 ms).
  assert.ok(played > 0 && s.played + s.concealed >= played + 25);
});

test('PLC fills lost frames with a continuation of the voice, without clicks', (t) => {
  // A steady voiced sound: 150 Hz with 6 harmonics and a slow vibrato-free envelope.
  const n = SR * 2;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let h = 1; h <= 6; h++) v += Math.sin((2 * Math.PI * 150 * h * i) / SR + h) / h;
    x[i] = 0.2 * v * (0.8 + 0.2 * Math.sin((2 * Math.PI * 2 * i) / SR));
  }
  const lost = new Set([20, 35, 36, 60, 61, 62, 63]);
  const plc = new PacketLossConcealer(SR);
  const y = new Float32Array(n);
  const zeroFilled = x.slice();
  for (let f = 0; f * FRAME < n; f++) {
    const slot = y.subarray(f * FRAME, (f + 1) * FRAME);
    if (lost.has(f)) {
      plc.conceal(slot);
      zeroFilled.fill(0, f * FRAME, (f + 1) * FRAME);
    } else plc.good(x.subarray(f * FRAME, (f + 1) * FRAME), slot);
  }
  const clean = maxStep(x);
  const concealed = maxStep(y);
  const zero = maxStep(zeroFilled);
  // A single lost frame is replaced at nearly its own level (held for 10 ms, then fading).
  const single = dbfs(y, 20 * FRAME, 21 * FRAME) - dbfs(x, 20 * FRAME, 21 * FRAME);
  t.diagnostic(
    `largest sample step: clean ${clean.toFixed(4)}, concealed ${concealed.toFixed(4)}, zero-filled ${zero.toFixed(4)}; ` +
      `single lost frame level ${single.toFixed(1)} dB vs original`,
  );
  assert.ok(concealed <= 1.25 * clean, 'concealment introduced a click');
  assert.ok(zero > 1.5 * clean, 'the test signal must be one where gaps would click');
  assert.ok(single > -4 && single < 1);
  // A four-frame (80 ms) burst fades to silence by 60 ms instead of buzzing on.
  assert.ok(dbfs(y, 63 * FRAME, 64 * FRAME) < -60);
});

test('PLC before any audio plays silence', () => {
  const plc = new PacketLossConcealer(SR);
  const out = new Float32Array(FRAME).fill(1);
  plc.conceal(out);
  assert.ok(out.every((v) => v === 0));
});
