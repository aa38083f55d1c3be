// The batch search's warm start from earlier proposals (optimizer/batch/learn.ts `keep`): an earlier
// run's proposal is re-evaluated and returned among the candidates whatever its rank, so the run
// verifies it again beside its own best. Counterfactual replay of generated audio; no I/O.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation, parameterByName } from '../../../catalog/index.ts';
import { buildSnapshot } from '../../../domain/snapshot.ts';
import { learn, type ReplaySegment, tunableSpace } from '../../../optimizer/batch/index.ts';
import { snapshotInput } from '../../helpers/fixtures.ts';
import { speechLike } from '../dsp/signals.ts';

const STATION = 2; // the gateway: two tunable parameters (input gain, limiter ceiling), a quick search
const defaults = defaultsForStation(STATION);
const space = tunableSpace(STATION, [], defaults, { hasFarEnd: false });
const train: ReplaySegment[] = [1, 2].map((seed) => ({
  snapshot: buildSnapshot(snapshotInput({ tenant: 'acme', call: `c${seed}`, station: STATION })),
  audio: { samples: speechLike(8000, 2, -38, seed).signal, clean: null, farEnd: null, sampleRate: 8000 },
}));
// An earlier proposal the search itself would not rank first: the least input gain on quiet speech.
const earlier = { ...defaults, input_gain_db: parameterByName('input_gain_db')!.min };

const run = (o: { warmStarts: Record<string, number>[]; keep: Record<string, number>[] }) =>
  learn({
    stationId: STATION,
    space,
    baseline: defaults,
    train,
    priors: [],
    budget: 6,
    seed: 1,
    pooledVar: 1,
    refToleranceDb: null,
    candidates: 1,
    ...o,
  });

test('warm start: an earlier proposal is re-evaluated first and returned among the candidates whatever its rank', async () => {
  assert.deepEqual(
    space.specs.map((s) => s.name),
    ['input_gain_db', 'limiter_ceiling_dbfs'],
  );
  const r = await run({ warmStarts: [earlier], keep: [earlier, defaults] });
  assert.equal(r.evaluations[0]!.by, 'baseline');
  assert.equal(r.evaluations[1]!.by, 'warm');
  assert.deepEqual(r.evaluations[1]!.params, earlier);
  const own = r.candidates.filter((c) => !c.earlier);
  const again = r.candidates.filter((c) => c.earlier);
  assert.equal(own.length, 1, 'the search still returns its own best');
  assert.ok(own[0]!.observed_score > again[0]!.observed_score, 'the earlier proposal is not the best here');
  assert.deepEqual(
    again.map((c) => c.params),
    [earlier],
    'the earlier proposal, once; one equal to the defaults is no candidate',
  );
  assert.equal(again[0]!.observed_score, r.evaluations[1]!.score);

  // Not among the warm starts (or cut by the budget): evaluated after the search, still returned.
  const late = await run({ warmStarts: [], keep: [earlier] });
  const e = late.evaluations.filter((x) => x.by === 'warm');
  assert.deepEqual(
    e.map((x) => x.params),
    [earlier],
  );
  assert.deepEqual(
    late.candidates.filter((c) => c.earlier).map((c) => c.params),
    [earlier],
  );
  // Without earlier proposals nothing is flagged.
  assert.ok((await run({ warmStarts: [], keep: [] })).candidates.every((c) => !c.earlier));
});
