// The scorecard's settings guards (settings.ts) and the learned region served to the controller
// (prior.ts): the ways of gaming the blind metrics cost score, the controller eases them off, and a
// learned region is headed for first, one safe step at a time on every parameter outside it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation, parameterByName, parametersForStation } from '../../../catalog/index.ts';
import { checkChange } from '../../../config/safety.ts';
import { decide, MAX_CHANGES_PER_STEP, markApplied, scoreSnapshot } from '../../../optimizer/core/index.ts';
import { type LearnedRegion, regionStart } from '../../../optimizer/core/prior.ts';
import { snap } from './snapshots.ts';

const d3 = defaultsForStation(3);
const scored = (params: Record<string, number>, audio = {}) =>
  scoreSnapshot(snap(3, { audio }), params).score;

test('settings guards: a voice-band high-pass, a gate at the speech level, a limiter ceiling near it and needless suppression each cost score', () => {
  const base = scored(d3);
  assert.ok(Math.abs(base - scoreSnapshot(snap(3)).score) < 5, 'defaults on a clean line cost little');
  assert.ok(scored({ ...d3, highpass_cutoff_hz: 280 }) < base - 10, 'a 280 Hz high-pass');
  assert.ok(scored({ ...d3, noise_gate_threshold_dbfs: -30 }) < base - 10, 'a gate at -30 dBFS');
  // Speech at -12 dBov: a -6 dBFS ceiling is 6 dB over it and flattens every peak; -1 dBFS leaves 11.
  // (The compressor off: at -18 dBFS it would work on every syllable of this talker too.)
  const hot = { loudness_lufs: -12 };
  const d3off = { ...d3, compressor_ratio: 1 };
  const limited = scoreSnapshot(snap(3, { audio: hot }), { ...d3off, limiter_ceiling_dbfs: -6 });
  const guard = limited.components.find((c) => c.name === 'limiter_headroom')!;
  assert.equal(guard.score, 0);
  assert.match(guard.detail, /6\.0 dB over the speech level: it flattens speech peaks/);
  assert.ok(limited.score < scored({ ...d3off, limiter_ceiling_dbfs: -1 }, hot) - 10, 'a -6 dBFS ceiling');
  // At the catalog's -1 dBFS over speech at the -23 LUFS target there is room: no penalty.
  assert.equal(
    scoreSnapshot(snap(3, { audio: { loudness_lufs: -23 } }), d3).components.find(
      (c) => c.name === 'limiter_headroom',
    )!.score,
    1,
  );
  // Blind SNR 50 dB, far above the station's minimum: 30 dB of suppression did nothing the noise needed.
  const clean = { snr_db: 50 };
  assert.ok(
    scored({ ...d3, noise_suppression_db: 30 }, clean) <
      scored({ ...d3, noise_suppression_db: 0 }, clean) - 5,
  );
  // With noise at the minimum the same suppression is what the line needs: no penalty.
  const noisy = { snr_db: 20 };
  assert.ok(
    Math.abs(
      scored({ ...d3, noise_suppression_db: 30 }, noisy) - scored({ ...d3, noise_suppression_db: 0 }, noisy),
    ) < 1e-9,
  );
});

test('settings guards: a compressor threshold near the speech level costs score, and the controller raises it', () => {
  // The AGC at -20.25 dBFS, the output 1.5 dB under it (the compressor's own cut): 2.25 dB of headroom
  // under the default -18 dBFS threshold (gen-5-1 station 3: PESQ -0.29 against the compressor off).
  const at = { ...d3, agc_target_dbfs: -20.25 };
  const audio = { loudness_lufs: -21.75, active_speech_level_dbov: -21.75 };
  const sc = scoreSnapshot(snap(3, { audio }), at);
  const guard = sc.components.find((c) => c.name === 'compressor_headroom')!;
  assert.ok(Math.abs(guard.value - 2.25) < 1e-9, guard.detail);
  assert.ok(guard.score < 0.5, guard.detail);
  assert.match(guard.detail, /compresses every syllable/);
  assert.ok(sc.score < scored({ ...at, compressor_ratio: 1 }, audio) - 5, 'ratio 1 compresses nothing');
  // An AGC out of gain (10 dB short of its target): the compressor meets the quiet output, not the target.
  const quiet = scoreSnapshot(snap(3, { audio: { loudness_lufs: -30, active_speech_level_dbov: -30 } }), at);
  assert.equal(quiet.components.find((c) => c.name === 'compressor_headroom')!.score, 1);
  const d = decide({ snapshot: snap(3, { audio }), current: at, state: null, now: 0 });
  const raise = d.proposals.find((p) => p.name === 'compressor_threshold_dbfs');
  assert.ok(raise, d.analysis);
  assert.equal(raise.new, -18 + parameterByName('compressor_threshold_dbfs')!.max_step);
});

