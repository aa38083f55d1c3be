// The switches the rules throw where the blocks act only on what they find (rules.ts switchesLeft): the
// hum canceller on hum, RNNoise on a noisy input; and the spectral suppressor's guard read from the
// input's noise margin (settings.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation } from '../../../catalog/index.ts';
import { scoreSnapshot } from '../../../optimizer/core/index.ts';
import { cancelling, first, proposal, snap } from './snapshots.ts';

test('controller: hum switches the hum canceller on first (from 1% of the energy), even with every component good', () => {
  const d = first(11, { audio: { hum_ratio: 0.15 } });
  const hc = proposal(d, 'hum_canceller_enabled')!;
  assert.ok(hc, d.analysis);
  assert.equal(hc.new, 1);
  assert.match(hc.reason, /switching the hum canceller on/);
  assert.equal(proposal(d, 'highpass_cutoff_hz'), undefined, 'the canceller before the high-pass');
  // 1.2%: no score component under 0.95, but the switch is left, so the controller is not done.
  const faint = first(3, { audio: { hum_ratio: 0.012 } });
  assert.ok(proposal(faint, 'hum_canceller_enabled'), faint.analysis);
  assert.equal(faint.nextIteration.converged, false);
  const none = first(3, { audio: { hum_ratio: 0.008 } });
  assert.equal(proposal(none, 'hum_canceller_enabled'), undefined);
  assert.equal(none.nextIteration.converged, true, none.analysis);
  // No canceller at the station (2, a gateway): nothing to switch.
  assert.equal(proposal(first(2, { audio: { hum_ratio: 0.15 } }), 'hum_canceller_enabled'), undefined);
  // The recognizer's input and the synthesizer's output have one since 2026-12-04.
  for (const st of [4, 9]) {
    const d4 = first(st, { audio: { hum_ratio: 0.15 } });
    assert.equal(proposal(d4, 'hum_canceller_enabled')?.new, 1, d4.analysis);
  }
});

test('controller: a hum family in the input switches the canceller on though the output reads under 1%', () => {
  // gen-10-3 station 11: a -71 dBFS 60 Hz hum under a -44.5 dBov talker read 0.05-0.26% at the output
  // (the default suppression takes it down), 0.2-0.7% at the input; the canceller gained PESQ 0.28.
  const d = first(11, { audio: { hum_ratio: 0.0008 }, input_hum_ratio: 0.003 });
  const hc = proposal(d, 'hum_canceller_enabled');
  assert.equal(hc?.new, 1, d.analysis);
  assert.match(hc!.reason, /the input holds a steady hum \(0\.30% of its energy; 0\.08% at the output\)/);
  assert.equal(d.nextIteration.converged, false);
  // Under -40 dB of the input's energy, or no family found, or an agent of before the field: no switch.
  for (const input_hum_ratio of [0.00005, 0, null]) {
    const none = first(11, { audio: { hum_ratio: 0.0008 }, input_hum_ratio });
    assert.equal(proposal(none, 'hum_canceller_enabled'), undefined, `${input_hum_ratio}: ${none.analysis}`);
  }
  // Already on: nothing to switch.
  const on = first(11, { audio: { hum_ratio: 0.0008 }, input_hum_ratio: 0.003 }, cancelling(11));
  assert.equal(proposal(on, 'hum_canceller_enabled'), undefined, on.analysis);
});

test('controller: 1-3% of "hum" at the output with no family in the input (a voice\'s harmonics) waits for the detector', () => {
  // Eval seed 9 station 9, a clean synthesized voice: 2.8% at the output, no hum in the profile.
  const voice = first(9, { audio: { hum_ratio: 0.028 }, input_hum_ratio: 0 });
  assert.equal(proposal(voice, 'hum_canceller_enabled'), undefined, voice.analysis);
  // Once the detector follows a family, or from 3% at the output, or before the detector has read 2.5 s
  // (null, as from an agent without the field): on.
  for (const [hum_ratio, input_hum_ratio] of [
    [0.028, 0.002],
    [0.031, 0],
    [0.012, null],
  ] as const) {
    const d = first(9, { audio: { hum_ratio }, input_hum_ratio });
    assert.equal(
      proposal(d, 'hum_canceller_enabled')?.new,
      1,
      `${hum_ratio}/${input_hum_ratio}: ${d.analysis}`,
    );
  }
});

test('controller: a noisy input switches RNNoise on though the output SNR meets the target; a clean one does not', () => {
  const noisy = first(3, { input_noise_margin_db: 40 });
  const rn = proposal(noisy, 'rnnoise_enabled')!;
  assert.ok(rn, noisy.analysis);
  assert.equal(rn.new, 1);
  assert.match(rn.reason, /noise floor sits 40\.0 dB under its speech peaks/);
  const clean = first(3, { input_noise_margin_db: 90 });
  assert.equal(proposal(clean, 'rnnoise_enabled'), undefined);
  // There the 12 dB of spectral suppression is all excess: the guard eases it instead.
  assert.ok(proposal(clean, 'noise_suppression_db'), clean.analysis);
  // Already on, or hum over the input (the hum rule's, and RNNoise over hum cost PESQ): not asked.
  const on = first(3, { input_noise_margin_db: 40 }, { ...defaultsForStation(3), rnnoise_enabled: 1 });
  assert.equal(proposal(on, 'rnnoise_enabled'), undefined);
  const hum = first(3, { input_noise_margin_db: 40, audio: { hum_ratio: 0.1 } });
  assert.equal(proposal(hum, 'rnnoise_enabled'), undefined);
  assert.ok(proposal(hum, 'hum_canceller_enabled'), hum.analysis);
});

