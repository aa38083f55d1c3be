import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation, parameterByName } from '../../../catalog/index.ts';
import {
  type ControllerState,
  decide,
  EXPLORE_STEP_SHARE,
  markApplied,
  markRejected,
  PENDING_TIMEOUT_MS,
} from '../../../optimizer/core/index.ts';
import { cancelling, first, maxStep, proposal, type SnapOverrides, snap } from './snapshots.ts';

test('controller: a too-quiet non-AGC station raises the input gain by at most max_step', () => {
  const d = first(4, { audio: { loudness_lufs: -35, active_speech_level_dbov: -38 } });
  const p = proposal(d, 'input_gain_db')!;
  assert.ok(p, d.analysis);
  assert.equal(p.old, 0);
  assert.ok(p.new > 0 && p.new <= maxStep('input_gain_db'), `gain ${p.old} -> ${p.new}`);
  assert.equal(p.unit, 'dB');
  assert.equal(p.station_id, 4);
  assert.match(p.reason, /12\.0 LU below the -23 target/);
  assert.match(d.analysis, new RegExp(`Changing input_gain_db 0->${maxStep('input_gain_db')};`));
  assert.ok(d.nextIteration.watch_metrics.includes('audio.loudness_lufs'));
  assert.equal(d.nextIteration.converged, false);
  assert.equal(d.nextIteration.evaluate_after_snapshots, 1);
});

test('controller: at an AGC station the level lever is the AGC target, or its max gain when it is out of gain', () => {
  // The AGC reaches its -26 target (ASL -26) but that reads 5 LU under the loudness target.
  const onTarget = first(3, { audio: { loudness_lufs: -28, active_speech_level_dbov: -26 } });
  const t = proposal(onTarget, 'agc_target_dbfs')!;
  assert.ok(t, onTarget.analysis);
  assert.ok(t.new > t.old && t.new - t.old <= maxStep('agc_target_dbfs'));
  assert.equal(proposal(onTarget, 'input_gain_db'), undefined, 'the AGC would undo an input gain change');
  // The AGC sits 10 dB under its target: it has run out of gain.
  const starved = first(1, { audio: { loudness_lufs: -33, active_speech_level_dbov: -36 } });
  const g = proposal(starved, 'agc_max_gain_db')!;
  assert.ok(g, starved.analysis);
  assert.equal(g.new - g.old, maxStep('agc_max_gain_db'));
  assert.match(g.reason, /out of gain/);
  // Too loud: the target comes down.
  const loud = first(11, { audio: { loudness_lufs: -17, active_speech_level_dbov: -26 } });
  const l = proposal(loud, 'agc_target_dbfs')!;
  assert.ok(l && l.new < l.old && l.old - l.new <= maxStep('agc_target_dbfs'));
});

