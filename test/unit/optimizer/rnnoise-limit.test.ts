// RNNoise goes past its default limit on an SNR barely above the station's minimum only where the input
// holds a steady noise floor (its noise margin under 40 dB): the blind SNR reads babble low, and babble is
// where a deeper limit costs (rules.ts rnnoiseHarder, steadyFloor). Pure: no I/O.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation } from '../../../catalog/index.ts';
import { decide } from '../../../optimizer/core/index.ts';
import { snap } from './snapshots.ts';

const STATION = 9;

function step(snr: number, limit: number, margin = 48) {
  const current = { ...defaultsForStation(STATION), rnnoise_enabled: 1, rnnoise_attenuation_limit_db: limit };
  // On target, an input with noise (under the 60 dB of a clean one): only the noise rule has a reason.
  const s = snap(STATION, { audio: { snr_db: snr, hum_ratio: 0 }, input_noise_margin_db: margin });
  const d = decide({ snapshot: s, current, state: null, now: 0 });
  return { d, limit: d.proposals.find((p) => p.name === 'rnnoise_attenuation_limit_db')?.new };
}

test('an SNR barely above the minimum over no steady floor does not take RNNoise past its default limit', () => {
  // Eval seed 9 gen-9-6 station 9: a 29 dB babble read 24.0 dB (margin 47.8), the limit went 30 -> 42,
  // PESQ 3.10 -> 3.02.
  const { d, limit } = step(24, 30);
  assert.equal(limit, undefined, d.analysis);
  assert.match(d.analysis, /SNR 24\.0 dB is barely above the 20 dB minimum/);
});

test('over a steady floor, under the minimum, or below the default limit, RNNoise still goes deeper', () => {
  // gen-3-1 station 9: white noise at 28 dB read 21.4 dB over a 38.4 dB margin; 42 gained 0.029 over 30.
  const steady = step(21.4, 30, 38.4);
  assert.equal(steady.limit, 42, steady.d.analysis);
  const under = step(14, 30);
  assert.equal(under.limit, 42, under.d.analysis);
  const back = step(24, 18);
  assert.equal(back.limit, 30, `a limit under the default is raised to it: ${back.d.analysis}`);
});
