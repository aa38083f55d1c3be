// The eval summary's PESQ counts beside the strict ones: changed stations whose PESQ fell by no more than
// TIE_MOS, and the search's best worse than the defaults by more than 0.02 MOS. Pure: no I/O.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StationRecord } from '../../../eval/profile.ts';
import { renderSummary, summarize, TIE_MOS } from '../../../eval/summary.ts';

const rec = (def: number, final: number, best: number, changed = true): StationRecord =>
  ({
    profile: 'p',
    station_id: 9,
    final_score: 95,
    best_score: 96,
    default_score: 90,
    ratio_to_best: 95 / 96,
    standing_score: 95,
    standing_over_best: 95 / 96,
    reached_at: [2],
    changed,
    changes: 1,
    rejected: 0,
    rollbacks: 0,
    rank_points: [],
    pesq_default: def,
    pesq_final: final,
    pesq_best: best,
    stoi_default: null,
    stoi_final: null,
    stoi_best: null,
  }) as unknown as StationRecord;

test('eval summary: a PESQ fall within the tie counts apart from the strict share, and the best by 0.02', () => {
  const s = summarize([
    rec(4.64, 4.62, 4.59), // station 9's level lifted: -0.02 final, -0.05 best
    rec(4.64, 4.635, 4.64), // -0.005: a tie
    rec(2.0, 2.5, 2.01), // better
    rec(3.0, 2.8, 2.9), // a drop over 0.1; the best 0.1 under, not more
    rec(3.0, 2.0, 2.0, false), // unchanged: not among the changed; its best counts, 1.0 under
  ]);
  assert.equal(s.pesq.changed, 4);
  assert.equal(s.pesq.share_changed_not_worse, 1 / 4);
  assert.equal(s.pesq.share_changed_within_tie, 2 / 4);
  assert.equal(TIE_MOS, 0.01);
  assert.equal(s.pesq.best_worse_than_default, 3);
  assert.equal(s.pesq.best_worse_than_default_over_0_02, 3);
  assert.equal(s.pesq.best_worse_than_default_over_0_1, 1);
  const text = renderSummary(s);
  assert.match(text, /changed stations not worse: 25\.0% of 4 \(50\.0% within 0\.01 MOS\)/);
  assert.match(text, /worse than defaults by PESQ: 3 \(by > 0\.02 MOS: 3, by > 0\.1 MOS: 1\)/);
});

test('eval summary: the PESQ goals read as given sit beside the median over delays; records from before it give none', () => {
  // The judge's median over delays (quality/sidecar.py) and the reading as given differ at the first
  // station only: the defaults read 1.72 as given, 1.37 by the median, the final 1.38 by both.
  const plain = (r: StationRecord, def: number, final: number, best: number) =>
    ({ ...r, pesq_plain_default: def, pesq_plain_final: final, pesq_plain_best: best }) as StationRecord;
  const s = summarize([
    plain(rec(1.37, 1.38, 1.28), 1.72, 1.38, 1.28),
    plain(rec(2.0, 2.5, 2.01), 2.0, 2.5, 2.01),
  ]);
  assert.equal(s.pesq.drops_over_0_1, 0);
  assert.equal(s.pesq.share_changed_not_worse, 1);
  assert.ok(s.pesq_plain !== null);
  assert.equal(s.pesq_plain.drops_over_0_1, 1);
  assert.equal(s.pesq_plain.share_changed_not_worse, 1 / 2);
  assert.equal(s.pesq_plain.best_worse_than_default_over_0_02, 1);
  assert.ok(Math.abs(s.pesq_plain.mean_gain_below_3_5! - (-0.34 + 0.5) / 2) < 1e-9);
  assert.match(
    renderSummary(s),
    /read as given \(no median over delays\): changed not worse 50\.0% .* drops > 0\.1 MOS: 1;/,
  );
  assert.equal(summarize([rec(2.0, 2.5, 2.01)]).pesq_plain, null);
});
