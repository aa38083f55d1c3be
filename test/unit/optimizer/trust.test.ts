// The controller's per-call local model (optimizer/core/trust.ts), the judging that credits an
// exploratory step only with what it can move (judge.ts attributableGain), and the recognizer's WER
// in the scorecard and the judging. Pure: no I/O.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  defaultsForStation,
  type ParameterSpec,
  parameterByName,
  parametersForStation,
} from '../../../catalog/index.ts';
import type { StationScore } from '../../../contracts/generated.ts';
import { safeValue } from '../../../optimizer/core/bounds.ts';
import {
  attributableDrop,
  attributableGain,
  type ControllerState,
  decide,
  EXPLORE_STEP_SHARE,
  initialState,
  markApplied,
  scoreSnapshot,
} from '../../../optimizer/core/index.ts';
import { exploreMove } from '../../../optimizer/core/moves.ts';
import { learnFrom, modelMove, RADIUS_MAX, RADIUS_MIN } from '../../../optimizer/core/trust.ts';
import { type SnapOverrides, snap } from './snapshots.ts';

const specs3 = new Map(parametersForStation(3).map((p) => [p.name, p]));
const step = (name: string) => parameterByName(name)!.max_step;

test('trust: an improvement doubles the radius and remembers the direction; a regression halves it', () => {
  const up = [{ name: 'noise_suppression_db', old: 12, new: 15 }]; // half a max step (6 dB)
  const l1 = learnFrom({}, up, specs3, 'improved', 4);
  assert.deepEqual(l1['noise_suppression_db'], { radius: 1, direction: 1, slope: 8 });
  // Neutral: the radius holds, the direction is forgotten (nothing to continue).
  const l2 = learnFrom(l1, up, specs3, 'neutral', 0.2);
  assert.deepEqual(l2['noise_suppression_db'], { radius: 1, direction: 0, slope: 0 });
  // Regressed: half of the smaller of the radius and the step that hurt, never below the minimum.
  const l3 = learnFrom(l2, up, specs3, 'regressed', -5);
  assert.equal(l3['noise_suppression_db']!.radius, 0.25);
  let r = l3;
  for (let i = 0; i < 6; i++) r = learnFrom(r, up, specs3, 'regressed', -5);
  assert.equal(r['noise_suppression_db']!.radius, RADIUS_MIN);
  // Two parameters at once: radii move, but no slope is pinned on either.
  const two = [
    { name: 'input_gain_db', old: 0, new: 6 },
    { name: 'noise_suppression_db', old: 12, new: 18 },
  ];
  const l4 = learnFrom({}, two, specs3, 'improved', 6);
  assert.equal(l4['input_gain_db']!.direction, 0);
  assert.equal(l4['input_gain_db']!.radius, RADIUS_MAX);
  // An unknown or cold parameter teaches nothing.
  const cold = new Map(parametersForStation(1).map((p) => [p.name, p]));
  assert.deepEqual(learnFrom({}, [{ name: 'declip_enabled', old: 0, new: 1 }], cold, 'improved', 5), {});
});

// Station 3, slightly off but inside every rule's dead band: no rule has anything to say.
const flat: SnapOverrides = { audio: { loudness_lufs: -24.2, snr_db: 27, crest_factor_db: 11 } };

// The same, the level 5 LU under its target (what the level rule reads aside).
const quiet: SnapOverrides = { audio: { loudness_lufs: -28, snr_db: 27, crest_factor_db: 11 } };

function withLessons(lessons: ControllerState['lessons']): ControllerState {
  const st = initialState(snap(3, flat), 42);
  return { ...st, lessons };
}