test('controller: where the AGC cannot see the speech (low SNR, a DC offset, hum), the input gain moves the level, the AGC target with it', () => {
  // The AGC adapts only on frames 10 dB over its floor: its target and max gain alone would move nothing.
  const cases = [
    { audio: { loudness_lufs: -34, active_speech_level_dbov: -31, snr_db: 6 }, why: /at 6\.0 dB SNR/ },
    {
      audio: { loudness_lufs: -34, active_speech_level_dbov: -18, dc_offset: -0.13 },
      why: /-17\.7 dBFS DC offset/,
    },
    { audio: { loudness_lufs: -34, active_speech_level_dbov: -31, hum_ratio: 0.3 }, why: /mains hum \(30/ },
  ];
  for (const station of [3, 9]) {
    for (const c of cases) {
      const d = first(station, { audio: c.audio });
      const p = proposal(d, 'input_gain_db')!;
      assert.ok(p, `station ${station}: ${d.analysis}`);
      assert.ok(p.new > p.old && p.new - p.old <= maxStep('input_gain_db'));
      assert.match(p.reason, c.why);
      assert.match(p.reason, /raising the input gain/);
      // The target goes up with it: a blind AGC may catch a loud syllable and then take the gain back.
      const t = proposal(d, 'agc_target_dbfs');
      assert.ok(t && t.new > t.old && t.new - t.old <= maxStep('agc_target_dbfs'), d.analysis);
      assert.match(t.reason, /raising the AGC target with the input gain/);
      assert.equal(proposal(d, 'agc_max_gain_db'), undefined, d.analysis);
    }
  }
  // The same shortfall with the AGC able to see the speech still goes to the AGC (test above), and a
  // blind AGC with too loud a level is not a reason to touch the input gain.
  const sees = first(9, { audio: { loudness_lufs: -34, active_speech_level_dbov: -31, snr_db: 25 } });
  assert.equal(proposal(sees, 'input_gain_db'), undefined, sees.analysis);
  const loud = first(9, { audio: { loudness_lufs: -15, active_speech_level_dbov: -26, snr_db: 6 } });
  assert.equal(proposal(loud, 'input_gain_db'), undefined, loud.analysis);
});

test('controller: clipping takes gain off, and a quiet-but-clipping signal is not boosted', () => {
  for (const station of [1, 2, 4, 10]) {
    const d = first(station, { audio: { clipping_ratio: 0.004, peak_dbfs: 0 } });
    const p = proposal(d, 'input_gain_db')!;
    assert.ok(p, `station ${station}: ${d.analysis}`);
    assert.ok(p.new < p.old && p.old - p.new <= maxStep('input_gain_db'));
    assert.match(p.reason, /0\.400% of samples clip/);
  }
  const d = first(4, { audio: { clipping_ratio: 0.002, loudness_lufs: -33 } });
  assert.ok(proposal(d, 'input_gain_db')!.new < 0);
  assert.match(d.analysis, /but it clips: not raising the level/);
  // A limiter ceiling raised to -0.1 dBFS with peaks on it comes back down too.
  const cur = { ...defaultsForStation(1), limiter_ceiling_dbfs: -0.1 };
  const lim = first(1, { audio: { clipping_ratio: 0.002, peak_dbfs: -0.1 } }, cur);
  const lp = proposal(lim, 'limiter_ceiling_dbfs')!;
  assert.ok(lp && lp.new < -0.1 && lp.new >= -1.1, lim.analysis);
});

test('controller: hum the canceller leaves raises the high-pass, only up to the voice limit', () => {
  const d = first(11, { audio: { hum_ratio: 0.15 } }, cancelling(11));
  const p = proposal(d, 'highpass_cutoff_hz')!;
  assert.ok(p, d.analysis);
  assert.ok(p.new > p.old && p.new - p.old <= maxStep('highpass_cutoff_hz'));
  assert.equal(p.unit, 'Hz');
  assert.match(p.reason, /raising the cutoff/);
  assert.doesNotMatch(p.reason, /cold/, 'the high-pass is hot: it acts within the call');
  assert.ok(d.nextIteration.watch_metrics.includes('audio.spectral_centroid_hz'));
  // Mild hum: a half step. At 200 Hz: no more.
  const mild = proposal(first(1, { audio: { hum_ratio: 0.05 } }, cancelling(1)), 'highpass_cutoff_hz')!;
  assert.equal(mild.new - mild.old, maxStep('highpass_cutoff_hz') / 2);
  const capped = first(3, { audio: { hum_ratio: 0.2 } }, { ...cancelling(3), highpass_cutoff_hz: 200 });
  assert.equal(proposal(capped, 'highpass_cutoff_hz'), undefined);
  assert.match(capped.analysis, /higher would thin the voice/);
});

test('controller: late loss grows the jitter buffer; latency over budget with little loss shrinks it', () => {
  const late = first(2, {
    network: { packet_loss_ratio: 0.04, jitter_ms: 35, latency_ms: 180, mos: 3.4, r_factor: 68 },
  });
  const up = proposal(late, 'jitter_buffer_ms')!;
  assert.ok(up, late.analysis);
  assert.ok(up.new > up.old && up.new - up.old <= maxStep('jitter_buffer_ms'));
  assert.match(up.reason, /late loss/);
  assert.ok(late.nextIteration.watch_metrics.includes('network.latency_ms'));
  const slow = first(
    10,
    { network: { packet_loss_ratio: 0.001, jitter_ms: 5, latency_ms: 380 } },
    { ...defaultsForStation(10), jitter_buffer_ms: 160 },
  );
  const down = proposal(slow, 'jitter_buffer_ms')!;
  assert.ok(down && down.new < down.old && down.old - down.new <= maxStep('jitter_buffer_ms'), slow.analysis);
  // Loss with a buffer that already covers the jitter is network loss: no buffer change.
  const lossy = first(2, { network: { packet_loss_ratio: 0.05, jitter_ms: 4, mos: 3.2 } });
  assert.equal(proposal(lossy, 'jitter_buffer_ms'), undefined);
  assert.match(lossy.analysis, /loss is in the network/);
});

test('controller: low SNR strengthens suppression; collapsing speech activity backs it off', () => {
  const noisy = first(3, { audio: { snr_db: 12, noise_floor_dbfs: -45 } });
  const ns = proposal(noisy, 'noise_suppression_db')!;
  assert.ok(ns && ns.new === ns.old + maxStep('noise_suppression_db'), noisy.analysis);
  assert.match(ns.reason, /SNR 12\.0 dB is 8\.0 dB under the 20 dB minimum/);
  const eaten = first(
    1,
    { audio: { snr_db: 12, speech_activity: 0.02 } },
    { ...defaultsForStation(1), noise_suppression_db: 24, noise_gate_threshold_dbfs: -50 },
  );
  const back = proposal(eaten, 'noise_suppression_db')!;
  assert.ok(back && back.new < back.old, eaten.analysis);
  assert.ok(proposal(eaten, 'noise_gate_threshold_dbfs')!.new < -50);
  assert.match(eaten.analysis, /not suppressing harder/);
});

test('controller: a frozen or narrowed parameter is respected', () => {
  const frozen = first(4, {
    audio: { clipping_ratio: 0.01 },
    constraints: [{ parameter: 'input_gain_db', min: null, max: null, frozen: true }],
  });
  assert.equal(proposal(frozen, 'input_gain_db'), undefined, frozen.analysis);
  for (const p of frozen.proposals) assert.notEqual(p.name, 'input_gain_db');
  const narrow = first(4, {
    audio: { loudness_lufs: -35 },
    constraints: [{ parameter: 'input_gain_db', min: -2, max: 1.5, frozen: false }],
  });
  assert.equal(proposal(narrow, 'input_gain_db')!.new, 1.5);
  const agcFrozen = first(3, {
    audio: { loudness_lufs: -30, active_speech_level_dbov: -26 },
    constraints: [{ parameter: 'agc_target_dbfs', min: null, max: null, frozen: true }],
  });
  assert.equal(proposal(agcFrozen, 'agc_target_dbfs'), undefined);
});

/** Propose on `first`, publish as version 1, then decide on `then` running version 1. */
function proposeThenJudge(station: number, firstO: SnapOverrides, thenO: SnapOverrides) {
  const current = defaultsForStation(station);
  const d1 = decide({ snapshot: snap(station, firstO), current, state: null, now: 0 });
  assert.ok(d1.proposals.length > 0, d1.analysis);
  const applied = { ...current };
  for (const p of d1.proposals) applied[p.name] = p.new;
  const st = markApplied(d1.state, 1);
  const d2 = decide({
    snapshot: snap(station, { ...thenO, version: 1, index: 1 }),
    current: applied,
    state: st,
    now: 3000,
  });
  return { current, applied, d1, d2 };
}

test('controller: a change that regresses is rolled back to the known-good set, with the numbers', () => {
  const noisy = { snr_db: 12, noise_floor_dbfs: -45, speech_activity: 0.62 };
  const { current, applied, d1, d2 } = proposeThenJudge(
    3,
    { audio: noisy },
    { audio: { ...noisy, snr_db: 16, speech_activity: 0.03 } },
  );
  assert.ok(proposal(d1, 'noise_suppression_db'));
  assert.equal(d2.verdict?.kind, 'regressed');
  assert.ok(d2.rollback, d2.analysis);
  assert.deepEqual(d2.rollback.to, current);
  assert.match(
    d2.rollback.reason,
    new RegExp(
      `^score fell from \\d+\\.\\d to \\d+\\.\\d after (rnnoise_enabled 0->1, )?noise_suppression_db 12->${12 + maxStep('noise_suppression_db')}`,
    ),
  );
  assert.match(d2.rollback.reason, /speech_activity dropped 0\.62->0\.030/);
  assert.ok(d2.verdict.before - d2.verdict.after > 3);
  assert.equal(d2.proposals.length, 0);
  assert.equal(d2.state.pending?.kind, 'rollback');
  // Once the rollback runs, the same move is not proposed again straight away.
  const st = markApplied(d2.state, 2);
  const d3 = decide({
    snapshot: snap(3, { audio: noisy, version: 2, index: 2 }),
    current,
    state: st,
    now: 6000,
  });
  assert.equal(d3.rollback, null);
  assert.ok(
    !d3.proposals.some(
      (p) => p.name === 'noise_suppression_db' && p.new > (p.old ?? Number.POSITIVE_INFINITY),
    ),
    d3.analysis,
  );
  assert.match(d3.analysis, /rollback to the known-good set is in effect/);
  assert.match(d3.analysis, /Not repeating noise_suppression_db up/);
  assert.notDeepEqual(applied, current);
});

test('controller: an improvement is kept as the new known-good set', () => {
  const { applied, d2 } = proposeThenJudge(
    4,
    { audio: { loudness_lufs: -35 } },
    { audio: { loudness_lufs: -32 } },
  );
  assert.equal(d2.verdict?.kind, 'improved');
  assert.equal(d2.rollback, null);
  assert.deepEqual(d2.state.known_good?.params, applied);
  assert.match(d2.verdict.detail, /improved; kept as the new known-good set/);
  // Still short of the target: the next step follows at once, one max step further.
  const step = maxStep('input_gain_db');
  const p = proposal(d2, 'input_gain_db')!;
  assert.equal(p.old, step);
  assert.equal(p.new, 2 * step);
});

test('controller: nothing is judged or proposed until the change is in effect; rejection and timeout forget it', () => {
  const d1 = first(4, { audio: { loudness_lufs: -35 } });
  const still = decide({
    snapshot: snap(4, { audio: { loudness_lufs: -35 }, index: 1 }),
    current: defaultsForStation(4),
    state: d1.state,
    now: 3000,
  });
  assert.equal(still.proposals.length, 0);
  assert.equal(still.verdict, null);
  assert.match(
    still.analysis,
    new RegExp(
      `Waiting for the change \\(input_gain_db 0->${maxStep('input_gain_db')}\\) to take effect \\(not yet published\\)`,
    ),
  );
  const published = markApplied(still.state, 7);
  const old = decide({
    snapshot: snap(4, { audio: { loudness_lufs: -35 }, version: 6, index: 2 }),
    current: defaultsForStation(4),
    state: published,
    now: 6000,
  });
  assert.match(old.analysis, /version 7, snapshot runs 6/);
  assert.equal(markRejected(published).pending, null);
  const late = decide({
    snapshot: snap(4, { audio: { loudness_lufs: -35 }, index: 3 }),
    current: defaultsForStation(4),
    state: published,
    now: PENDING_TIMEOUT_MS + 1,
  });
  assert.match(late.analysis, /not in effect after 30 s/);
  assert.ok(proposal(late, 'input_gain_db'), 'decides afresh after forgetting the change');
});

test('controller: converges when every component is good, stops proposing, and wakes up when things change', () => {
  const d1 = first(1);
  assert.equal(d1.proposals.length, 0);
  assert.equal(d1.nextIteration.converged, true);
  assert.match(d1.nextIteration.stop_condition, /every component scores at least 0\.95/);
  const d2 = decide({
    snapshot: snap(1, { index: 1 }),
    current: defaultsForStation(1),
    state: d1.state,
    now: 3000,
    explore: true,
  });
  assert.equal(d2.proposals.length, 0);
  assert.match(d2.analysis, /Converged/);
  // Hum appears: the score drops beyond the reopen threshold and the controller acts again.
  const d3 = decide({
    snapshot: snap(1, { audio: { hum_ratio: 0.2 }, index: 2 }),
    current: defaultsForStation(1),
    state: d2.state,
    now: 6000,
  });
  assert.match(d3.analysis, /conditions changed, tuning again/);
  assert.ok(proposal(d3, 'hum_canceller_enabled'));
  assert.equal(d3.nextIteration.converged, false);
});

test('controller: exploration is one half-step on one hot parameter and converges when nothing helps', () => {
  // Slightly off but inside every rule's dead band; the score does not react to any parameter.
  const o: SnapOverrides = { audio: { loudness_lufs: -24.2, snr_db: 27, crest_factor_db: 11 } };
  let state: ControllerState | null = null;
  let current = defaultsForStation(3);
  let version = 0;
  let explored = 0;
  let reverted = 0;
  let converged = false;
  for (let i = 0; i < 16 && !converged; i++) {
    const d = decide({
      snapshot: snap(3, { ...o, version, index: i }),
      current,
      state,
      now: i * 3000,
      explore: true,
      seed: 42,
    });
    for (const p of d.proposals) {
      const spec = parameterByName(p.name)!;
      assert.ok(spec.hot, `explored cold ${p.name}`);
      assert.ok(Math.abs(p.new - (p.old ?? 0)) <= spec.max_step * EXPLORE_STEP_SHARE + 1e-9);
      current = { ...current, [p.name]: p.new };
      explored++;
    }
    assert.ok(d.proposals.length <= 1);
    state = d.state;
    // A step that gains nothing is not kept: the controller goes back to the known-good set.
    if (d.rollback) {
      assert.match(d.rollback.reason, /gained nothing/);
      current = { ...current, ...d.rollback.to };
      reverted++;
    }
    if (d.proposals.length > 0 || d.rollback) state = markApplied(state, ++version);
    converged = d.nextIteration.converged;
    if (converged) assert.match(d.nextIteration.stop_condition, /within 1 point of its best/);
  }
  assert.ok(explored >= 2, `explored ${explored} times`);
  assert.equal(reverted, explored, 'every fruitless exploration step was undone');
  assert.deepEqual(current, defaultsForStation(3));
  assert.ok(converged, 'never converged on a flat score');
});

test('controller: deterministic for a seed, and the state survives a JSON round trip', () => {
  const o: SnapOverrides = { audio: { loudness_lufs: -24.2, snr_db: 27, crest_factor_db: 11 } };
  const run = (seed: number) =>
    decide({
      snapshot: snap(3, o),
      current: defaultsForStation(3),
      state: null,
      now: 0,
      explore: true,
      seed,
    });
  assert.deepEqual(run(5), run(5));
  const a = run(5);
  const roundTrip = JSON.parse(JSON.stringify(a.state)) as ControllerState;
  assert.deepEqual(roundTrip, a.state);
  const next = (st: ControllerState) =>
    decide({
      snapshot: snap(3, { ...o, version: 1, index: 1 }),
      current: defaultsForStation(3),
      state: markApplied(st, 1),
      now: 3000,
      explore: true,
    });
  assert.deepEqual(next(roundTrip), next(a.state));
});

test('controller: a segment without speech is neither judged nor acted on', () => {
  const d1 = first(4, { audio: { loudness_lufs: -35 } });
  const st = markApplied(d1.state, 1);
  const silent = { loudness_lufs: -120, active_speech_level_dbov: -120, speech_activity: 0 };
  const d2 = decide({
    snapshot: snap(4, { audio: silent, version: 1, index: 1 }),
    current: defaultsForStation(4),
    state: st,
    now: 3000,
  });
  assert.equal(d2.verdict, null);
  assert.equal(d2.proposals.length, 0);
  assert.match(d2.analysis, /no measurable speech/);
  assert.ok(d2.state.pending, 'the change is judged on the next segment with speech');
  const d0 = first(1, { audio: silent });
  assert.equal(d0.proposals.length, 0);
});

test('controller: the hot high-pass is changed and judged within the call, beside a level fix', () => {
  // Hum and a level problem together: both hot levers move in one step.
  const both = first(
    1,
    { audio: { hum_ratio: 0.15, loudness_lufs: -30, active_speech_level_dbov: -26 } },
    cancelling(1),
  );
  assert.ok(proposal(both, 'agc_target_dbfs'), both.analysis);
  assert.ok(proposal(both, 'highpass_cutoff_hz'), both.analysis);
  // Hum alone: the high-pass goes up now and the next snapshot that runs it judges it.
  const d1 = first(1, { audio: { hum_ratio: 0.15 } }, cancelling(1));
  const hp = proposal(d1, 'highpass_cutoff_hz')!;
  assert.match(d1.analysis, new RegExp(`Changing highpass_cutoff_hz 60->${hp.new};`));
  const st = markApplied(d1.state, 1);
  const d2 = decide({
    snapshot: snap(1, { audio: { hum_ratio: 0.005 }, version: 1, index: 1 }),
    current: { ...cancelling(1), highpass_cutoff_hz: hp.new },
    state: st,
    now: 3000,
  });
  assert.equal(d2.verdict?.kind, 'improved', d2.analysis);
  assert.deepEqual(d2.state.cold_queued, {});
  assert.equal(d2.state.known_good?.params.highpass_cutoff_hz, hp.new);
});
