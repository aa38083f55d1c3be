import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Segmenter } from '../../../media/rtp/segmenter.ts';

const frame = (k: number, arrivalMs: number) => ({
  ssrc: 1,
  seq: k,
  timestamp: (4_294_967_000 + k * 160) >>> 0,
  arrivalMs,
  samples: new Float32Array(160),
});

test('segmenter: segments are cut on the wall clock after the hold, each with its own frames in arrival order', () => {
  const s = new Segmenter({ frameSamples: 160, segmentMs: 200, holdMs: 100 });
  assert.equal(s.dueAt(), undefined);
  // Frames 0..14 arrive 50 ms after their send time, frame 3 very late (after segment 0 is cut).
  for (let k = 0; k < 15; k++) if (k !== 3) s.add(frame(k, 1000 + 20 * k + 50));
  s.add(frame(3, 1000 + 400));
  assert.equal(s.dueAt(), 1050 + 200 + 100);
  const a = s.cut();
  assert.equal(a.index, 0);
  assert.equal(a.samples, 1600);
  assert.equal(a.rtpTimestamp, 4_294_967_000);
  // By 1350 every frame but 3 had arrived; 10..14 belong to the next segment and wait for it.
  assert.deepEqual(
    a.packets.map((p) => p.seq),
    [0, 1, 2, 4, 5, 6, 7, 8, 9],
  );
  const b = s.cut();
  assert.equal(b.index, 1);
  assert.equal(b.rtpTimestamp, (4_294_967_000 + 1600) >>> 0); // across the 32-bit wrap
  // The late frame 3 comes with segment 1 (the jitter buffer will find it late), in arrival order.
  assert.deepEqual(
    b.packets.map((p) => p.seq),
    [10, 11, 12, 13, 14, 3],
  );
});

test('segmenter: the last segment of a stream ends with the last frame received', () => {
  const s = new Segmenter({ frameSamples: 160, segmentMs: 200, holdMs: 0 });
  for (let k = 0; k < 13; k++) s.add(frame(k, 20 * k));
  s.cut();
  const last = s.cutLast()!;
  // The last segment covers frames 10..12 on the sender's grid.
  assert.equal(last.samples, 3 * 160);
  assert.equal(last.packets.length, 3);
  assert.equal(s.cutLast(), null);
  assert.throws(() => new Segmenter({ frameSamples: 160, segmentMs: 210, holdMs: 0 }), /multiple of 20/);
});
