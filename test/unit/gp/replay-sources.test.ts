// Which stored snapshots a batch run may replay (optimizer/batch/replaySource): only the tenant's own
// input audio, at a rate the chain runs, from a station whose input is not a network leg.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { audioKey } from '../../../domain/audioKeys.ts';
import { buildSnapshot } from '../../../domain/snapshot.ts';
import {
  INPUT_KEY_LABEL,
  NOT_REPLAYABLE,
  replaySource,
  SAMPLE_RATE_LABEL,
} from '../../../optimizer/batch/index.ts';
import { snapshotInput } from '../../helpers/fixtures.ts';

test('replay sources: only the tenant’s own input audio counts as replayable', () => {
  const key = (tn: string, c: string) => audioKey(tn, c.repeat(64));
  const snap = (station: number, labels: Record<string, string>) =>
    buildSnapshot({ ...snapshotInput({ tenant: 'acme', call: 'c1', station }), labels });
  const ok = replaySource(snap(3, { [INPUT_KEY_LABEL]: key('acme', 'a'), [SAMPLE_RATE_LABEL]: '16000' }));
  assert.ok(ok.ok && ok.source.inputKey === key('acme', 'a') && ok.source.sampleRate === 16000);
  const cases: [ReturnType<typeof snap>, string][] = [
    [snap(3, {}), NOT_REPLAYABLE.outputOnly],
    [snap(2, { [INPUT_KEY_LABEL]: key('acme', 'a'), [SAMPLE_RATE_LABEL]: '8000' }), NOT_REPLAYABLE.network],
    [
      snap(3, { [INPUT_KEY_LABEL]: key('other', 'a'), [SAMPLE_RATE_LABEL]: '16000' }),
      NOT_REPLAYABLE.foreignKey,
    ],
    [
      snap(3, { [INPUT_KEY_LABEL]: '../../etc/passwd', [SAMPLE_RATE_LABEL]: '16000' }),
      NOT_REPLAYABLE.foreignKey,
    ],
    [
      snap(3, { [INPUT_KEY_LABEL]: key('acme', 'a'), [SAMPLE_RATE_LABEL]: '44100' }),
      NOT_REPLAYABLE.sampleRate,
    ],
  ];
  for (const [s, reason] of cases) {
    const r = replaySource(s);
    assert.ok(
      !r.ok && r.reason === reason,
      `${JSON.stringify(s.labels)} station ${s.station_id}: ${JSON.stringify(r)}`,
    );
  }
});