test('settings guards: a jitter buffer short of the measured jitter on a lossy line costs score, not on a clean line', () => {
  const d2 = defaultsForStation(2);
  // 40 ms of jitter, 17% of packets lost (late discards included): 20 ms of buffer is half the jitter.
  const lossy = { packet_loss_ratio: 0.17, jitter_ms: 40 };
  const at = (jb: number, network: object) =>
    scoreSnapshot(snap(2, { network }), { ...d2, jitter_buffer_ms: jb });
  const guard = (jb: number, network: object) =>
    at(jb, network).components.find((c) => c.name === 'jitter_margin');
  assert.equal(guard(20, lossy)!.score, 0);
  assert.match(
    guard(20, lossy)!.detail,
    /0\.5x the 40\.0 ms jitter on a line losing 17\.0%: late packets are discarded/,
  );
  // The same measured metrics, so only the guard differs: 20 ms loses up to its weight, 60 ms (1.5x) nothing.
  assert.equal(guard(60, lossy)!.score, 1);
  assert.ok(
    at(20, lossy).score < at(60, lossy).score * 0.86,
    `${at(20, lossy).score} vs ${at(60, lossy).score}`,
  );
  assert.ok(guard(40, lossy)!.score > 0 && guard(40, lossy)!.score < 1, 'at 1x the jitter: partly');
  // A line losing under 1%: a small buffer costs nothing it can hear, the guard stays out.
  const clean = { packet_loss_ratio: 0.005, jitter_ms: 40 };
  assert.equal(guard(20, clean), undefined);
  assert.equal(at(20, clean).score, scoreSnapshot(snap(2, { network: clean })).score);
});

test('settings guards: the controller raises a limiter ceiling that flattens speech peaks, not past -1 dBFS', () => {
  const hot = snap(3, { audio: { loudness_lufs: -12 } });
  const ease = (ceiling: number) =>
    decide({ snapshot: hot, current: { ...d3, limiter_ceiling_dbfs: ceiling }, state: null, now: 0 });
  const d = ease(-6);
  const p = d.proposals.find((x) => x.name === 'limiter_ceiling_dbfs');
  assert.ok(p, d.analysis);
  assert.equal(p.new, -6 + parameterByName('limiter_ceiling_dbfs')!.max_step);
  assert.equal(
    ease(-1).proposals.find((x) => x.name === 'limiter_ceiling_dbfs' && x.new > -1),
    undefined,
  );
});

test('settings guards: the controller eases off a gate that closes on syllables', () => {
  const d = decide({
    snapshot: snap(3),
    current: { ...d3, noise_gate_threshold_dbfs: -30 },
    state: null,
    now: 0,
  });
  const p = d.proposals.find((x) => x.name === 'noise_gate_threshold_dbfs');
  assert.ok(p, d.analysis);
  assert.equal(p.new, -30 - parameterByName('noise_gate_threshold_dbfs')!.max_step);
});

test('settings guards: the gate is eased off from the level at its input, which the output does not show', () => {
  // The output on target (the AGC lifted a talker at -38 dBov): a gate at -58 sits 20 dB under him.
  const quiet = snap(3, { input_speech_level_dbov: -38 });
  const eased = decide({
    snapshot: quiet,
    current: { ...d3, noise_gate_threshold_dbfs: -58 },
    state: null,
    now: 0,
  });
  const p = eased.proposals.find((x) => x.name === 'noise_gate_threshold_dbfs');
  assert.ok(p && p.new < -58, eased.analysis);
  // Without the input's level the same snapshot reads 35 dB of margin and leaves the gate alone.
  const blind = decide({
    snapshot: snap(3),
    current: { ...d3, noise_gate_threshold_dbfs: -58 },
    state: null,
    now: 0,
  });
  assert.equal(
    blind.proposals.find((x) => x.name === 'noise_gate_threshold_dbfs'),
    undefined,
    blind.analysis,
  );
});

