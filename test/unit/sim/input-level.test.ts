import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation } from '../../../catalog/index.ts';
import { createStationState, processSegment } from '../../../stations/pipeline.ts';
import { simulateCall } from '../../../stations/sim/index.ts';
import { setOf } from './helpers.ts';

/** input_speech_level_dbov per segment of one call through `stationId` at its defaults. */
function inputLevels(stationId: number, station: Record<string, unknown>, rate: number): number[] {
  const set = setOf({ [String(stationId)]: station }, { [String(stationId)]: rate });
  const call = simulateCall({ impairments: set, callIndex: 0, seed: 5, segments: 5 });
  const params = defaultsForStation(stationId);
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
