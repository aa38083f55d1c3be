// Hum that holds half the output's energy or more masks the level, noise and dynamics readings
// (rules.ts diagnose, HUM_MASKS): the hum's own step goes alone, and while the canceller just switched
// on is still locking onto the hum (its detector's reading, input_hum_ratio, still null) the controller
// waits a second instead of acting on the hum's loudness, floor and crest, or exploring. Once the
// canceller has had its time, or where the hum is a minor share, the rules act as before. Pure: no I/O.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation } from '../../../catalog/index.ts';
import { decide } from '../../../optimizer/core/index.ts';
import { type SnapOverrides, snap } from './snapshots.ts';

const STATION = 9;
const defaults = defaultsForStation(STATION);
const cancelling = { ...defaults, hum_canceller_enabled: 1 };
// gen-9-13 station 9's first second: a -25.5 dBFS 60 Hz hum over a -51 dBov talker.
const humOver = (hum_ratio: number, input_hum_ratio: number | null = null): SnapOverrides => ({
  audio: {
    hum_ratio,
    loudness_lufs: -28.2,
    active_speech_level_dbov: -25.4,
    crest_factor_db: 7.5,
    snr_db: -20,
    noise_floor_dbfs: -28,
  },
  input_hum_ratio,
});
// The call's second second (1 s segments, as the eval's): the canceller's detector has not read 2.5 s yet.
const run = (o: SnapOverrides, current: Record<string, number>, index = 1) =>
  decide({
    snapshot: snap(STATION, { index, segment_ms: 1000, ...o }),
    current,
    state: null,
    now: 0,
    explore: true,
  });
const names = (d: ReturnType<typeof run>) => d.proposals.map((p) => p.name).sort();

test('hum above the talker: the canceller goes alone, the level, noise and dynamics rules wait', () => {
  const d = run(humOver(1), defaults);
  assert.deepEqual(names(d), ['hum_canceller_enabled'], d.analysis);
  assert.match(d.analysis, /waiting: hum holds 100\.0% of the energy/);
});

test('the canceller on but not yet locked on: no step at all this second, and not converged', () => {
  const d = run(humOver(0.99), cancelling);
  assert.deepEqual(d.proposals, [], d.analysis);
  assert.equal(d.state.converged, false, d.analysis);
  assert.equal(d.state.pending, null);
  assert.match(d.analysis, /Waiting a second/);
});

test('once the canceller has read the call, the rules act on what is left', () => {
  const d = run(humOver(0.99, 0.4), cancelling);
  assert.ok(d.proposals.length > 0, d.analysis);
  assert.doesNotMatch(d.analysis, /Waiting a second/);
});

test('hum that is a minor share of the energy masks nothing', () => {
  const d = run(humOver(0.2), defaults);
  assert.ok(names(d).includes('hum_canceller_enabled'), d.analysis);
  assert.ok(names(d).length > 1, d.analysis);
  assert.doesNotMatch(d.analysis, /waiting: hum holds/);
});

test('the high-pass waits while the canceller locks on; after its first 2.5 s a null reading waits for nothing', () => {
  const st3 = { ...defaultsForStation(3), hum_canceller_enabled: 1 };
  const humming: SnapOverrides = { audio: { hum_ratio: 0.3 } };
  const at = (index: number) =>
    decide({ snapshot: snap(3, { index, segment_ms: 1000, ...humming }), current: st3, state: null, now: 0 });
  const early = at(1);
  assert.equal(
    early.proposals.find((p) => p.name === 'highpass_cutoff_hz'),
    undefined,
    early.analysis,
  );
  assert.match(early.analysis, /still locking onto it: waiting before the high-pass/);
  // An agent that never reports input_hum_ratio, 4 s into the call: the high-pass goes up as before.
  const late = at(3);
  const hp = late.proposals.find((p) => p.name === 'highpass_cutoff_hz');
  assert.ok(hp && (hp.new as number) > (hp.old as number), late.analysis);
});
