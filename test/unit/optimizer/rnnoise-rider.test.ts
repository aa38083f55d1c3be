// RNNoise switched on rides past the two-move cap of a step, from the step's own findings or from the
// others beside a safety step (moves.ts freeRider): the input's noise margin reads babble noisy only
// while it lasts, and a step whose two slots went elsewhere left the call without it (eval seed 10
// gen-10-16 station 3). Switching it off never rides. Pure: no I/O.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation, parametersForStation } from '../../../catalog/index.ts';
import { initialState } from '../../../optimizer/core/index.ts';
import { choose } from '../../../optimizer/core/moves.ts';
import type { Finding } from '../../../optimizer/core/rules.ts';
import { snap } from './snapshots.ts';

const STATION = 3;
const specs = new Map(parametersForStation(STATION).map((p) => [p.name, p]));
const defaults = defaultsForStation(STATION);

const level: Finding = {
  rule: 'level',
  priority: 8,
  observation: 'speech at -40.5 dBov is 14.5 dB under the -26 dBov target',
  moves: [
    { name: 'agc_target_dbfs', desired: -23, reason: 'level' },
    { name: 'agc_max_gain_db', desired: 26, reason: 'level' },
  ],
};
const gate: Finding = {
  rule: 'noise',
  priority: 4,
  observation: 'the gate sits 29 dB under the talker',
  moves: [{ name: 'noise_gate_threshold_dbfs', desired: -82, reason: 'gate' }],
};
const rnnoise = (desired: number): Finding => ({
  rule: 'noise',
  priority: 0.001,
  observation: "the input's noise floor sits 44.5 dB under its speech peaks",
  moves: [{ name: 'rnnoise_enabled', desired, reason: 'noisy input' }],
});

const names = (
  findings: Finding[],
  params: Record<string, number> = defaults,
  others: Finding[] = [],
): [string, number, boolean][] =>
  choose(findings, initialState(snap(STATION)), specs, params, snap(STATION), [], others).map((c) => [
    c.change.name,
    c.change.new,
    c.rider ?? false,
  ]);

test('RNNoise switched on rides past the two moves a step takes, from its findings or the others', () => {
  const own = names([level, gate, rnnoise(1)]);
  assert.ok(
    own.some(([n, v, rider]) => n === 'rnnoise_enabled' && v === 1 && rider),
    JSON.stringify(own),
  );
  assert.ok(!own.some(([n]) => n === 'noise_gate_threshold_dbfs'), 'the gate waits: two moves a step');
  const beside = names([level], defaults, [rnnoise(1)]);
  assert.ok(
    beside.some(([n, v, rider]) => n === 'rnnoise_enabled' && v === 1 && rider),
    JSON.stringify(beside),
  );
});

test('RNNoise switched off waits its turn like any other move', () => {
  const on = { ...defaults, rnnoise_enabled: 1 };
  const picked = names([level, gate, rnnoise(0)], on);
  assert.ok(!picked.some(([n]) => n === 'rnnoise_enabled'), JSON.stringify(picked));
});
