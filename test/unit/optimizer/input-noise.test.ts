// What the station's input holds (optimizer/core/inputNoise.ts): the reported score's input-noise factor,
// which the controller does not tune by; the margin read before a pause has likely fallen in; and the
// level rule's reading of an AGC still cutting its way down to its target (level.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation } from '../../../catalog/index.ts';
import { decide, scoreSnapshot, scoreValue } from '../../../optimizer/core/index.ts';
import { first, proposal, snap } from './snapshots.ts';

test("scorecard: the input's noise scales the reported station score, not the score the controller tunes by", () => {
  const params = defaultsForStation(3);
  // 35 dB from the speech's peaks to the floor: a quarter of the way up from 10 to 60, factor 1 - 0.8 x 0.5.
  const noisy = snap(3, { input_noise_margin_db: 35 });
  const station = scoreSnapshot(noisy, params);
  const chain = scoreSnapshot(noisy, params, { input: false });
  assert.ok(Math.abs(station.score - 0.6 * chain.score) < 1e-9, `${station.score} vs ${chain.score}`);
  const c = station.components.find((x) => x.name === 'input_noise')!;
  assert.equal(c.value, 35);
  assert.equal(c.score, 0.5);
  assert.match(c.detail, /scales the station score by 0\.60/);
  assert.equal(
    chain.components.find((x) => x.name === 'input_noise'),
    undefined,
  );
  // The fast path agrees to the last bit, with and without the factor.
  assert.equal(scoreValue(noisy, params), station.score);
  assert.equal(scoreValue(noisy, params, { input: false }), chain.score);
  // A clean input, or no reading (an older agent): the two scores are one.
  for (const m of [60, 95, null]) {
    const s = snap(3, { input_noise_margin_db: m });
    assert.equal(
      scoreSnapshot(s, params).score,
      scoreSnapshot(s, params, { input: false }).score,
      `margin ${m}`,
    );
  }
  // The controller judges by the chain's score: the factor never reaches a verdict.
  const d = first(3, { input_noise_margin_db: 35 });
  assert.equal(d.score.score, chain.score);
  assert.equal(
    d.score.components.find((x) => x.name === 'input_noise'),
    undefined,
  );
});

test("input noise: the score's factor leaves out a margin read in the call's first 3 s unless under 40 dB", () => {
  const factor = (o: Parameters<typeof snap>[1]) =>
    scoreSnapshot(snap(3, o)).components.find((x) => x.name === 'input_noise');
  // A clean talker who has not paused yet reads 43-58 dB: no factor from it.
  assert.equal(factor({ segment_ms: 1000, input_noise_margin_db: 45 }), undefined);
  assert.equal(factor({ segment_ms: 1000, input_noise_margin_db: 35 })?.value, 35);
  assert.equal(factor({ index: 2, segment_ms: 1000, input_noise_margin_db: 45 })?.value, 45);
  // The rules do not wait (babble reads the same, and RNNoise gains there): RNNoise is asked for at once.
  assert.equal(
    proposal(first(3, { segment_ms: 1000, input_noise_margin_db: 45 }), 'rnnoise_enabled')?.new,
    1,
  );
});

test('noise rule: a settled margin under 70 dB asks for RNNoise; before 3 s only under 50', () => {
  const asked = (o: Parameters<typeof snap>[1]) => proposal(first(3, o), 'rnnoise_enabled')?.new;
  // Weak babble (33-39 dB SNR) reads 56-66 dB: RNNoise gained 0.13-0.23 PESQ there (eval seeds 9, 10).
  assert.equal(asked({ index: 1, segment_ms: 3000, input_noise_margin_db: 64 }), 1);
  // In the call's first 3 s a clean talker who has not paused reads 45-58 dB: not yet.
  assert.equal(asked({ segment_ms: 1000, input_noise_margin_db: 55 }), undefined);
  // A clean input (80 dB or more once a pause has fallen) is left alone.
  assert.equal(asked({ index: 1, segment_ms: 3000, input_noise_margin_db: 82 }), undefined);
});

test('controller: a converged controller wakes for a switch the rules ask for later', () => {
  // Clean and on target: converged at once. Noise that starts later reads under 50 dB: RNNoise is asked for.
  const params = { ...defaultsForStation(3), noise_suppression_db: 6 }; // no excess for the guard
  const done = first(3, { input_noise_margin_db: 90 }, params);
  assert.equal(done.nextIteration.converged, true, done.analysis);
  const later = decide({
    snapshot: snap(3, { index: 1, input_noise_margin_db: 40 }),
    current: params,
    state: done.state,
    now: 3000,
  });
  assert.equal(proposal(later, 'rnnoise_enabled')?.new, 1, later.analysis);
  assert.match(later.analysis, /a switch the rules throw is asked for now: tuning again/);
  // A switch this call has judged already (taken back, its tabu run out) does not wake it again.
  const judged = decide({
    snapshot: snap(3, { index: 1, input_noise_margin_db: 40 }),
    current: params,
    state: { ...done.state, lessons: { rnnoise_enabled: { radius: 0.25, direction: 0, slope: 0 } } },
    now: 3000,
  });
  assert.deepEqual(judged.proposals, [], judged.analysis);
  assert.match(judged.analysis, /Converged/);
  // Nothing asked for: it holds.
  const still = decide({
    snapshot: snap(3, { index: 1, input_noise_margin_db: 90 }),
    current: params,
    state: done.state,
    now: 3000,
  });
  assert.deepEqual(still.proposals, []);
  assert.match(still.analysis, /Converged/);
});

