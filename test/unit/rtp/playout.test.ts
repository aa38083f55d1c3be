import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SegmentPlayout } from '../../../media/rtp/playout.ts';

const FS = 160;
const packet = (k: number, arrivalMs: number) => ({
  seq: k,
  timestamp: 1000 + k * FS,
  arrivalMs,
  payload: new Float32Array(FS).fill((k + 1) / 100),
});

test('playout: each segment yields exactly its frames; reordered packets in time are played, late ones concealed', () => {
  const p = new SegmentPlayout(8000, 60);
  // Frames 0..9 sent every 20 ms with 10 ms of transit; 2 and 3 swapped; 7 arrives 200 ms late.
  const pk = [0, 1, 3, 2, 4, 5, 6, 8, 9].map((k) => packet(k, 10 + 20 * k + (k === 2 ? 5 : 0)));
  pk.push(packet(7, 10 + 20 * 7 + 200));
  const a = p.play(
    pk.filter((x) => x.seq < 5),
    5,
  );
  assert.equal(a.length, 5 * FS);
  assert.deepEqual(
    [0, 1, 2, 3, 4].map((f) => a[f * FS]),
    [0.01, 0.02, 0.03, 0.04, 0.05].map(Math.fround),
  );
  const b = p.play(
    pk.filter((x) => x.seq >= 5),
    5,
  );
  assert.equal(b[0], Math.fround(0.06));
  assert.notEqual(b[2 * FS + 10], Math.fround(0.08), 'frame 7 was late: concealed, not its packet');
  // Frame 8 is its packet (after the concealment's crossfade at its start).
  assert.equal(b[4 * FS - 1], Math.fround(0.09));
  assert.equal(p.stats.late, 1);
  assert.equal(p.stats.played, 9);
});
