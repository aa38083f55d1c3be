import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createChain } from '../../../audio/dsp/index.ts';
import { defaultsForStation } from '../../../catalog/index.ts';
import {
  createStationState,
  processBufferOnce,
  processSegment,
  type StationInput,
  stationStateOf,
} from '../../../stations/pipeline.ts';
import type { SimulatedCall } from '../../../stations/sim/index.ts';
import {
  bundledImpairmentsPath,
  loadImpairments,
  selectStations,
  simulateCall,
} from '../../../stations/sim/index.ts';
import { mean, setOf } from './helpers.ts';

const RATES = { '1': 8000, '2': 8000, '3': 16000, '4': 16000, '9': 16000, '10': 8000, '11': 16000 };
const defaults = loadImpairments(bundledImpairmentsPath('default'));

/** Streams a call through one station with fixed parameters; the per-segment metrics. */
function runCall(call: SimulatedCall, stationId: number, params: Record<string, number>) {
  const first = call.segments[0]!.inputs.get(stationId)!;
  const state = createStationState(stationId, params, first.sampleRate);
  return call.segments.map((s) => processSegment(state, params, s.inputs.get(stationId)!).metrics);
}

test('pipeline: clean input reads high reference quality, streamed and replayed, at every kind of station', () => {
  const set = setOf({ '2': { level_db: -26 }, '4': { level_db: -26 }, '9': { level_db: -26 } }, RATES);
  const call = simulateCall({ impairments: set, callIndex: 0, seed: 3, segments: 3 });
  for (const id of [2, 4, 9]) {
    const streamed = runCall(call, id, defaultsForStation(id)).map((m) => m.reference_seg_snr_db!);
    assert.ok(mean(streamed) > 25, `station ${id} streamed ${streamed}`);
    const once = processBufferOnce(id, defaultsForStation(id), call.segments[1]!.inputs.get(id)!);
    assert.ok(
      once.metrics.reference_seg_snr_db! > 25,
      `station ${id} replayed ${once.metrics.reference_seg_snr_db}`,
    );
  }
});

test('pipeline: noise lowers the reference quality', () => {
  const clean = setOf({ '4': { level_db: -26 } }, RATES);
  const noisy = setOf({ '4': { level_db: -26, noise: { type: 'white', snr_db: 10 } } }, RATES);
  const q = (set: typeof clean) =>
    mean(
      runCall(
        simulateCall({ impairments: set, callIndex: 0, seed: 3, segments: 3 }),
        4,
        defaultsForStation(4),
      ).map((m) => m.reference_seg_snr_db!),
    );
  const a = q(clean);
  const b = q(noisy);
  assert.ok(b < a - 10, `clean ${a} dB, noisy ${b} dB`);
});

test('pipeline: for station 1 default impairment, hand-tuned parameters beat the catalog defaults on the ground truth', () => {
  const set = selectStations(defaults, [1]);
  const tuned = {
    ...defaultsForStation(1),
    echo_canceller_tail_ms: 128,
    highpass_cutoff_hz: 120,
    noise_suppression_db: 6,
    agc_max_gain_db: 6,
  };
  const before: number[] = [];
  const after: number[] = [];
  for (const callIndex of [0, 1, 2]) {
    const call = simulateCall({ impairments: set, callIndex, seed: 1, segments: 6 });
    // Segment 0 is the call's warm-up (echo canceller converging, AGC settling).
    before.push(
      ...runCall(call, 1, defaultsForStation(1))
        .slice(1)
        .map((m) => m.reference_seg_snr_db!),
    );
    after.push(
      ...runCall(call, 1, tuned)
        .slice(1)
        .map((m) => m.reference_seg_snr_db!),
    );
  }
  // The margin was 1 dB while the default suppression cost this echo-dominated line ~0.5 dB; the
  // suppressor that keeps the speech (issue 15) no longer does, so the tuned set's edge is smaller:
  // 0.97 dB measured (9.01 -> 9.98 dB; deterministic simulation), pinned at 0.8.
  assert.ok(mean(after) > mean(before) + 0.8, `defaults ${mean(before)} dB, tuned ${mean(after)} dB`);
});

