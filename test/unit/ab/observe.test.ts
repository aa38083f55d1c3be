import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callObservation } from '../../../optimizer/ab/index.ts';
import { scoreSnapshot } from '../../../optimizer/core/index.ts';
import { snap } from '../optimizer/snapshots.ts';

test('observation: the mean score of the first k segments after enrollment, each segment once', () => {
  const s = [3, 1, 2, 5].map((index) =>
    snap(4, { index, stt_confidence: 0.5 + index / 10, audio: { loudness_lufs: -23 - index } }),
  );
  assert.equal(callObservation(s.slice(0, 1), 2), null, 'one segment is not enough for k = 2');
  const obs = callObservation([...s, { ...s[1]!, snapshot_id: 'redelivered' }], 2)!;
  const expected = (scoreSnapshot(s[1]!).score + scoreSnapshot(s[2]!).score) / 2;
  assert.ok(Math.abs(obs.score - expected) < 1e-12, `${obs.score} vs ${expected}`);
  assert.deepEqual(obs.snapshot_ids, [s[1]!.snapshot_id, s[2]!.snapshot_id]);
  assert.notEqual(obs.score, callObservation(s, 3)!.score, 'k = 3 takes segment 3 in');
});