test('settings guards: input that arrives clipped costs score with the declipper off, and the controller switches it on for the next call', () => {
  const clipping = (ratio: number) => snap(3, { input_clipping_ratio: ratio });
  const score = (ratio: number, on: 0 | 1) => scoreSnapshot(clipping(ratio), { ...d3, declip_enabled: on });
  const component = (ratio: number, on: 0 | 1) =>
    score(ratio, on).components.find((c) => c.name === 'declip_need');
  assert.equal(component(0, 0), undefined, 'no clipping, no component');
  assert.equal(component(5e-5, 0)?.score, 1, 'a peak now and then is free');
  assert.ok(component(3e-3, 0)!.score < 0.3, 'every syllable flattened');
  assert.equal(component(3e-3, 1)?.score, 1, 'with the declipper on');
  assert.ok(score(3e-3, 0).score < score(3e-3, 1).score - 10);
  const d = decide({ snapshot: clipping(3e-3), current: { ...d3 }, state: null, now: 0 });
  const p = d.proposals.find((x) => x.name === 'declip_enabled');
  assert.ok(p, d.analysis);
  assert.equal(p.new, 1);
  assert.match(d.analysis, /arrive clipped/);
  // Already on (queued or running): nothing more to ask.
  const on = decide({ snapshot: clipping(3e-3), current: { ...d3, declip_enabled: 1 }, state: null, now: 0 });
  assert.equal(
    on.proposals.find((x) => x.name === 'declip_enabled'),
    undefined,
    on.analysis,
  );
});

