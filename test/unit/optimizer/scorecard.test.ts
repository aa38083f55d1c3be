import assert from 'node:assert/strict';
import { test } from 'node:test';
import { networkMetrics } from '../../../audio/metrics/network.ts';
import { defaultsForStation } from '../../../catalog/index.ts';
import type { NetworkMetrics, StationSnapshot } from '../../../contracts/generated.ts';
import {
  buildScorecard,
  decide,
  GUARD_FLOOR,
  scoreSnapshot,
  WEIGHTS,
} from '../../../optimizer/core/index.ts';
import { listeningMos } from '../../../optimizer/core/line.ts';
import { type SnapOverrides, snap } from './snapshots.ts';

const STATIONS = [1, 2, 3, 4, 9, 10, 11];

function score(station: number, o: SnapOverrides): number {
  return scoreSnapshot(snap(station, o)).score;
}

/** A line's metrics as an agent reports them: R and MOS from its loss and one-way delay. */
function line(lossRatio: number, latencyMs: number): NetworkMetrics {
  return networkMetrics({
    loss: { lossRatio, burstRatio: 1 },
    jitterMs: 5,
    networkDelayMs: latencyMs,
    jitterBufferDelayMs: 0,
    jitterBufferFill: 0.5,
  });
}

function component(s: StationSnapshot, name: string) {
  return scoreSnapshot(s).components.find((c) => c.name === name);
}

/** Scores for a sweep of one input: asserts they never rise and that the ends differ. */
function assertFalling(label: string, values: readonly number[], at: (v: number) => number): void {
  const scores = values.map(at);
  for (let i = 1; i < scores.length; i++) {
    assert.ok(
      scores[i]! <= scores[i - 1]! + 1e-9,
      `${label}: score rose from ${scores[i - 1]} to ${scores[i]} at ${values[i]}`,
    );
  }
  assert.ok(
    scores[scores.length - 1]! < scores[0]! - 1,
    `${label}: the sweep ${values.join(',')} barely moved the score (${scores.join(',')})`,
  );
}

test('scorecard: a clean on-target snapshot scores high at every station, with every component explained', () => {
  for (const id of STATIONS) {
    const s = scoreSnapshot(snap(id));
    assert.equal(s.station_id, id);
    assert.ok(s.score >= 95 && s.score <= 100, `station ${id} scored ${s.score}`);
    for (const c of s.components) {
      assert.ok(c.score >= 0 && c.score <= 1, `${c.name} score ${c.score}`);
      assert.equal(c.weight, WEIGHTS[c.name as keyof typeof WEIGHTS]);
      assert.ok(Number.isFinite(c.value));
      assert.ok(c.detail.length > 10 && /[a-z]/.test(c.detail), `${c.name} detail "${c.detail}"`);
    }
  }
});

test('scorecard: components that do not apply are omitted, not counted as perfect', () => {
  const names = (id: number) => scoreSnapshot(snap(id)).components.map((c) => c.name);
  assert.ok(!names(1).includes('network') && !names(1).includes('latency'));
  assert.ok(names(2).includes('network') && names(10).includes('latency'));
  assert.ok(names(4).includes('stt_confidence') && !names(3).includes('stt_confidence'));
  assert.ok(names(11).includes('emotion_confidence') && names(9).includes('tts_latency'));
  // A very talkative segment has no pauses, so its 10th-percentile "floor" is speech: omitted.
  assert.ok(
    !scoreSnapshot(snap(1, { audio: { speech_activity: 0.95 } })).components.some(
      (c) => c.name === 'noise_floor',
    ),
  );
});

test('scorecard: level falls off both sides of the target, ~0 at 12 LU, with the distance in words', () => {
  const quiet = [0, 1, 2, 4, 6, 9, 12, 15];
  assertFalling('quieter', quiet, (d) => score(3, { audio: { loudness_lufs: -23 - d } }));
  assertFalling('louder', quiet, (d) => score(3, { audio: { loudness_lufs: -23 + d } }));
  const c = component(snap(3, { audio: { loudness_lufs: -34.1 } }), 'level')!;
  assert.equal(c.value, -34.1);
  assert.equal(c.detail, 'loudness -34.1 LUFS is 11.1 LU below the -23 target');
  assert.ok(c.score < 0.05);
  assert.ok(component(snap(3, { audio: { loudness_lufs: -11 } }), 'level')!.score < 1e-9);
  assert.match(
    component(snap(3, { audio: { loudness_lufs: -20 } }), 'level')!.detail,
    /3\.0 LU above the -23 target/,
  );
});