test('trust: the model step continues the direction that last gained, one radius further', () => {
  const st = withLessons({ noise_suppression_db: { radius: 1, direction: -1, slope: 5 } });
  const params = defaultsForStation(3);
  const m = modelMove(st, parametersForStation(3), params, snap(3, flat))!;
  assert.equal(m.change.name, 'noise_suppression_db');
  assert.equal(m.change.new, params['noise_suppression_db']! - step('noise_suppression_db'));
  assert.match(m.reason, /gained 5\.0 points per max step: one more step down/);
  // The steepest expected gain (slope x radius) goes first (the level 5 LU under its target, so the input
  // gain may move); a weak slope is no model at all.
  const two = withLessons({
    noise_suppression_db: { radius: 0.25, direction: -1, slope: 5 },
    input_gain_db: { radius: 1, direction: 1, slope: 3 },
  });
  assert.equal(modelMove(two, parametersForStation(3), params, snap(3, quiet))!.change.name, 'input_gain_db');
  const weak = withLessons({ input_gain_db: { radius: 1, direction: 1, slope: 0.5 } });
  assert.equal(modelMove(weak, parametersForStation(3), params, snap(3, flat)), null);
  // Not against a recent regression in that direction.
  const tabu = {
    ...st,
    tabu: [{ name: 'noise_suppression_db', direction: -1 as const, until_iteration: 9 }],
  };
  assert.equal(modelMove(tabu, parametersForStation(3), params, snap(3, flat)), null);
});

test('trust: a level setter is neither model-stepped nor explored while the level sits within 3 LU of its target', () => {
  const params = defaultsForStation(3);
  const specs = parametersForStation(3);
  // The input gain's last step gained (the level coming to its target): at -24.2 LUFS a step further
  // only leaves the target; at -28 it may continue.
  const st = withLessons({ input_gain_db: { radius: 1, direction: 1, slope: 3 } });
  assert.equal(modelMove(st, specs, params, snap(3, flat)), null);
  assert.equal(modelMove(st, specs, params, snap(3, quiet))!.change.name, 'input_gain_db');
  // Exploration over 200 seeds: never the input gain, the AGC's target or its max gain on target, and
  // each of them off it.
  const setters = ['input_gain_db', 'agc_target_dbfs', 'agc_max_gain_db'];
  const picked = (o: SnapOverrides) => {
    const names = new Set<string>();
    for (let seed = 1; seed <= 200; seed++) {
      const s0 = initialState(snap(3, o), seed);
      const m = exploreMove(s0, specs, params, snap(3, o)).chosen;
      if (m) names.add(m.change.name);
    }
    return names;
  };
  const on = picked(flat);
  assert.ok(on.size > 3, `explored: ${[...on]}`);
  for (const n of setters) assert.ok(!on.has(n), `${n} explored with the level on target`);
  const off = picked(quiet);
  for (const n of setters) assert.ok(off.has(n), `${n} never explored with the level 5 LU off`);
});

test("trust: the echo canceller's tail is neither model-stepped nor explored: its effect outlasts the judged second", () => {
  // A tail change resizes the canceller's filter, and without a working model it learns over again
  // (moves.ts NOT_PROBED): gen-6-3 station 1 went 64 -> 80 -> 112 ms on probes and never cancelled again.
  const params = defaultsForStation(1);
  const specs = parametersForStation(1);
  assert.ok(specs.some((p) => p.name === 'echo_canceller_tail_ms' && p.hot));
  const st = {
    ...initialState(snap(1, flat), 42),
    lessons: { echo_canceller_tail_ms: { radius: 1, direction: 1 as const, slope: 9.7 } },
  };
  assert.equal(modelMove(st, specs, params, snap(1, flat)), null);
  const names = new Set<string>();
  for (let seed = 1; seed <= 200; seed++) {
    const m = exploreMove(initialState(snap(1, quiet), seed), specs, params, snap(1, quiet)).chosen;
    if (m) names.add(m.change.name);
  }
  assert.ok(names.size > 3, `explored: ${[...names]}`);
  assert.ok(!names.has('echo_canceller_tail_ms'), 'the tail explored');
});

