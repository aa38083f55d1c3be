// The batch optimizer's reference guard (optimizer/batch/reference.ts, report.ts): which candidates
// PESQ and STOI against the clean speech let through, and the one pair per parameter set it sends
// the judge. Pure: the judge is not called here (test/unit/quality pins the sidecar itself).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation } from '../../../catalog/index.ts';
import { buildSnapshot } from '../../../domain/snapshot.ts';
import type { ReplaySegment } from '../../../optimizer/batch/counterfactual.ts';
import {
  type CandidateReport,
  compare,
  compareReference,
  judge,
  PESQ_TOLERANCE,
  pickWinner,
  referenceFault,
  STOI_TOLERANCE,
} from '../../../optimizer/batch/index.ts';
import { judgeableSegments, referencePair } from '../../../optimizer/batch/reference.ts';
import { snapshotInput } from '../../helpers/fixtures.ts';

const winning = compare(
  [12, 13, 14, 15].map((score) => ({ score, ref: null })),
  [1, 2, 3, 4].map((score) => ({ score, ref: null })),
);

test('reference guard: a better score at a worse PESQ or STOI is refused, naming the measure', () => {
  const base = { pesq: 2.0, stoi: 0.9 };
  assert.equal(referenceFault(compareReference({ pesq: 2.3, stoi: 0.9 }, base, 10)), null);
  // Within the tolerances: kept (the same audio re-run is not bit-exact across sets).
  assert.equal(
    referenceFault(
      compareReference({ pesq: 2.0 - PESQ_TOLERANCE / 2, stoi: 0.9 - STOI_TOLERANCE / 2 }, base, 10),
    ),
    null,
  );
  const pesqFall = compareReference({ pesq: 1.8, stoi: 0.95 }, base, 10);
  assert.match(referenceFault(pesqFall) ?? '', /PESQ falls 2\.00 -> 1\.80 MOS/);
  const stoiFall = compareReference({ pesq: 2.5, stoi: 0.85 }, base, 10);
  assert.match(referenceFault(stoiFall) ?? '', /STOI falls 0\.900 -> 0\.850/);
  // Nothing judged (no clean speech, or no speech PESQ could find): no verdict either way.
  assert.equal(compareReference(null, base, 10), null);
  assert.equal(referenceFault(null), null);

  assert.equal(judge(winning, 1, compareReference({ pesq: 2.3, stoi: 0.91 }, base, 10)).kept, true);
  assert.match(
    judge(winning, 1, compareReference({ pesq: 2.3, stoi: 0.91 }, base, 10)).why,
    /PESQ 2\.00 -> 2\.30/,
  );
  const gamed = judge(winning, 1, pesqFall);
  assert.equal(gamed.kept, false);
  assert.match(gamed.why, /scores 11\.0 points better but PESQ falls .* the blind score is being gamed/);
  // The score's own conditions still come first.
  assert.match(
    judge(winning, 20, compareReference({ pesq: 3, stoi: 1 }, base, 10)).why,
    /under the 20\.0-point margin/,
  );
});

test('reference guard: among kept candidates within the margin, the one PESQ clearly prefers wins', () => {
  const base = { pesq: 2.0, stoi: 0.9 };
  const cand = (pesq: number, changed: number): CandidateReport => ({
    params: {},
    expected_score: 0,
    expected_sd: 0,
    observed_score: 0,
    changed,
    pruned: false,
    earlier: false,
    verification: winning,
    reference: compareReference({ pesq, stoi: 0.9 }, base, 10),
    kept: true,
    why: '',
  });
  assert.equal(pickWinner([cand(2.05, 1), cand(2.6, 3)], 1), 1);
  // A PESQ difference within the tolerance does not decide: fewer changed parameters do.
  assert.equal(pickWinner([cand(2.05, 3), cand(2.05 + PESQ_TOLERANCE / 2, 1)], 1), 1);
});

test('reference pair: one per set, the output of every segment with clean speech end to end', () => {
  const sr = 16000;
  const seg = (clean: boolean, rate = sr): ReplaySegment => {
    const n = rate / 2;
    const samples = new Float32Array(n).map((_, i) => 0.1 * Math.sin((2 * Math.PI * 300 * i) / rate));
    return {
      snapshot: buildSnapshot(snapshotInput({ tenant: 'acme', call: 'c', station: 3 })),
      audio: { sampleRate: rate, samples, clean: clean ? samples.slice() : null, farEnd: null },
    } as ReplaySegment;
  };
  const segs = [seg(true), seg(false), seg(true), seg(true, 48000)];
  assert.equal(judgeableSegments(segs).length, 2, 'only clean segments at the first one’s rate');
  const p = referencePair(3, defaultsForStation(3), segs)!;
  assert.equal(p.sampleRate, sr);
  assert.equal(p.ref.length, sr);
  assert.equal(p.deg.length, sr);
  assert.deepEqual(p.ref.subarray(0, 10), segs[0]!.audio.clean!.subarray(0, 10));
  assert.ok(
    p.deg.some((x) => x !== 0),
    'the station’s output, not silence',
  );
  assert.equal(referencePair(3, defaultsForStation(3), [seg(false)]), null);
});