test('scorecard: the P.56 active speech level stands in when BS.1770 gated everything out', () => {
  const c = component(snap(1, { audio: { loudness_lufs: -120, active_speech_level_dbov: -30 } }), 'level')!;
  assert.equal(c.value, -30);
  assert.match(c.detail, /active speech level/);
  assert.ok(c.score > 0 && c.score < 1);
});

test('scorecard: on a second that is partly pause the level is the speech, not the pauses', () => {
  // Eval seed 9 gen-9-9 station 9 at its defaults: 48% speech read -28.9 LUFS at -27.9 dBov.
  const paused = { loudness_lufs: -28.9, active_speech_level_dbov: -27.9, speech_activity: 0.48 };
  const c = component(snap(3, { audio: paused }), 'level')!;
  assert.equal(c.value, -27.9);
  assert.match(
    c.detail,
    /speech level over 48\.0% speech \(the one-second loudness -28\.9 reads its pauses\) -27\.9 dBov is 4\.9 LU below/,
  );
  assert.ok(c.score > component(snap(3, { audio: { ...paused, speech_activity: 0.9 } }), 'level')!.score);
  // No higher than the loudness with the pauses taken out (-10·log10 0.48 = 3.2 dB): gen-9-15 station 3's
  // -29.3 LUFS at -23.2 dBov over 48% speech reads -26.1; the first second of gen-10-10 station 4, whose
  // 0.112 DC offset P.56 counts as speech until the DC blocker engages (-26.3 dBov over -44.3 LUFS, 59%
  // speech), reads -42.0, not on target.
  const far = component(
    snap(3, {
      audio: { ...paused, loudness_lufs: -29.3, active_speech_level_dbov: -23.2, speech_activity: 0.48 },
    }),
    'level',
  )!;
  assert.ok(Math.abs(far.value - (-29.3 - 10 * Math.log10(0.48))) < 1e-9, String(far.value));
  assert.match(far.detail, /-26\.1 LUFS is 3\.1 LU below/);
  const dc = component(
    snap(4, { audio: { loudness_lufs: -44.3, active_speech_level_dbov: -26.3, speech_activity: 0.59 } }),
    'level',
  )!;
  assert.ok(Math.abs(dc.value + 42.0) < 0.05 && dc.score < 0.01, String(dc.value));
  // Continuous speech keeps its loudness, however high its active level reads.
  const busy = component(snap(3, { audio: { ...paused, speech_activity: 0.9 } }), 'level')!;
  assert.equal(busy.value, -28.9);
  // A second with a few syllables keeps its loudness: its active level moves with any block.
  assert.equal(component(snap(3, { audio: { ...paused, speech_activity: 0.27 } }), 'level')!.value, -28.9);
  // An active level under the loudness (a pause cannot make the loudness read high) changes nothing.
  const under = { ...paused, loudness_lufs: -20, active_speech_level_dbov: -24 };
  assert.equal(component(snap(3, { audio: under }), 'level')!.value, -20);
  // A second BS.1770 gated out altogether reads its active level as before.
  const gone = { ...paused, loudness_lufs: -120, active_speech_level_dbov: -30 };
  assert.match(component(snap(3, { audio: gone }), 'level')!.detail, /loudness gated out/);
});