test('trust: decide takes the model step before exploring, and exploration steps follow the radius', () => {
  const current = defaultsForStation(3);
  const model = decide({
    snapshot: snap(3, flat),
    current,
    state: withLessons({ noise_suppression_db: { radius: 1, direction: 1, slope: 4 } }),
    now: 0,
    explore: true,
  });
  assert.equal(model.proposals.length, 1);
  assert.equal(model.proposals[0]!.name, 'noise_suppression_db');
  assert.equal(model.proposals[0]!.new, current['noise_suppression_db']! + step('noise_suppression_db'));
  assert.equal(model.state.pending?.rule, 'model');
  assert.equal(model.state.pending?.exploratory, true, 'a model step that gains nothing is taken back');
  // Every parameter's radius shrunk to a quarter: exploration steps a quarter of a max step.
  const small = Object.fromEntries(
    parametersForStation(3).map((p) => [p.name, { radius: 0.25, direction: 0 as const, slope: 0 }]),
  );
  const ex = decide({ snapshot: snap(3, flat), current, state: withLessons(small), now: 0, explore: true });
  const p = ex.proposals[0]!;
  assert.equal(ex.state.pending?.rule, 'explore');
  const moved = Math.abs(p.new - (p.old as number));
  assert.ok(moved > 0 && moved <= 0.25 * step(p.name) + 1e-9, ex.analysis);
  assert.ok(0.25 < EXPLORE_STEP_SHARE);
});

function scoreOf(components: Record<string, [number, number]>): StationScore {
  return {
    station_id: 3,
    score: 0,
    components: Object.entries(components).map(([name, [score, weight]]) => ({
      name,
      value: 0,
      score,
      weight,
      detail: '',
    })),
  };
}

test('judging: an exploratory step is credited only with the gain on components it can move', () => {
  const before = { level: 0.5, noise: 0.8 };
  const now = scoreOf({ level: [1, 0.2], noise: [0.9, 0.15] });
  // The level rose by 0.5 (weight 0.2), the noise by 0.1 (weight 0.15), out of 0.35 of weight.
  assert.ok(Math.abs(attributableGain(before, now, ['noise_suppression_db']) - (100 * 0.015) / 0.35) < 1e-9);
  assert.ok(Math.abs(attributableGain(before, now, ['input_gain_db']) - (100 * 0.1) / 0.35) < 1e-9);
  assert.equal(attributableDrop(before, now, ['input_gain_db']), 0);
  // The settings guards multiply the score and are not in its weighted mean: their weights stay out
  // of the sum the gain is taken over, or every attributable move would shrink (here 0.35 -> 0.85).
  const guarded = scoreOf({
    level: [1, 0.2],
    noise: [0.9, 0.15],
    voice_band: [0.7, 0.25],
    gate_margin: [1, 0.25],
  });
  assert.ok(Math.abs(attributableGain(before, guarded, ['input_gain_db']) - (100 * 0.1) / 0.35) < 1e-9);
  assert.ok(Math.abs(attributableDrop(before, guarded, ['input_gain_db'])) < 1e-9);

  // Through decide: explore, then a next second without the DC offset, which no parameter here moves.
  const dc: SnapOverrides = { audio: { ...flat.audio, dc_offset: 0.03 } };
  let chosen: string | null = null;
  let d = decide({
    snapshot: snap(3, flat),
    current: defaultsForStation(3),
    state: null,
    now: 0,
    explore: true,
  });
  for (let seed = 1; seed < 60 && chosen === null; seed++) {
    d = decide({
      snapshot: snap(3, dc),
      current: defaultsForStation(3),
      state: null,
      now: 0,
      explore: true,
      seed,
    });
    const name = d.proposals[0]?.name;
    if (name === 'noise_suppression_db' || name === 'highpass_cutoff_hz') chosen = name;
  }
  assert.ok(chosen, 'a seed that explores a parameter the level does not depend on');
  const p = d.proposals[0]!;
  const current = { ...defaultsForStation(3), [p.name]: p.new };
  const noDc: SnapOverrides = { audio: { ...flat.audio, dc_offset: 0 }, version: 1, index: 1 };
  const judged = decide({
    snapshot: snap(3, noDc),
    current,
    state: markApplied(d.state, 1),
    now: 1000,
    explore: true,
  });
  assert.ok(judged.verdict!.after - judged.verdict!.before >= 1, 'the score did rise');
  assert.ok(judged.rollback, judged.analysis);
  assert.match(judged.rollback.reason, /gained nothing/);
});

