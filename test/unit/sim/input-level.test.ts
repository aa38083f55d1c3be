import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation } from '../../../catalog/index.ts';
import { createStationState, processSegment } from '../../../stations/pipeline.ts';
import { simulateCall } from '../../../stations/sim/index.ts';
import { setOf } from './helpers.ts';

/** input_speech_level_dbov per segment of one call through `stationId` at its defaults, `set` over them. */
function inputLevels(
  stationId: number,
  station: Record<string, unknown>,
  rate: number,
  set: Record<string, number> = {},
): number[] {
  const profile = setOf({ [String(stationId)]: station }, { [String(stationId)]: rate });
  const call = simulateCall({ impairments: profile, callIndex: 0, seed: 5, segments: 6 });
  const params = { ...defaultsForStation(stationId), ...set };
  const state = createStationState(stationId, params, rate);
  return call.segments.map(
    (s) => processSegment(state, params, s.inputs.get(stationId)!).metrics.input_speech_level_dbov!,
  );
}

// The gate's and the AGC's level has the input stage's offset out (chain.ts): the reading must too.
// Stations 3 (high-pass, no echo canceller: its tap is the raw input) and 9 (neither), at 16 kHz.
for (const stationId of [3, 9]) {
  test(`input speech level at station ${stationId}: a DC offset over a quiet talker does not read as the talker`, (t) => {
    const talker = { level_db: -44 };
    const clean = inputLevels(stationId, talker, 16000);
    const offset = inputLevels(stationId, { ...talker, dc_offset: -0.078 }, 16000);
    t.diagnostic(
      `without the offset ${clean.map((v) => v.toFixed(1)).join(' ')}; with it ${offset.map((v) => v.toFixed(1)).join(' ')} dBov`,
    );
    // From the second segment: the blocker engages over its first 100-200 ms, as the chain's own does.
    for (let i = 1; i < clean.length; i++) {
      assert.ok(
        Math.abs((offset[i] as number) - (clean[i] as number)) < 1,
        `segment ${i}: ${offset[i]} dBov with the offset, ${clean[i]} without (the offset alone is -22 dBov)`,
      );
    }
  });
}

test('input speech level at station 3: the talker under a hum the canceller takes out, the hum where it is off', (t) => {
  const station = { level_db: -50, hum: { freq_hz: 60, level_dbfs: -33.5, harmonics: [1, 0.65, 0.2] } };
  const clean = inputLevels(3, { level_db: -50 }, 16000);
  const on = inputLevels(3, station, 16000, { hum_canceller_enabled: 1 });
  const off = inputLevels(3, station, 16000);
  const f = (v: number[]) => v.map((x) => x.toFixed(1)).join(' ');
  t.diagnostic(`talker alone ${f(clean)}; canceller on ${f(on)}; off ${f(off)} dBov`);
  // The canceller notches once its detector has the family (about 2.5 s): judged from the fourth second.
  for (let i = 3; i < clean.length; i++) {
    assert.ok(
      Math.abs((on[i] as number) - (clean[i] as number)) < 2,
      `segment ${i}: ${on[i]} vs ${clean[i]}`,
    );
    // Off, the gate sees the hum: it is what the reading must say there.
    assert.ok((off[i] as number) > (clean[i] as number) + 10, `segment ${i} off: ${off[i]}`);
  }
});