test('scorecard: more noise, clipping, hum, DC, loss or latency never scores better', () => {
  assertFalling('snr', [45, 30, 25, 20, 15, 10, 0], (v) => score(3, { audio: { snr_db: v } }));
  assertFalling('noise floor', [-80, -60, -50, -45, -40, -35], (v) =>
    score(3, { audio: { noise_floor_dbfs: v } }),
  );
  assertFalling('clipping', [0, 1e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.02], (v) =>
    score(1, { audio: { clipping_ratio: v } }),
  );
  assertFalling('hum', [0, 0.02, 0.04, 0.08, 0.15, 0.3, 0.6], (v) => score(11, { audio: { hum_ratio: v } }));
  assertFalling('dc', [0, 0.002, 0.01, 0.03, 0.1], (v) => score(2, { audio: { dc_offset: -v } }));
  assertFalling('mos (loss)', [4.4, 4.0, 3.6, 3.0, 2.0, 1.0], (v) => score(2, { network: { mos: v } }));
  // A line as an agent reports it (R and MOS from the same loss and delay, audio/metrics/network.ts).
  assertFalling('loss', [0, 0.01, 0.03, 0.06, 0.12, 0.3], (v) => score(2, { network: line(v, 120) }));
  assertFalling('latency', [100, 210, 250, 300, 400, 600], (v) => score(10, { network: line(0.002, v) }));
  assertFalling('tts latency', [100, 250, 400, 800], (v) => score(9, { tts_latency_ms: v }));
  assertFalling('stt confidence', [0.98, 0.9, 0.8, 0.6, 0.4], (v) => score(4, { stt_confidence: v }));
  assertFalling('emotion confidence', [0.9, 0.7, 0.5, 0.2], (v) => score(11, { emotion_confidence: v }));
  assert.match(
    component(snap(1, { audio: { clipping_ratio: 0.0012 } }), 'clipping')!.detail,
    /0\.120% of samples at full scale/,
  );
  assert.match(
    component(snap(10, { network: { latency_ms: 420 } }), 'latency')!.detail,
    /120 ms over the 300 ms budget/,
  );
  assert.match(
    component(snap(2, { network: { mos: 3.2, r_factor: 65 } }), 'network')!.detail,
    /MOS 3\.20 \(R 65\.0.*below the 3\.6 minimum/,
  );
});

test('scorecard: a crushed signal (tiny crest factor, speech gated away) does not score well', () => {
  // Every other metric looks clean: a gate that removes everything leaves a silent, hum-free, high-SNR line.
  const crushed = snap(3, {
    audio: { crest_factor_db: 3, speech_activity: 0.01, snr_db: 60, noise_floor_dbfs: -95 },
  });
  const s = scoreSnapshot(crushed);
  assert.ok(s.score <= 100 * GUARD_FLOOR + 1e-9, `crushed signal scored ${s.score}`);
  assert.match(component(crushed, 'dynamics')!.detail, /squashed.*scales the station score by 0\.30/);
  assert.match(component(crushed, 'speech_presence')!.detail, /no speech survives/);
  // Squashing alone or gating alone is bad too.
  assert.ok(score(3, { audio: { crest_factor_db: 4 } }) < 40);
  assert.ok(score(3, { audio: { speech_activity: 0.02 } }) < 40);
  // Ordinary compression (crest 10 dB) is not punished as crushing.
  assert.ok(score(9, { audio: { crest_factor_db: 10 } }) > 90);
});

test('scorecard: speech the chain cut away costs the station score; what a suppressor ordinarily loses does not', () => {
  const at = (db: number | null) => score(11, { speech_loss_db: db });
  // Up to 3 dB (a Wiener gain, a compressor) is free; absent (too little clear speech) is not counted.
  assert.equal(at(3), at(0));
  assert.equal(component(snap(11), 'speech_loss'), undefined);
  assertFalling('speech loss', [3, 5, 7.5, 9, 12, 20], at);
  // From 7.5 dB it guards: most syllables gone scales the whole score toward the floor.
  const chopped = snap(11, { speech_loss_db: 12 });
  assert.ok(
    scoreSnapshot(chopped).score <= 100 * GUARD_FLOOR + 1e-9,
    `12 dB lost scored ${scoreSnapshot(chopped).score}`,
  );
  assert.match(
    component(chopped, 'speech_loss')!.detail,
    /removes 12\.0 dB of the speech.*scales the station score by 0\.30/,
  );
});

test("scorecard: the line's listening MOS scales the reported score: loss reports low on clean audio, delay does not", () => {
  // Every audio component on target at station 2: the E-model decides what the station reports.
  const reported = (n: Partial<NetworkMetrics>) => scoreSnapshot(snap(2, { network: n })).score;
  const chain = (n: Partial<NetworkMetrics>) =>
    scoreSnapshot(snap(2, { network: n }), undefined, { input: false });
  const lossy = line(0.05, 120);
  // 5% loss with G.711 concealment (MOS about 2; PESQ 1.1-1.4 on the generated profiles) reports under
  // 60; the chain's score, the one the loop tunes by, keeps the MOS in its mean only.
  assert.ok(lossy.mos < 2.2, `MOS ${lossy.mos}`);
  assert.ok(reported(lossy) < 60, `5% loss reported ${reported(lossy)}`);
  assert.ok(chain(lossy).score > 80, `5% loss: the chain's score ${chain(lossy).score}`);
  const heard = listeningMos(snap(2, { network: lossy }))!;
  const factor = 1 - WEIGHTS.line * (1 - (heard - 1) / 3.5);
  assert.ok(Math.abs(reported(lossy) - factor * chain(lossy).score) < 1e-9);
  assert.equal(
    chain(lossy).components.find((c) => c.name === 'line'),
    undefined,
  );
  assert.match(
    component(snap(2, { network: lossy }), 'line')!.detail,
    new RegExp(`scales the station score by ${factor.toFixed(2).replace('.', '\\.')}`),
  );
  // Delay: the chain's mean rates it (the network MOS and the latency component), the factor does not.
  // 400 ms one way reads MOS 3.2, and the reported score falls with the chain's, by the same ratio.
  const late = line(0, 400);
  const prompt = line(0, 20);
  assert.ok(late.mos < 3.3 && prompt.mos > 4.3, `MOS ${late.mos} late, ${prompt.mos} prompt`);
  assert.ok(chain(late).score < chain(prompt).score - 2);
  const ratio = (n: NetworkMetrics) => reported(n) / chain(n).score;
  assert.ok(Math.abs(ratio(late) - ratio(prompt)) < 1e-9, `${ratio(late)} against ${ratio(prompt)}`);
  // No network metrics (station 3), or a perfect line (R 100 at no delay): no factor.
  assert.equal(component(snap(3), 'line'), undefined);
  const perfect = { r_factor: 100, mos: 4.5, latency_ms: 0, packet_loss_ratio: 0 };
  assert.equal(reported(perfect), chain(perfect).score);
});

test('scorecard: the simulator-only reference SNR never affects the score', () => {
  const a = snap(3, { audio: { snr_db: 12 } });
  const b = structuredClone(a);
  b.metrics.reference_seg_snr_db = 40;
  const c = structuredClone(a);
  c.metrics.reference_seg_snr_db = -5;
  assert.deepEqual(scoreSnapshot(b), scoreSnapshot(a));
  assert.deepEqual(scoreSnapshot(c), scoreSnapshot(a));
});

test('buildScorecard: per-station mean of snapshot scores, overall mean across stations', () => {
  const s1a = snap(1, { audio: { loudness_lufs: -30 } });
  const s1b = snap(1, { audio: { loudness_lufs: -23 }, index: 1 });
  const s2 = snap(2, { network: { mos: 3 } });
  const card = buildScorecard([s2, s1a, s1b]);
  assert.deepEqual(
    card.stations.map((x) => x.station_id),
    [1, 2],
  );
  const st1 = card.stations[0]!;
  const expected1 = (scoreSnapshot(s1a).score + scoreSnapshot(s1b).score) / 2;
  assert.ok(Math.abs(st1.score - expected1) < 1e-9);
  assert.ok(Math.abs(card.overall - (expected1 + scoreSnapshot(s2).score) / 2) < 1e-9);
  const level = st1.components.find((c) => c.name === 'level')!;
  assert.equal(level.value, -26.5);
  assert.match(level.detail, /3\.5 LU below the -23 target \(mean of 2 snapshots\)/);
  assert.deepEqual(buildScorecard([]), { overall: 0, stations: [] });
});

test('scorecard: the gate guard reads the speech level where the gate is, the input level plus the input gain', () => {
  const params = { ...defaultsForStation(3), noise_gate_threshold_dbfs: -58.6, input_gain_db: 0 };
  const gateOf = (s: StationSnapshot, p: Record<string, number>) =>
    scoreSnapshot(s, p).components.find((c) => c.name === 'gate_margin')!;
  // Output on target (-23 LUFS): 35 dB over the gate, free; but a talker at -35.5 dBov reached it.
  const quiet = snap(3, { input_speech_level_dbov: -35.5 });
  const g = gateOf(quiet, params);
  assert.ok(Math.abs(g.value - 23.1) < 1e-9, `margin ${g.value}`);
  assert.ok(g.score < 0.5, `a gate 23 dB under the speech scored ${g.score}`);
  assert.match(g.detail, /under the speech level at its input: it closes on quiet syllables/);
  assert.ok(scoreSnapshot(quiet, params).score < scoreSnapshot(quiet, defaultsForStation(3)).score - 3);
  // 12 dB of input gain before the gate puts the same talker 35 dB over it.
  assert.equal(gateOf(quiet, { ...params, input_gain_db: 12 }).score, 1);
  // Without the input's level (an agent of before the field), the output's level as before.
  const old = gateOf(snap(3), params);
  assert.ok(Math.abs(old.value - (snap(3).metrics.audio.loudness_lufs + 58.6)) < 1e-9);
  assert.match(old.detail, /at the output/);
});

test('scorecard: the high-pass guard knows the band: 130 Hz is free on noisy narrowband audio, not on clean narrowband or wideband', () => {
  const params = { ...defaultsForStation(1), highpass_cutoff_hz: 130 };
  const band = (rate: number | null) =>
    scoreSnapshot(snap(1, { sample_rate_hz: rate }), params).components.find((c) => c.name === 'voice_band')!;
  assert.equal(band(8000).score, 1);
  assert.equal(band(null).score, 1, 'a snapshot without its rate is taken as narrowband');
  // Over narrowband input that reads clean (a settled noise margin of 90 dB) it is free only to 90 Hz;
  // over noise (40 dB) to 150 as before.
  const narrow = (margin: number) =>
    scoreSnapshot(snap(1, { sample_rate_hz: 8000, input_noise_margin_db: margin }), params).components.find(
      (c) => c.name === 'voice_band',
    )!;
  assert.ok(
    narrow(90).score < 0.95 && narrow(90).score > 0.8,
    `clean narrowband 130 Hz: ${narrow(90).score}`,
  );
  assert.equal(narrow(40).score, 1);
  const wide = band(16000);
  assert.ok(wide.score < 0.95 && wide.score > 0.85, `wideband 130 Hz scored ${wide.score}`);
  assert.match(wide.detail, /cuts into the wideband voice \(free up to 70 Hz\)/);
  const at = (hz: number) =>
    scoreSnapshot(snap(1, { sample_rate_hz: 16000 }), { ...params, highpass_cutoff_hz: hz }).score;
  assert.equal(at(60), at(70));
  assertFalling('wideband high-pass', [70, 90, 130, 200, 300], at);
});

test('scorecard: the gate guard knows the band: 40 dB under the speech is free on narrowband audio, not on clean wideband', () => {
  // A talker at -20 dBov at the gate, the gate at -60 dBFS: 40 dB under him; a clean input (margin 90).
  const params = { ...defaultsForStation(3), noise_gate_threshold_dbfs: -60 };
  const input = (rate: number | null, margin = 90) =>
    snap(3, { sample_rate_hz: rate, input_speech_level_dbov: -20, input_noise_margin_db: margin });
  const at = (rate: number | null, gate = -60, margin = 90) =>
    scoreSnapshot(input(rate, margin), { ...params, noise_gate_threshold_dbfs: gate }).components.find(
      (c) => c.name === 'gate_margin',
    )!;
  assert.equal(at(8000).score, 1);
  assert.equal(at(null).score, 1, 'a snapshot without its rate is taken as narrowband');
  const wide = at(16000);
  assert.equal(wide.value, 40);
  assert.ok(wide.score < 0.8 && wide.score > 0.2, `wideband 40 dB scored ${wide.score}`);
  // Free from 55 dB on clean wideband, nothing left at 25.
  assert.equal(at(16000, -75).score, 1);
  assert.equal(at(16000, -45).score, 0);
  // Over noise (a margin of 40 dB) the gate mostly stays open: the narrowband line.
  assert.equal(at(16000, -60, 40).score, 1);
  // The controller eases it off on clean wideband, one max step down: 12 dB, so the guard is content
  // after one or two steps (at 6 dB a clean talker's default gate took three or four).
  const d = decide({ snapshot: input(16000), current: params, state: null, now: 0 });
  const p = d.proposals.find((x) => x.name === 'noise_gate_threshold_dbfs');
  assert.equal(p?.new, -72, d.analysis);
});
