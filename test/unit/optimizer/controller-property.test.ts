// The controller's property: over random sets, readings and constraints, every proposal is in bounds,
// within max_step, of the station, and a step holds at most MAX_CHANGES_PER_STEP moves besides the
// followers and one free rider. Pure: no I/O.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parametersForStation } from '../../../catalog/index.ts';
import { createRng, decide, MAX_CHANGES_PER_STEP } from '../../../optimizer/core/index.ts';
import { type SnapOverrides, snap } from './snapshots.ts';

test('controller: property - every proposal is in bounds, within max_step and of the station', () => {
  const rng = createRng(20240601);
  const u = (lo: number, hi: number) => lo + rng.next() * (hi - lo);
  const stations = [1, 2, 3, 4, 9, 10, 11];
  let proposals = 0;
  for (let i = 0; i < 600; i++) {
    const station = stations[Math.floor(rng.next() * stations.length)]!;
    const specs = parametersForStation(station);
    const current: Record<string, number> = {};
    for (const p of specs) current[p.name] = Math.round(u(p.min, p.max) * 10) / 10;
    const constraints = specs
      .filter(() => rng.next() < 0.3)
      .map((p) => {
        const a = u(p.min, p.max);
        const b = u(p.min, p.max);
        return { parameter: p.name, min: Math.min(a, b), max: Math.max(a, b), frozen: rng.next() < 0.4 };
      });
    const o: SnapOverrides = {
      constraints,
      audio: {
        loudness_lufs: u(-60, -5),
        active_speech_level_dbov: u(-60, -5),
        peak_dbfs: u(-30, 0),
        crest_factor_db: u(2, 25),
        clipping_ratio: rng.next() < 0.3 ? u(0, 0.02) : 0,
        noise_floor_dbfs: u(-90, -30),
        snr_db: u(-5, 50),
        speech_activity: u(0, 1),
        spectral_centroid_hz: u(300, 4000),
        hum_ratio: u(0, 0.4),
        dc_offset: u(-0.05, 0.05),
      },
      network: { packet_loss_ratio: u(0, 0.15), jitter_ms: u(0, 80), latency_ms: u(40, 600), mos: u(1, 4.5) },
      stt_confidence: station === 4 ? u(0, 1) : null,
    };
    const d = decide({ snapshot: snap(station, o), current, state: null, now: 0, explore: true, seed: i });
    // At most MAX_CHANGES_PER_STEP, besides the followers, each only with its lead (a compressor
    // threshold after a raised AGC target, an AGC target raised with its max gain: level.ts), and
    // one free rider (moves.ts freeRider: RNNoise or the hum canceller switched on).
    const followers = [
      { reason: /the AGC target goes up/, lead: 'agc_target_dbfs' },
      { reason: /raising it with the max gain/, lead: 'agc_max_gain_db' },
    ];
    const followerOf = (p: { reason: string }) => followers.find((f) => f.reason.test(p.reason));
    const free = d.proposals.some((p) => /^(rnnoise|hum_canceller)_enabled$/.test(p.name) && p.new >= 0.5);
    assert.ok(
      d.proposals.filter((p) => !followerOf(p)).length <= MAX_CHANGES_PER_STEP + Number(free),
      d.analysis,
    );
    for (const p of d.proposals) {
      const f = followerOf(p);
      if (f)
        assert.ok(
          d.proposals.some((q) => q.name === f.lead),
          d.analysis,
        );
    }
    assert.equal(new Set(d.proposals.map((p) => p.name)).size, d.proposals.length);
    for (const p of d.proposals) {
      proposals++;
      const spec = specs.find((s) => s.name === p.name);
      assert.ok(spec, `station ${station} got a proposal for ${p.name}`);
      const c = constraints.find((x) => x.parameter === p.name);
      assert.ok(!c?.frozen, `frozen ${p.name} changed`);
      assert.ok(
        p.new >= Math.max(spec.min, c?.min ?? -Infinity) - 1e-9,
        `${p.name} ${p.new} under its bound`,
      );
      assert.ok(p.new <= Math.min(spec.max, c?.max ?? Infinity) + 1e-9, `${p.name} ${p.new} over its bound`);
      assert.ok(
        Math.abs(p.new - (p.old ?? Number.NaN)) <= spec.max_step + 1e-9,
        `${p.name} ${p.old} -> ${p.new} beyond max_step`,
      );
      assert.equal(p.old, current[p.name]);
      assert.equal(p.station_id, station);
      assert.ok(p.reason.length > 0);
    }
  }
  assert.ok(proposals > 300, `only ${proposals} proposals: the property barely ran`);
});