test('pipeline: station 2, a larger jitter buffer turns fewer packets late and adds latency', () => {
  const set = selectStations(defaults, [2]);
  const call = simulateCall({ impairments: set, callIndex: 0, seed: 1, segments: 5 });
  const small = runCall(call, 2, { ...defaultsForStation(2), jitter_buffer_ms: 60 }).map((m) => m.network!);
  const large = runCall(call, 2, { ...defaultsForStation(2), jitter_buffer_ms: 180 }).map((m) => m.network!);
  const loss = (xs: typeof small) => mean(xs.map((n) => n.packet_loss_ratio));
  const latency = (xs: typeof small) => mean(xs.map((n) => n.latency_ms));
  assert.ok(loss(large) < loss(small) / 2, `loss ${loss(small)} -> ${loss(large)}`);
  assert.ok(latency(large) >= latency(small) + 100, `latency ${latency(small)} -> ${latency(large)}`);
  // Jitter is measured from the packets, near the profile's 40 ms.
  const jitter = mean(small.map((n) => n.jitter_ms));
  assert.ok(jitter > 25 && jitter < 60, `jitter ${jitter}`);
});

test('pipeline: jitter_buffer_ms is hot: a larger buffer from the next segment on turns fewer packets late in the same call', (t) => {
  const set = selectStations(defaults, [2]);
  const losses: { fixed: number[]; grown: number[] } = { fixed: [], grown: [] };
  const latency: { fixed: number[]; grown: number[] } = { fixed: [], grown: [] };
  for (const callIndex of [0, 1, 2]) {
    const call = simulateCall({ impairments: set, callIndex, seed: 1, segments: 5 });
    const fixed = createStationState(2, defaultsForStation(2), 8000);
    const grown = createStationState(2, defaultsForStation(2), 8000);
    call.segments.forEach((s, k) => {
      const input = s.inputs.get(2)!;
      const a = processSegment(fixed, defaultsForStation(2), input).metrics.network!;
      // The optimizer's change arrives after segment 0: the same call, the same buffer, a bigger target.
      const params = { ...defaultsForStation(2), jitter_buffer_ms: k === 0 ? 60 : 180 };
      const b = processSegment(grown, params, input).metrics.network!;
      if (k === 0) {
        assert.equal(b.packet_loss_ratio, a.packet_loss_ratio, 'segment 0 runs the same buffer');
        return;
      }
      losses.fixed.push(a.packet_loss_ratio);
      losses.grown.push(b.packet_loss_ratio);
      latency.fixed.push(a.latency_ms);
      latency.grown.push(b.latency_ms);
    });
    assert.equal(grown.params()['jitter_buffer_ms'], 180, 'in effect within the call, nothing queued');
  }
  t.diagnostic(
    `segments 1-4 of 3 calls: loss ${(100 * mean(losses.fixed)).toFixed(1)}% at 60 ms vs ${(100 * mean(losses.grown)).toFixed(1)}% after growing to 180 ms; ` +
      `latency ${mean(latency.fixed).toFixed(0)} -> ${mean(latency.grown).toFixed(0)} ms`,
  );
  assert.ok(
    mean(losses.grown) < mean(losses.fixed) / 2,
    `loss ${mean(losses.fixed)} -> ${mean(losses.grown)}`,
  );
  assert.ok(mean(latency.grown) >= mean(latency.fixed) + 100);
});