test('settings guards: hum in the input costs score with the hum canceller off, and the hum rule switches it on', () => {
  // Eval seed 10 gen-10-3 station 11: a -71 dBFS 60 Hz hum under a -44.5 dBov talker read 0.2% of the
  // input's energy; the canceller off cost PESQ 4.55 -> 4.03 while the output's hum reading stayed 0.
  const hum = (ratio: number | null) => snap(3, { input_hum_ratio: ratio });
  const score = (ratio: number | null, on: 0 | 1) =>
    scoreSnapshot(hum(ratio), { ...d3, hum_canceller_enabled: on });
  const component = (ratio: number | null, on: 0 | 1) =>
    score(ratio, on).components.find((c) => c.name === 'hum_need');
  assert.equal(component(null, 0), undefined, 'the detector has not settled: nothing said');
  assert.equal(component(0, 0), undefined, 'no hum family, no component');
  assert.equal(component(5e-5, 0)?.score, 1, 'under the hum rule threshold it is free');
  assert.ok(component(2e-3, 0)!.score < 0.3, String(component(2e-3, 0)?.score));
  assert.match(component(2e-3, 0)!.detail, /0\.200% of the input's energy, the hum canceller is off/);
  assert.equal(component(2e-3, 1)?.score, 1, 'with the canceller on');
  assert.ok(score(2e-3, 0).score < score(2e-3, 1).score - 5);
  const d = decide({ snapshot: hum(2e-3), current: { ...d3 }, state: null, now: 0 });
  assert.equal(d.proposals.find((x) => x.name === 'hum_canceller_enabled')?.new, 1, d.analysis);
});

test('a cold move rides along with the hot ones and is queued when the step runs; the guard keeps scoring what runs in this call', () => {
  // Too loud and clipped: the level rule takes the input gain down (hot), the declipper comes on (cold).
  const first = snap(3, { input_clipping_ratio: 3e-3, audio: { loudness_lufs: -14 } });
  const d = decide({ snapshot: first, current: { ...d3 }, state: null, now: 0 });
  const names = d.proposals.map((x) => x.name);
  assert.ok(names.includes('declip_enabled') && names.length >= 2, d.analysis);
  const after = { ...d3, ...Object.fromEntries(d.proposals.map((x) => [x.name, x.new])) };
  const st = markApplied(d.state, 1);
  const next = decide({
    snapshot: snap(3, { input_clipping_ratio: 3e-3, version: 1, index: 1 }),
    current: after,
    state: st,
    now: 1000,
  });
  assert.equal(next.state.cold_queued['declip_enabled'], 1, next.analysis);
  assert.match(next.analysis, /declip_enabled 0->1: queued for the next call/);
  // This call still runs without it: the guard still counts, and no change is judged on its lift.
  assert.ok(next.score.components.find((c) => c.name === 'declip_need')!.score < 0.3);
  assert.doesNotMatch(next.analysis, /after [^.]*declip_enabled/);
});

test('learned region: a new call heads for its centre first, a full safe step on the furthest parameter', () => {
  const prior: LearnedRegion = {
    version: 3,
    params: { ...d3, input_gain_db: 14, agc_target_dbfs: -23 },
    radius: { input_gain_db: 1, agc_target_dbfs: 1 },
  };
  // A quiet line: the level rule would raise the gain too, but the learned region comes first.
  const quiet = snap(3, { audio: { loudness_lufs: -40, active_speech_level_dbov: -40 } });
  const d = decide({ snapshot: quiet, current: d3, state: null, now: 0, prior });
  const gain = d.proposals.find((x) => x.name === 'input_gain_db');
  assert.ok(gain, d.analysis);
  assert.equal(gain.new, parameterByName('input_gain_db')!.max_step);
  assert.match(gain.reason, /learned region \(v3\)/);
  // Already inside the region: nothing to head for, and without exploration nothing else to do.
  const inside = decide({ snapshot: quiet, current: prior.params, state: null, now: 0, prior });
  assert.equal(inside.proposals.filter((x) => x.reason.includes('learned region')).length, 0);
});

test('learned region: every hot parameter outside it takes its full safe step at once, each refused nothing by the safety layer', () => {
  // Four hot parameters two or more max steps from the centre: more than a rule step may move.
  const far = { input_gain_db: 14, noise_suppression_db: 24, highpass_cutoff_hz: 140, compressor_ratio: 4 };
  const prior: LearnedRegion = {
    version: 4,
    params: { ...d3, ...far },
    radius: { input_gain_db: 3, noise_suppression_db: 3, highpass_cutoff_hz: 20, compressor_ratio: 0.5 },
  };
  const quiet = snap(3, { audio: { loudness_lufs: -40, active_speech_level_dbov: -40 } });
  const d = decide({ snapshot: quiet, current: d3, state: null, now: 0, prior });
  const names = Object.keys(far) as (keyof typeof far)[];
  assert.ok(names.length > MAX_CHANGES_PER_STEP);
  assert.deepEqual(d.proposals.map((p) => p.name).sort(), [...names].sort(), d.analysis);
  for (const p of d.proposals) {
    const spec = parameterByName(p.name)!;
    // A full max step toward the centre, never more.
    assert.equal(p.new, d3[p.name]! + spec.max_step, p.name);
    assert.match(p.reason, /learned region \(v4\)/);
  }
  // The safety layer judges the whole set as it would any change: per parameter max step and bounds.
  const set = Object.fromEntries(d.proposals.map((p) => [p.name, p.new]));
  const scope = { level: 'call', tenant_id: 't', call_id: 'c' } as const;
  const rest = { ttlMs: 60_000, isRollback: false, lastChangeAt: null, now: 0 };
  const verdict = checkChange({ stationId: 3, scope, before: d3, set, ...rest });
  assert.ok(verdict.ok, verdict.ok ? '' : verdict.reasons.join('; '));
  // A step past max_step on one of them is still refused, whoever proposes it.
  const tooFar = {
    ...set,
    input_gain_db: d3['input_gain_db']! + 2 * parameterByName('input_gain_db')!.max_step,
  };
  const refused = checkChange({ stationId: 3, scope, before: d3, set: tooFar, ...rest });
  assert.equal(refused.ok, false);
  // Judged as one change: in effect on the next snapshot, it is the pending change of all four.
  const st = markApplied(d.state, 1);
  assert.deepEqual(st.pending?.changes.map((c) => c.name).sort(), [...names].sort());
  assert.equal(st.pending?.rule, 'prior');
});

test('learned region: a promoted proposal starts new calls one safe step toward the centre, a change an A/B experiment accepts', () => {
  const spec = (n: string) => parameterByName(n)!;
  const prior: LearnedRegion = {
    version: 5,
    // Far on the gain (three max steps up), near on the high-pass (under a max step), at the default elsewhere.
    params: {
      ...d3,
      input_gain_db: d3['input_gain_db']! + 3 * spec('input_gain_db').max_step,
      highpass_cutoff_hz: d3['highpass_cutoff_hz']! + spec('highpass_cutoff_hz').max_step / 2,
    },
    radius: { input_gain_db: 1, highpass_cutoff_hz: 5 },
  };
  const specs = parametersForStation(3);
  const start = regionStart(prior, specs, d3);
  assert.equal(start['input_gain_db'], d3['input_gain_db']! + spec('input_gain_db').max_step);
  assert.equal(start['highpass_cutoff_hz'], prior.params['highpass_cutoff_hz']);
  for (const s of specs) {
    if (s.name !== 'input_gain_db' && s.name !== 'highpass_cutoff_hz')
      assert.equal(start[s.name], d3[s.name], s.name);
  }
  // What an experiment's treatment must be (optimizer/ab/service.ts): a safe change at the tenant's scope.
  const set = Object.fromEntries(Object.entries(start).filter(([k, v]) => v !== d3[k]));
  const verdict = checkChange({
    stationId: 3,
    scope: { level: 'tenant', tenant_id: 't', call_id: null },
    before: d3,
    set,
    ttlMs: null,
    isRollback: false,
    lastChangeAt: null,
    now: 0,
  });
  assert.ok(verdict.ok, verdict.ok ? '' : verdict.reasons.join('; '));
  // From there the controller heads for the rest of the way, like any call outside the region.
  const quiet = snap(3, { audio: { loudness_lufs: -40, active_speech_level_dbov: -40 } });
  const d = decide({ snapshot: quiet, current: start, state: null, now: 0, prior });
  assert.equal(
    d.proposals.find((x) => x.name === 'input_gain_db')?.new,
    start['input_gain_db']! + spec('input_gain_db').max_step,
    d.analysis,
  );
});