test('scorecard: the suppression guard reads what the input noise can use, not the output SNR the suppression raised', () => {
  const need = (margin: number | null, ns: number) =>
    scoreSnapshot(snap(11, { input_noise_margin_db: margin, audio: { snr_db: 60 } }), {
      ...defaultsForStation(11),
      noise_suppression_db: ns,
    }).components.find((c) => c.name === 'suppression_need')!;
  // Noise 40 dB under the peaks: 40 dB of suppression is used, so even the most (30) is free.
  assert.equal(need(40, 12).score, 1);
  assert.equal(need(40, 30).value, 0);
  // Clean input: every dB of it is excess.
  assert.equal(need(100, 12).value, 12);
  assert.ok(need(100, 12).score < 1);
  // 75 dB: 5 dB used, 7 of 12 left over.
  assert.equal(need(75, 12).value, 7);
  // Without the metric (an older agent), the output SNR's headroom as before: 60 dB reads all 12 as excess.
  assert.equal(need(null, 12).value, 12);
});

test('controller: a low SNR over mains hum asks for the hum canceller before RNNoise or deeper suppression', () => {
  const d = first(3, { audio: { snr_db: 8, hum_ratio: 0.1 } });
  assert.ok(proposal(d, 'hum_canceller_enabled'), d.analysis);
  assert.equal(proposal(d, 'rnnoise_enabled'), undefined, d.analysis);
  assert.equal(proposal(d, 'noise_suppression_db'), undefined, d.analysis);
  // With the canceller on, the noise rule's own levers again.
  const on = first(3, { audio: { snr_db: 8, hum_ratio: 0.1 } }, cancelling(3));
  assert.ok(proposal(on, 'rnnoise_enabled'), on.analysis);
});

test('controller: the noise rule does not raise the suppression past what its guard lets through', () => {
  // The output's blind SNR is low, but the input reads clean: raising it would only be eased back.
  const clean = first(3, { audio: { snr_db: 8 }, input_noise_margin_db: 100 });
  const eased = proposal(clean, 'noise_suppression_db');
  assert.ok(eased === undefined || eased.new < eased.old, clean.analysis);
  const noisy = first(3, { audio: { snr_db: 8 }, input_noise_margin_db: 30 });
  const deeper = proposal(noisy, 'noise_suppression_db')!;
  assert.ok(deeper && deeper.new > deeper.old, noisy.analysis);
});

test('controller: a low output SNR over an input that reads clean (70 dB or more, settled) is the speech, not noise: no suppressor moves', () => {
  // gen-5-1 station 3: clean speech, a second without a pause read SNR 13.8 dB and RNNoise went on (PESQ -0.29).
  for (const margin of [70, 130]) {
    const clean = first(3, { audio: { snr_db: 9 }, input_noise_margin_db: margin });
    assert.equal(proposal(clean, 'rnnoise_enabled'), undefined, clean.analysis);
    assert.equal(proposal(clean, 'noise_gate_threshold_dbfs'), undefined, clean.analysis);
    // At 70 dB the default 12 dB of suppression is within what the noise can use (the guard is free),
    // so the station is done; at 130 the guard eases it off and the analysis says why the SNR is low.
    if (margin === 70) assert.match(clean.analysis, /nothing left worth changing/);
    else assert.match(clean.analysis, /the input holds no noise to suppress/);
  }
  // 60-70 dB settled is weak noise (babble at 33-39 dB SNR): RNNoise is asked for, nothing else.
  const weak = first(3, { audio: { snr_db: 9 }, input_noise_margin_db: 64 });
  assert.equal(proposal(weak, 'rnnoise_enabled')?.new, 1, weak.analysis);
  assert.equal(proposal(weak, 'noise_suppression_db'), undefined, weak.analysis);
  // Just under the line, or without the metric (an older agent): the noise rule as before.
  for (const margin of [59, null]) {
    const noisy = first(3, { audio: { snr_db: 9 }, input_noise_margin_db: margin });
    assert.equal(proposal(noisy, 'rnnoise_enabled')?.new, 1, noisy.analysis);
  }
});

test('scorecard: noise and noise floor take no loss where the input reads clean; elsewhere the blind SNR as before', () => {
  const comps = (margin: number | null) =>
    scoreSnapshot(
      snap(3, {
        input_noise_margin_db: margin,
        audio: { snr_db: 9, noise_floor_dbfs: -35, speech_activity: 0.6 },
      }),
      defaultsForStation(3),
    ).components;
  const get = (margin: number | null, name: string) => comps(margin).find((c) => c.name === name)!;
  assert.equal(get(90, 'noise').score, 1);
  assert.match(get(90, 'noise').detail, /input holds no noise/);
  assert.equal(get(90, 'noise_floor').score, 1);
  for (const m of [55, null]) {
    assert.ok(get(m, 'noise').score < 0.5, `margin ${m}: ${get(m, 'noise').score}`);
    assert.ok(get(m, 'noise_floor').score < 1, `margin ${m}`);
  }
});