test('pipeline: growing and shrinking the jitter buffer mid-call keeps the output on the sender grid, aligned with the clean', () => {
  const set = setOf(
    { '2': { level_db: -26, network: { loss_pct: 0, jitter_ms: 0, delay_ms: 30, codec: 'linear' } } },
    RATES,
  );
  const call = simulateCall({ impairments: set, callIndex: 0, seed: 4, segments: 6 });
  const plan = [60, 60, 140, 140, 40, 40];
  const state = createStationState(2, defaultsForStation(2), 8000);
  const rows = call.segments.map((s, k) => {
    // No far end: this is about the jitter buffer, not the echo canceller.
    const { farEnd: _far, ...input } = s.inputs.get(2)!;
    return processSegment(state, { ...defaultsForStation(2), jitter_buffer_ms: plan[k]! }, input).metrics;
  });
  for (const [k, m] of rows.entries()) {
    assert.ok(m.reference_seg_snr_db! > 25, `segment ${k}: ref ${m.reference_seg_snr_db}`);
    assert.equal(m.network!.packet_loss_ratio, 0, `segment ${k}: a clean network loses nothing to a resize`);
  }
  // The latency the E-model rates follows the buffer.
  assert.ok(rows[2]!.network!.latency_ms >= rows[1]!.network!.latency_ms + 80);
  assert.ok(rows[5]!.network!.latency_ms <= rows[1]!.network!.latency_ms - 20);
});

test('pipeline: station 10 with a far end that is not in its input (no echo) reads the same quality as without one', (t) => {
  const set = selectStations(loadImpairments(bundledImpairmentsPath('mild')), [10]);
  let worst = 0;
  for (const callIndex of [0, 1, 2]) {
    const call = simulateCall({ impairments: set, callIndex, seed: 1, segments: 8 });
    const run = (withFar: boolean) => {
      const state = createStationState(10, defaultsForStation(10), 8000);
      return call.segments.map((s) => {
        const { farEnd, ...input } = s.inputs.get(10)!;
        assert.ok(farEnd !== undefined, 'the simulator gives station 10 the caller leg as reference');
        return processSegment(state, defaultsForStation(10), withFar ? { ...input, farEnd } : input).metrics
          .reference_seg_snr_db!;
      });
    };
    const plain = run(false);
    const withFar = run(true);
    for (let k = 0; k < plain.length; k++) worst = Math.max(worst, Math.abs(withFar[k]! - plain[k]!));
  }
  t.diagnostic(
    `largest per-segment change of reference seg-SNR from feeding the far end: ${worst.toFixed(3)} dB`,
  );
  assert.ok(worst <= 0.5, `the echo canceller moved the reference quality by ${worst} dB`);
});

test('pipeline: speech loss reads what the chain cut from the speech, not the echo it cancelled', () => {
  // Station 3: a gate closing at -30 dBFS on speech at -36 dBov chops most syllables.
  const set = setOf({ '3': { level_db: -36, noise: { type: 'white', snr_db: 25 } } }, RATES);
  const call = simulateCall({ impairments: set, callIndex: 0, seed: 3, segments: 4 });
  const loss = (params: Record<string, number>) =>
    mean(runCall(call, 3, params).map((m) => m.speech_loss_db ?? Number.NaN));
  const d = defaultsForStation(3);
  const open = loss(d);
  const chopping = loss({ ...d, noise_gate_threshold_dbfs: -30 });
  assert.ok(open < 1, `defaults lose ${open} dB`);
  assert.ok(chopping > open + 3, `a gate at -30 dBFS loses ${chopping} dB against the defaults' ${open}`);
  const once = processBufferOnce(
    3,
    { ...d, noise_gate_threshold_dbfs: -30 },
    call.segments[2]!.inputs.get(3)!,
  );
  assert.ok(once.metrics.speech_loss_db! > open + 3, `replayed: ${once.metrics.speech_loss_db}`);
  // Station 1 with echo: the canceller removes it before the point speech loss is judged from.
  const echo = selectStations(loadImpairments(bundledImpairmentsPath('default')), [1]);
  const echoCall = simulateCall({ impairments: echo, callIndex: 0, seed: 1, segments: 6 });
  const st1 = runCall(echoCall, 1, defaultsForStation(1)).map((m) => m.speech_loss_db);
  assert.ok(
    st1.every((v) => v === null || v < 1.5),
    `station 1 defaults: ${st1.join(', ')}`,
  );
});