test('level: an AGC still cutting its way down is judged where it is going, not cut by the input gain', () => {
  // Station 11 (AGC target -26 dBFS): a hot talker's first second, the AGC 8.4 dB over its target.
  const hot = { audio: { loudness_lufs: -18.7, active_speech_level_dbov: -17.6 } };
  // Its input at -12.6 dBov needs 13.4 dB of the AGC's 20 dB cut: at its target the level sits 4.1 LU
  // under the loudness target, so the target goes up, and the input gain stays.
  const d = first(11, { ...hot, input_speech_level_dbov: -12.6 });
  assert.equal(proposal(d, 'input_gain_db'), undefined, d.analysis);
  const t = proposal(d, 'agc_target_dbfs')!;
  assert.ok(t && t.new > t.old, d.analysis);
  assert.match(
    d.analysis,
    /needs 13\.4 dB of its 20 dB cut: it is still on its way down, and there the level sits 4\.1 LU below/,
  );
  // An input too hot for the AGC's cut (-2 dBov needs 24 dB), or no input reading: the input gain.
  for (const input of [-2, null]) {
    const out = first(11, { ...hot, input_speech_level_dbov: input });
    assert.ok((proposal(out, 'input_gain_db')?.new ?? 0) < 0, `${input}: ${out.analysis}`);
  }
  // Hum as loud as a fifth of the energy: the input's level reads the hum, so it is not trusted.
  const hummed = first(11, { audio: { ...hot.audio, hum_ratio: 0.2 }, input_speech_level_dbov: -12.6 });
  assert.doesNotMatch(hummed.analysis, /on its way/);
  // Under its target the AGC is given more max gain as before (headroom for the talker's quieter stretches).
  const rising = first(
    11,
    { audio: { loudness_lufs: -28, active_speech_level_dbov: -29 }, input_speech_level_dbov: -30 },
    { ...defaultsForStation(11), agc_target_dbfs: -23 },
  );
  assert.ok((proposal(rising, 'agc_max_gain_db')?.new ?? 0) > 20, rising.analysis);
});

test('settings guard: RNNoise over an input that settles clean costs score, and the controller switches it off', () => {
  const params = { ...defaultsForStation(3), noise_suppression_db: 6, rnnoise_enabled: 1 };
  const guard = (o: Parameters<typeof snap>[1], p: Record<string, number> = params) =>
    scoreSnapshot(snap(3, o), p).components.find((x) => x.name === 'rnnoise_need');
  // A clean talker's settled margin (84-86 dB on the generated profiles): most of the way to zero.
  const clean = guard({ input_noise_margin_db: 86 })!;
  assert.ok(clean.score < 0.5 && clean.score > 0, clean.detail);
  assert.match(
    clean.detail,
    /RNNoise is on over an input whose noise floor sits 86\.0 dB .*no noise to take out/,
  );
  assert.equal(guard({ input_noise_margin_db: 95 })!.score, 0);
  // Babble at 65 dB SNR reads 80: free. Off, early (not settled), or no reading: no guard at all.
  assert.equal(guard({ input_noise_margin_db: 80 })!.score, 1);
  assert.equal(guard({ input_noise_margin_db: 95 }, { ...params, rnnoise_enabled: 0 }), undefined);
  assert.equal(guard({ segment_ms: 1000, input_noise_margin_db: 45 }), undefined);
  assert.equal(guard({ input_noise_margin_db: null }), undefined);
  const on = scoreSnapshot(snap(3, { input_noise_margin_db: 95 }), params, { input: false }).score;
  const off = scoreSnapshot(
    snap(3, { input_noise_margin_db: 95 }),
    { ...params, rnnoise_enabled: 0 },
    { input: false },
  );
  assert.ok(Math.abs(on - 0.9 * off.score) < 1e-9, `${on} vs ${off.score}`);
  // Switched on in the first second (a clean talker reads 45 dB there), off once the margin has settled.
  assert.equal(
    proposal(first(3, { segment_ms: 1000, input_noise_margin_db: 45 }), 'rnnoise_enabled')?.new,
    1,
  );
  const d = first(3, { input_noise_margin_db: 86 }, params);
  assert.equal(proposal(d, 'rnnoise_enabled')?.new, 0, d.analysis);
  assert.match(d.analysis, /no noise to take out\. Changing rnnoise_enabled 1->0/);
});

test('scorecard: input that arrived clipped scales the reported station score, not the score the controller tunes by', () => {
  const params = { ...defaultsForStation(9), declip_enabled: 1 };
  // 5% of the input's samples on a clip level: half way to INPUT_CLIP_ZERO, factor 1 - 0.5 x 0.5.
  const clipped = snap(9, { input_clipping_ratio: 0.05 });
  const station = scoreSnapshot(clipped, params);
  const chain = scoreSnapshot(clipped, params, { input: false });
  assert.ok(Math.abs(station.score - 0.75 * chain.score) < 1e-9, `${station.score} vs ${chain.score}`);
  const c = station.components.find((x) => x.name === 'input_clipping')!;
  assert.equal(c.value, 0.05);
  assert.match(c.detail, /5\.000% of the input's samples arrive clipped.*scales the station score by 0\.75/);
  assert.equal(
    chain.components.find((x) => x.name === 'input_clipping'),
    undefined,
  );
  assert.equal(scoreValue(clipped, params), station.score);
  // Flattened past a tenth of the samples: the factor's floor; none clipped, or no reading: no factor.
  const worst = snap(9, { input_clipping_ratio: 0.4 });
  assert.ok(
    Math.abs(
      scoreSnapshot(worst, params).score - 0.5 * scoreSnapshot(worst, params, { input: false }).score,
    ) < 1e-9,
  );
  for (const r of [0, null]) {
    const s = snap(9, { input_clipping_ratio: r });
    assert.equal(scoreSnapshot(s, params).score, scoreSnapshot(s, params, { input: false }).score);
  }
});
