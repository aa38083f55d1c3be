import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bundledImpairmentsPath,
  loadImpairments,
  resample,
  simulateCall,
  speechSource,
} from '../../../stations/sim/index.ts';
import { goertzel } from './helpers.ts';

const set = loadImpairments(bundledImpairmentsPath('default'));

test('simulateCall: the same (seed, callIndex) gives bit-identical samples, clean, far end and packets', () => {
  const a = simulateCall({ impairments: set, callIndex: 3, seed: 42, segments: 2 });
  const b = simulateCall({ impairments: set, callIndex: 3, seed: 42, segments: 2 });
  assert.equal(a.callId, b.callId);
  assert.equal(a.tenantId, b.tenantId);
  for (let s = 0; s < 2; s++) {
    const sa = a.segments[s]!;
    const sb = b.segments[s]!;
    assert.deepEqual([...sa.inputs.keys()], [1, 2, 3, 4, 9, 10, 11]);
    for (const [id, ia] of sa.inputs) {
      const ib = sb.inputs.get(id)!;
      assert.deepEqual(ia.samples, ib.samples, `station ${id} samples`);
      assert.deepEqual(ia.clean, ib.clean, `station ${id} clean`);
      assert.deepEqual(ia.farEnd, ib.farEnd, `station ${id} far end`);
      assert.deepEqual(ia.packets, ib.packets, `station ${id} packets`);
      assert.deepEqual(ia.labels, ib.labels);
    }
  }
});

test('simulateCall: another call index or seed gives other audio; the call id and tenant follow the index', () => {
  const a = simulateCall({ impairments: set, callIndex: 0, seed: 42, segments: 1 });
  const b = simulateCall({ impairments: set, callIndex: 1, seed: 42, segments: 1 });
  const c = simulateCall({ impairments: set, callIndex: 0, seed: 43, segments: 1 });
  const x = (call: typeof a) => call.segments[0]!.inputs.get(3)!.samples;
  assert.notDeepEqual(x(a), x(b));
  assert.notDeepEqual(x(a), x(c));
  assert.notEqual(a.callId, b.callId);
  assert.equal(a.tenantId, 'tenant-a');
  assert.equal(b.tenantId, 'tenant-b');
});

test('simulateCall: segments have the station rate, A-leg stations share the caller speech, B-leg the TTS', () => {
  const call = simulateCall({ impairments: set, callIndex: 0, seed: 7, segments: 2, segmentMs: 500 });
  const seg = call.segments[1]!;
  assert.equal(seg.startMs, 500);
  assert.equal(seg.endMs, 1000);
  for (const [id, input] of seg.inputs) {
    assert.equal(input.samples.length, input.sampleRate / 2, `station ${id}`);
    assert.equal(input.clean?.length, input.samples.length);
    assert.equal(input.labels['impairment_set'], 'default');
  }
  // Stations 3 and 4 both run at 16 kHz on the A leg: same clean speech up to level.
  const c3 = seg.inputs.get(3)!.clean!;
  const c4 = seg.inputs.get(4)!.clean!;
  let xy = 0;
  let xx = 0;
  let yy = 0;
  for (let i = 0; i < c3.length; i++) {
    xy += c3[i]! * c4[i]!;
    xx += c3[i]! ** 2;
    yy += c4[i]! ** 2;
  }
  assert.ok(xy / Math.sqrt(xx * yy) > 0.999, 'stations 3 and 4 hear the same talker');
  // Station 9 (B leg) hears someone else.
  const c9 = seg.inputs.get(9)!.clean!;
  let xz = 0;
  let zz = 0;
  for (let i = 0; i < c3.length; i++) {
    xz += c3[i]! * c9[i]!;
    zz += c9[i]! ** 2;
  }
  assert.ok(Math.abs(xz / Math.sqrt(xx * zz)) < 0.2, 'Math.abs(xz / Math.sqrt(xx * zz)) < 0.2');
  // Network stations carry packets and a network delay; others do not.
  assert.ok((seg.inputs.get(2)!.packets?.length ?? 0) > 0, '(seg.inputs.get(2)!.packets?.length ?? 0) > 0');
  assert.ok((seg.inputs.get(2)!.networkDelayMs ?? 0) > 60, '(seg.inputs.get(2)!.networkDelayMs ?? 0) > 60');
  assert.equal(seg.inputs.get(3)!.packets, undefined);
  // Echo-canceller stations get a far-end reference.
  assert.ok(seg.inputs.get(1)!.farEnd !== undefined, 'seg.inputs.get(1)!.farEnd !== undefined');
  assert.equal(seg.inputs.get(3)!.farEnd, undefined);
});

test('speechSource: deterministic per seed, recorded prompts when installed, synthetic fallback otherwise', () => {
  const lines: string[] = [];
  const a = speechSource(5, { durationMs: 2000 });
  const b = speechSource(5, { durationMs: 2000 });
  assert.deepEqual(a.samples, b.samples);
  assert.equal(a.samples.length, 16000);
  const s1 = speechSource(5, {
    durationMs: 2000,
    promptDir: '/nonexistent/prompts',
    log: (l) => lines.push(l),
  });
  const s2 = speechSource(5, { durationMs: 2000, promptDir: '/nonexistent/prompts' });
  assert.equal(s1.source, 'synthetic');
  assert.deepEqual(s1.samples, s2.samples);
  assert.match(lines[0] ?? '', /synthetic/);
  const wide = speechSource(5, { durationMs: 2000, sampleRate: 16000 });
  assert.equal(wide.samples.length, 32000);
});

test('resample: 8 -> 16 kHz keeps a 1 kHz tone and leaves no image at 7 kHz', () => {
  const x = Float32Array.from({ length: 8000 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 8000));
  const y = resample(x, 8000, 16000);
  assert.equal(y.length, 16000);
  const mid = y.subarray(2000, 14000);
  const tone = goertzel(mid, 16000, 1000);
  const image = goertzel(mid, 16000, 7000);
  assert.ok(
    Math.abs(10 * Math.log10(tone / 0.0625)) < 0.2,
    `tone level ${10 * Math.log10(tone / 0.0625)} dB`,
  );
  assert.ok(10 * Math.log10(image / tone) < -50, `image at ${10 * Math.log10(image / tone)} dB`);
});