test("pipeline: the echo delay reads as the canceller sees it, the chain's latency after it taken out", (t) => {
  // The bundled default set's station 1: an 80 ms hybrid echo (the far end's strongest tap 80 ms back).
  const set = selectStations(loadImpairments(bundledImpairmentsPath('default')), [1]);
  const call = simulateCall({ impairments: set, callIndex: 0, seed: 1, segments: 6 });
  const delays = runCall(call, 1, defaultsForStation(1))
    .map((m) => m.echo_delay_ms)
    .filter((v): v is number => v !== null);
  t.diagnostic(`echo delays read: ${delays.map((v) => v.toFixed(0)).join(', ')} ms`);
  assert.ok(delays.length > 0, 'the echo past the default tail is read');
  // 80 ms plus the canceller's 8 ms block, within the path's few ms of spread; the output's own delay
  // (about 58 ms more at station 1) is not in it.
  for (const v of delays) assert.ok(v >= 80 && v <= 100, `${v} ms`);
});

test('pipeline: stage metrics only where the catalog lists them, network metrics only on network stations', () => {
  const call = simulateCall({ impairments: defaults, callIndex: 0, seed: 2, segments: 1 });
  const seg = call.segments[0]!;
  for (const [id, input] of seg.inputs) {
    const m = processBufferOnce(id, defaultsForStation(id), input).metrics;
    // The recognizer runs after the pure step (the agent's stage engine): never a modelled value here.
    assert.equal(m.stt_confidence, null, `station ${id} stt`);
    assert.equal(m.stt_word_error_rate, null, `station ${id} wer`);
    assert.equal(
      m.tts_latency_ms !== null,
      id === 9 && input.stage?.ttsLatencyMs !== undefined,
      `station ${id} tts`,
    );
    assert.equal(m.emotion_confidence !== null, id === 11, `station ${id} emotion`);
    assert.equal(m.network !== null, id === 2 || id === 10, `station ${id} network`);
    assert.ok(m.reference_seg_snr_db !== null, 'm.reference_seg_snr_db !== null');
  }
  // TTS latency: the synthesizer's measured time to audio plus the chain's own delay, nothing modelled.
  const at9 = { ...seg.inputs.get(9)!, stage: { ttsLatencyMs: 42 } };
  const tts = processBufferOnce(9, defaultsForStation(9), at9).metrics.tts_latency_ms!;
  // At defaults the chain's delay is RNNoise's (off, but counted so a switch never shifts the audio), the
  // compressor's and limiter's look-ahead.
  const chainMs = (1000 * createChain(9, {}, { sampleRate: at9.sampleRate }).latencySamples) / at9.sampleRate;
  assert.ok(chainMs > 20 && chainMs < 40, `chain ${chainMs} ms`);
  assert.ok(Math.abs(tts - (42 + chainMs)) < 1e-9, `tts ${tts}`);
  const { stage: _stage, ...noTts } = at9;
  assert.equal(processBufferOnce(9, defaultsForStation(9), noTts).metrics.tts_latency_ms, null);
  // Without the clean signal (a live station) there is no ground truth.
  const { clean: _clean, ...live } = seg.inputs.get(3)!;
  assert.equal(processBufferOnce(3, defaultsForStation(3), live).metrics.reference_seg_snr_db, null);
});

test('pipeline: replay output is time-aligned with the input; streamed output trails by the chain latency', () => {
  const x = Float32Array.from(
    { length: 16000 },
    (_, i) => 0.1 * Math.sin((2 * Math.PI * 300 * i) / 16000) * Math.sin(i / 900),
  );
  const input: StationInput = { stationId: 4, sampleRate: 16000, samples: x, clean: x };
  const once = processBufferOnce(4, defaultsForStation(4), input);
  assert.equal(once.output.length, x.length);
  for (let i = 0; i < x.length; i += 97)
    assert.ok(Math.abs(once.output[i]! - x[i]!) < 1e-6, 'Math.abs(once.output[i]! - x[i]!) < 1e-6');
  const state = createStationState(4, defaultsForStation(4), 16000);
  const lat = state.chain.latencySamples;
  assert.ok(lat > 0, 'lat > 0');
  const a = processSegment(state, {}, { ...input, samples: x.subarray(0, 8000), clean: x.subarray(0, 8000) });
  const b = processSegment(state, {}, { ...input, samples: x.subarray(8000), clean: x.subarray(8000) });
  for (let i = lat; i < 8000; i += 97)
    assert.ok(Math.abs(a.output[i]! - x[i - lat]!) < 1e-6, 'Math.abs(a.output[i]! - x[i - lat]!) < 1e-6');
  for (let i = 0; i < 8000; i += 97)
    assert.ok(
      Math.abs(b.output[i]! - x[8000 + i - lat]!) < 1e-6,
      'Math.abs(b.output[i]! - x[8000 + i - lat]!) < 1e-6',
    );
  // The clean signal is delayed by the same amount across the segment boundary.
  assert.ok(b.metrics.reference_seg_snr_db! > 34, 'b.metrics.reference_seg_snr_db! > 34');
});

