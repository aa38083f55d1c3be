import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lossStats, Rfc3550Jitter } from '../../../audio/metrics/index.ts';
import { muLaw, mulberry32, packetize } from '../../../stations/sim/index.ts';

const SR = 8000;

function trace(lossPct: number, burst: number, jitterMs: number, seconds: number, seed = 1) {
  const x = new Float32Array(SR * seconds);
  const tsBase = 4294967000; // wraps within the first second
  const packets = packetize(
    x,
    SR,
    { loss_pct: lossPct, burst_len: burst, jitter_ms: jitterMs, delay_ms: 50, codec: 'linear' },
    mulberry32(seed),
    { timestampBase: tsBase, seqBase: 65500 },
  );
  const frames = (SR * seconds) / 160;
  const received = new Array<boolean>(frames).fill(false);
  for (const p of packets) received[((p.timestamp - tsBase) >>> 0) / 160] = true;
  return { packets, received };
}

test('packetize: loss ratio and mean burst length of a long trace match the profile', () => {
  for (const [loss, burst] of [
    [3, 2.5],
    [1, 1],
    [8, 4],
  ] as const) {
    const { received } = trace(loss, burst, 0, 2000);
    const s = lossStats(received);
    assert.ok(Math.abs(s.lossRatio - loss / 100) < 0.1 * (loss / 100), `loss ${s.lossRatio} vs ${loss}%`);
    assert.ok(Math.abs(s.meanBurstLength - burst) < 0.1 * burst, `burst ${s.meanBurstLength} vs ${burst}`);
  }
});

test('packetize: the RFC 3550 jitter estimate lands near the configured jitter', () => {
  for (const jitter of [10, 40, 80]) {
    const { packets } = trace(0, 1, jitter, 300);
    const j = new Rfc3550Jitter();
    let sum = 0;
    const byArrival = [...packets].sort((a, b) => a.arrivalMs - b.arrivalMs);
    for (const p of byArrival) sum += j.update(p.timestamp, p.arrivalMs, SR);
    const mean = sum / byArrival.length;
    assert.ok(Math.abs(mean - jitter) < 0.1 * jitter, `jitter ${mean} vs ${jitter}`);
    // Arrivals are never before the minimum delay.
    for (let k = 0; k < packets.length; k++)
      assert.ok(packets[k]!.arrivalMs >= k * 20 + 50 - 1e-9, 'packets[k]!.arrivalMs >= k * 20 + 50 - 1e-9');
  }
});

test('packetize: deterministic, RTP fields wrap, 20 ms payloads padded at the end', () => {
  const x = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i / 10) * 0.3);
  const profile = { loss_pct: 5, burst_len: 2, jitter_ms: 20, delay_ms: 10, codec: 'linear' as const };
  const a = packetize(x, SR, profile, mulberry32(9), { seqBase: 65534, timestampBase: 4294967200 });
  const b = packetize(x, SR, profile, mulberry32(9), { seqBase: 65534, timestampBase: 4294967200 });
  assert.deepEqual(a, b);
  const all = packetize(x, SR, { ...profile, loss_pct: 0 }, mulberry32(9), {
    seqBase: 65534,
    timestampBase: 4294967200,
  });
  assert.equal(all.length, 7);
  assert.deepEqual(
    all.map((p) => p.seq),
    [65534, 65535, 0, 1, 2, 3, 4],
  );
  assert.equal(all[2]!.timestamp, (4294967200 + 320) >>> 0);
  assert.equal(all[6]!.payload.length, 160);
  assert.equal(all[6]!.payload[100], 0);
});

test('muLaw: G.711 round trip keeps ~38 dB SNR on a speech-level sine and maps 0 to 0', () => {
  assert.equal(muLaw(0), 0);
  let s = 0;
  let e = 0;
  for (let i = 0; i < 8000; i++) {
    const v = 0.05 * Math.sin((2 * Math.PI * 440 * i) / 8000);
    const q = muLaw(v);
    s += v * v;
    e += (q - v) ** 2;
  }
  const snr = 10 * Math.log10(s / e);
  assert.ok(snr > 33 && snr < 42, `mu-law SNR ${snr}`);
});