test('scorecard: the recognizer’s WER is a component where it is known, and a rise in it is held against any change', () => {
  const clean = scoreSnapshot(snap(4, { stt_word_error_rate: 0.2 }));
  const wer = clean.components.find((c) => c.name === 'stt_wer')!;
  assert.equal(wer.score, 0.8);
  assert.match(wer.detail, /got 20% of the words wrong/);
  assert.ok(scoreSnapshot(snap(4, { stt_word_error_rate: 0.6 })).score < clean.score);
  assert.equal(
    scoreSnapshot(snap(4)).components.find((c) => c.name === 'stt_wer'),
    undefined,
  );
  // A level fix that costs words: the WER's loss counts against the gain change whatever it watches.
  const before = { stt_wer: 0.8, level: 0.5 };
  const now = scoreOf({ stt_wer: [0.3, 0.2], level: [1, 0.2] });
  assert.ok(Math.abs(attributableDrop(before, now, ['input_gain_db']) - (100 * 0.1) / 0.4) < 1e-9);
});

test('explore: a switch (rnnoise_enabled, values [0, 1]) is tried at its other value, never half on', () => {
  const rn = parameterByName('rnnoise_enabled')!;
  const st = initialState(snap(3, flat), 7);
  for (const [old, want] of [
    [0, 1],
    [1, 0],
  ] as const) {
    const params = { ...defaultsForStation(3), rnnoise_enabled: old };
    const m = exploreMove(st, [rn], params, snap(3, flat)).chosen!;
    assert.equal(m.change.name, 'rnnoise_enabled');
    assert.equal(m.change.new, want, `from ${old}`);
    assert.match(m.reason, new RegExp(`a switch to ${want} on rnnoise_enabled`));
  }
  // The safety layer's value for a switch is one of its values: a desired 0.7 is on, 0.2 is off.
  assert.equal(safeValue(rn, 0, 0.7, []), 1);
  assert.equal(safeValue(rn, 1, 0.2, []), 0);
  assert.equal(safeValue(rn, 1, 0.7, []), null, 'no change');
});

test('explore: a parameter the running set leaves inert is not explored (an RNNoise limit with RNNoise off, a threshold at ratio 1)', () => {
  const lim = parameterByName('rnnoise_attenuation_limit_db')!;
  const thr = parameterByName('compressor_threshold_dbfs')!;
  const st = initialState(snap(3, flat), 7);
  const d = defaultsForStation(3);
  const tries = (params: Record<string, number>, specs: ParameterSpec[]) =>
    Array.from(
      { length: 16 },
      (_, seed) => exploreMove({ ...st, rng: seed + 1 }, specs, params, snap(3, flat)).chosen,
    );
  assert.ok(tries({ ...d, rnnoise_enabled: 0 }, [lim]).every((m) => m === null));
  assert.ok(tries({ ...d, rnnoise_enabled: 1 }, [lim]).every((m) => m?.change.name === lim.name));
  assert.ok(tries({ ...d, compressor_ratio: 1 }, [thr]).every((m) => m === null));
  assert.ok(tries({ ...d, compressor_ratio: 2 }, [thr]).every((m) => m?.change.name === thr.name));
  // The hum canceller while the station's detector follows no family: bit-exact, so not explored.
  const hc = parameterByName('hum_canceller_enabled')!;
  const onLine = (input_hum_ratio: number | null) =>
    Array.from(
      { length: 16 },
      (_, seed) =>
        exploreMove({ ...st, rng: seed + 1 }, [hc], d, snap(3, { ...flat, input_hum_ratio })).chosen,
    );
  assert.ok(onLine(0).every((m) => m === null));
  assert.ok(onLine(0.002).every((m) => m?.change.name === hc.name));
  assert.ok(onLine(null).every((m) => m?.change.name === hc.name));
  // With others to choose from, the inert one is never picked.
  const rn = parameterByName('rnnoise_enabled')!;
  assert.ok(tries({ ...d, rnnoise_enabled: 0 }, [lim, rn]).every((m) => m?.change.name === rn.name));
});