test('pipeline: a jitter buffer anchored on a later packet (first packets lost) stays aligned with the clean', () => {
  const set = setOf({ '2': { level_db: -26, network: { loss_pct: 0, jitter_ms: 0, delay_ms: 20 } } }, RATES);
  const call = simulateCall({ impairments: set, callIndex: 0, seed: 5, segments: 3 });
  const run = (withGrid: boolean) => {
    const state = createStationState(2, defaultsForStation(2), 8000);
    return call.segments.map((s, k) => {
      // No far end: this is about the jitter buffer, not the echo canceller.
      const { rtpTimestamp, farEnd: _far, ...input } = s.inputs.get(2)!;
      const packets = k === 0 ? input.packets!.slice(2) : input.packets!;
      return processSegment(state, defaultsForStation(2), {
        ...input,
        packets,
        ...(withGrid ? { rtpTimestamp } : {}),
      }).metrics;
    });
  };
  // On the sender's grid: the two lost packets are segment 0's loss, nothing else is.
  const grid = run(true);
  assert.deepEqual(
    grid.map((m) => m.network!.packet_loss_ratio),
    [2 / 50, 0, 0],
  );
  for (const m of grid.slice(1)) assert.ok(m.reference_seg_snr_db! > 25, `ref ${m.reference_seg_snr_db}`);
  // Without the grid the output follows the buffer's slots; the lag search still finds the clean.
  const slots = run(false);
  assert.ok(slots[1]!.reference_seg_snr_db! > 25, `ref ${slots[1]!.reference_seg_snr_db}`);
});

test('pipeline: first packets reordered but in time start playout before the first arrival, and the output stays on the sender grid', () => {
  const set = setOf({ '2': { level_db: -26, network: { loss_pct: 0, jitter_ms: 0, delay_ms: 20 } } }, RATES);
  const call = simulateCall({ impairments: set, callIndex: 0, seed: 5, segments: 3 });
  const params = { ...defaultsForStation(2), jitter_buffer_ms: 300 };
  const state = createStationState(2, params, 8000);
  const metrics = call.segments.map((s, k) => {
    const { farEnd: _far, ...input } = s.inputs.get(2)!;
    // The call's first two packets arrive 50 ms late, after the third: well inside a 300 ms buffer.
    const packets = input.packets!.map((p, i) =>
      k === 0 && i < 2 ? { ...p, arrivalMs: p.arrivalMs + 50 } : p,
    );
    return processSegment(state, params, { ...input, packets }).metrics;
  });
  // Nothing was lost, and every segment lines up with the clean (a count of slots pulled instead of
  // the buffer's own next slot lost the first frame and put the rest of the call a frame behind:
  // loss 0.04, 0, 0 and reference SNR 15.6, -1.9, -2.9 dB).
  assert.deepEqual(
    metrics.map((m) => m.network!.packet_loss_ratio),
    [0, 0, 0],
  );
  for (const m of metrics) assert.ok(m.reference_seg_snr_db! > 25, `ref ${m.reference_seg_snr_db}`);
});

test('pipeline: params passed to processSegment apply (hot now); a bare DspChain works too', () => {
  const call = simulateCall({
    impairments: setOf({ '4': { level_db: -30 } }, RATES),
    callIndex: 0,
    seed: 8,
    segments: 1,
  });
  const input = call.segments[0]!.inputs.get(4)!;
  const plain = createChain(4, defaultsForStation(4), { sampleRate: 16000 });
  const boosted = createChain(4, defaultsForStation(4), { sampleRate: 16000 });
  const a = processSegment(plain, defaultsForStation(4), input).metrics.audio;
  const b = processSegment(boosted, { ...defaultsForStation(4), input_gain_db: 6 }, input).metrics.audio;
  assert.equal(boosted.params()['input_gain_db'], 6);
  const gain = b.active_speech_level_dbov - a.active_speech_level_dbov;
  assert.ok(Math.abs(gain - 6) < 0.5, `input gain moved the level by ${gain} dB`);
  // The bare chain got a StationState attached; resetting it starts the chain over.
  stationStateOf(boosted).resetForNewCall();
  assert.equal(stationStateOf(boosted).params()['input_gain_db'], 6);
});

test('pipeline: inputs that do not fit the state are rejected with the reason', () => {
  const state = createStationState(2, defaultsForStation(2), 8000);
  const x = new Float32Array(8000);
  assert.throws(() => processSegment(state, {}, { stationId: 3, sampleRate: 8000, samples: x }), /station 3/);
  assert.throws(() => processSegment(state, {}, { stationId: 2, sampleRate: 16000, samples: x }), /16000 Hz/);
  assert.throws(
    () =>
      processSegment(state, {}, { stationId: 2, sampleRate: 8000, samples: x, clean: new Float32Array(10) }),
    /clean has 10/,
  );
  assert.throws(
    () =>
      processSegment(
        state,
        {},
        { stationId: 2, sampleRate: 8000, samples: new Float32Array(8001), packets: [] },
      ),
    /whole 20 ms frames/,
  );
  assert.throws(
    () => processSegment(state, { jitter_buffer_ms: 5000 }, { stationId: 2, sampleRate: 8000, samples: x }),
    /jitter_buffer_ms/,
  );
});

test('pipeline: input clipped upstream reads in input_clipping_ratio; the declipper switched on joins at the next call and restores it', () => {
  const clipped = setOf({ '4': { level_db: -26, clip: { drive_db: 16 } } }, RATES);
  const clean = setOf({ '4': { level_db: -26 } }, RATES);
  const call = simulateCall({ impairments: clipped, callIndex: 0, seed: 3, segments: 3 });
  const inputs = call.segments.map((s) => s.inputs.get(4)!);
  // 12 dB down, so the limiter's -1 dBFS ceiling leaves the restored peaks alone (it would flatten them
  // again, smoothly: PESQ still gains, the segmental SNR does not).
  const params = { ...defaultsForStation(4), input_gain_db: -12 };
  const state = createStationState(4, params, 16000);
  const off = inputs.map((x) => processSegment(state, params, x).metrics);
  for (const m of off) assert.ok(m.input_clipping_ratio! > 1e-3, `clipping ratio ${m.input_clipping_ratio}`);
  const lat = state.chain.latencySamples;
  assert.deepEqual(state.setParams({ ...params, declip_enabled: 1 }).queued, ['declip_enabled']);
  state.resetForNewCall();
  assert.equal(state.chain.latencySamples, lat + 512);
  // The same audio again, as the next call: the clean reference stays aligned across the new delay.
  const on = inputs.map((x) => processSegment(state, { ...params, declip_enabled: 1 }, x).metrics);
  const ref = (ms: typeof off) => mean(ms.slice(1).map((m) => m.reference_seg_snr_db!));
  assert.ok(ref(on) > ref(off) + 3, `reference quality ${ref(off)} -> ${ref(on)} dB`);
  assert.ok(
    on.every((m, i) => m.input_clipping_ratio === off[i]!.input_clipping_ratio),
    'measured as it arrives',
  );
  const quiet = runCall(simulateCall({ impairments: clean, callIndex: 0, seed: 3, segments: 2 }), 4, {});
  assert.ok(quiet.every((m) => m.input_clipping_ratio === 0));
});

test('pipeline: an echo 200 ms behind the far end, past the default tail, is cancelled once the station reads it', (t) => {
  // The station's residual-echo reading of its output tells the canceller where the echo is
  // (audio/dsp/echoDelay.ts): before 2026-12-05 the default 64 ms tail, starting at zero delay, never
  // reached it, and the tail rule took 32 ms a step toward it.
  const set = setOf(
    {
      '1': {
        level_db: -30,
        noise: { type: 'white', snr_db: 45 },
        echo: { delay_ms: 200, gain_db: -12, far_level_db: -20, dispersion_ms: 10 },
      },
    },
    RATES,
  );
  const call = simulateCall({ impairments: set, callIndex: 0, seed: 5, segments: 8 });
  const echo = runCall(call, 1, defaultsForStation(1)).map((m) => m.residual_echo_db);
  t.diagnostic(
    `residual echo per second: ${echo.map((v) => (v === null ? '-' : v.toFixed(1))).join(', ')} dB`,
  );
  const read = echo.filter((v): v is number => v !== null);
  assert.ok(read.length >= 4 && read[0]! > -15, `the echo is there first: ${echo.join(', ')}`);
  assert.ok(
    echo.slice(-2).every((v) => v !== null && v <= -20),
    `and cancelled at the end: ${echo.join(', ')}`,
  );
});

test('pipeline: hum off 50/60 Hz reads in hum_ratio once the call has shown it, and falls when the canceller takes it', (t) => {
  // Before 2026-12-06 hum_ratio counted only the 50/60 Hz families: hum at 71 Hz (eval seed 9, gen-9-17
  // station 11) read ~0, so the hum rule never switched the canceller on. Here 135 Hz (and 270 Hz),
  // clear of every 50/60 Hz harmonic's band, over a talker at -26 dBov.
  const read = (hum: boolean, params: Record<string, number>) => {
    const station = hum
      ? { level_db: -26, hum: { freq_hz: 135, level_dbfs: -30, harmonics: [1, 0.5] } }
      : { level_db: -26 };
    const set = setOf({ '11': station }, RATES);
    const call = simulateCall({ impairments: set, callIndex: 0, seed: 1, segments: 6 });
    return runCall(call, 11, params);
  };
  const off = defaultsForStation(11);
  const fmt = (xs: number[]) => xs.map((v) => (100 * v).toFixed(2)).join(', ');
  const out = (ms: ReturnType<typeof runCall>) => ms.map((m) => m.audio.hum_ratio);
  const humMetrics = read(true, off);
  const hum = out(humMetrics);
  const clean = out(read(false, off));
  const cancelledMetrics = read(true, { ...off, hum_canceller_enabled: 1 });
  const cancelled = out(cancelledMetrics);
  const input = humMetrics.map((m) => m.input_hum_ratio);
  const cleanInput = read(false, off).map((m) => m.input_hum_ratio);
  t.diagnostic(`hum_ratio % per second: hum ${fmt(hum)}; none ${fmt(clean)}; cancelled ${fmt(cancelled)}`);
  t.diagnostic(`input_hum_ratio: ${input.join(', ')}; clean ${cleanInput.join(', ')}`);
  // The input's reading is null until the detector has read 2.5 s (its 0 could not say none before),
  // then the family's share, or 0 for none.
  assert.deepEqual(input.slice(0, 2), [null, null]);
  assert.ok(
    input.slice(2).every((v) => v !== null && v > 0.2),
    `the family at the input: ${input.join(', ')}`,
  );
  assert.deepEqual(cleanInput, [null, null, 0, 0, 0, 0]);
  // The detector reports a family from the second segment (the first analyses confirm it); what is
  // left at the output is what the default suppressor leaves of the lines.
  assert.ok(
    hum.slice(1).every((v) => v > 0.015),
    `135 Hz hum reads as hum: ${fmt(hum)}`,
  );
  assert.ok(
    clean.every((v) => v < 0.005),
    `a voice's pitch is not hum: ${fmt(clean)}`,
  );
  assert.ok(
    cancelled.slice(2).every((v) => v < 0.005),
    `the canceller takes it out: ${fmt(cancelled)}`,
  );
});
