import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AUDIO_BLOCK_ORDER,
  createChain,
  DspParameterError,
  processBuffer,
} from '../../../audio/dsp/chain.ts';
import { defaultsForStation, loadCatalog, validateParameterSet } from '../../../catalog/index.ts';
import { tunableSpace } from '../../../optimizer/batch/learn.ts';
import { add, dbfs, dbToLin, maskedDbfs, speechLike, tone, whiteNoise } from './signals.ts';

const SR = 16000;

function stream(chain: ReturnType<typeof createChain>, x: Float32Array, frame = 320): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i += frame) out.set(chain.process(x.subarray(i, i + frame)), i);
  return out;
}

test('chain: each station runs exactly its catalog blocks, in the fixed order', () => {
  for (const s of loadCatalog().stations) {
    const chain = createChain(s.id, {}, { sampleRate: SR });
    const expected = AUDIO_BLOCK_ORDER.filter((b) => s.dsp_blocks.includes(b));
    assert.deepEqual(chain.blocks, expected, `station ${s.id}`);
    assert.deepEqual(chain.params(), defaultsForStation(s.id));
  }
  assert.deepEqual(createChain(2, {}, { sampleRate: SR }).blocks, [
    'declipper',
    'echo_canceller',
    'input_gain',
    'limiter',
  ]);
});

test('chain: latency is the sum of the blocks with delay (echo block 8 ms, RNNoise 22 ms, NS frame 32 ms, limiter 2 ms)', () => {
  // RNNoise (stations 1, 3, 4, 9, 11): two 10 ms frames (buffering, its window overlap) and 2 x 16 samples of
  // resampling filters, counted whether it is on or off so the latency never changes mid-call.
  const rnnoise = 2 * 160 + 32;
  assert.equal(createChain(1, {}, { sampleRate: SR }).latencySamples, 128 + rnnoise + 512 + 32);
  assert.equal(createChain(3, {}, { sampleRate: SR }).latencySamples, rnnoise + 512 + 32);
  assert.equal(createChain(11, {}, { sampleRate: SR }).latencySamples, rnnoise + 512 + 32);
  assert.equal(createChain(4, {}, { sampleRate: SR }).latencySamples, rnnoise + 32);
  assert.equal(createChain(3, {}, { sampleRate: 8000 }).latencySamples, 2 * 80 + 32 + 256 + 16);
  assert.equal(createChain(1, {}, { sampleRate: 8000 }).latencySamples, 64 + 2 * 80 + 32 + 256 + 16);
  // At a rate RNNoise cannot run at (48 kHz / 32 kHz is not whole) it is absent, and cannot be switched on.
  assert.equal(createChain(1, {}, { sampleRate: 32000 }).latencySamples, 256 + 1024 + 64);
  assert.throws(
    () => createChain(1, { rnnoise_enabled: 1 }, { sampleRate: 32000 }),
    /rnnoise_enabled: RNNoise runs at 48 kHz, which 32000 Hz does not divide/,
  );
});

test('processBuffer: output is time-aligned with the input and as long (station 4 at defaults is transparent)', () => {
  const x = add(tone(SR, 1, 440, 0.2), whiteNoise(SR, 1, 0.01, 1));
  const y = processBuffer(4, {}, x, SR);
  assert.equal(y.length, x.length);
  assert.deepEqual(y, x);
});

test('processBuffer: a 1 kHz tone through station 3 comes out aligned (peak cross-correlation at lag 0)', () => {
  const x = tone(SR, 2, 1000, 0.05);
  const y = processBuffer(3, { noise_suppression_db: 0 }, x, SR);
  const corr = (lag: number) => {
    let s = 0;
    for (let i = SR; i < SR + 4000; i++) s += (x[i] as number) * (y[i + lag] as number);
    return s;
  };
  for (const lag of [-3, -2, -1, 1, 2, 3]) assert.ok(corr(0) > corr(lag), `lag ${lag}`);
});

test('chain: streaming is frame-size independent (same output for 80-, 320- and 1000-sample frames)', () => {
  const { signal } = speechLike(SR, 3, -35, 2);
  const x = add(signal, whiteNoise(SR, 3, dbToLin(-55), 3));
  const a = stream(createChain(3, {}, { sampleRate: SR }), x, 80);
  const b = stream(createChain(3, {}, { sampleRate: SR }), x, 320);
  const c = stream(createChain(3, {}, { sampleRate: SR }), x, 1000);
  assert.deepEqual(a, b);
  assert.deepEqual(b, c);
});

test('chain: a hot parameter (input gain) takes effect mid-call, within the 5 ms ramp', (t) => {
  const chain = createChain(4, {}, { sampleRate: SR });
  const x = tone(SR, 1, 500, 0.05);
  const first = stream(chain, x.subarray(0, SR / 2));
  const r = chain.setParams({ input_gain_db: 6 });
  assert.deepEqual(r, { applied: ['input_gain_db'], queued: [] });
  assert.equal(chain.params()['input_gain_db'], 6);
  const second = stream(chain, x.subarray(SR / 2));
  const change = dbfs(second, 800) - dbfs(first, 800);
  t.diagnostic(`level change 50 ms after a +6 dB hot change: ${change.toFixed(3)} dB`);
  assert.ok(Math.abs(change - 6) < 0.05);
});

test('chain: the high-pass cutoff is hot: raising it mid-call cuts the hum within the call, state kept', (t) => {
  const chain = createChain(3, { noise_suppression_db: 0, highpass_cutoff_hz: 60 }, { sampleRate: SR });
  const hum = tone(SR, 1, 50, 0.1);
  const humLevel = () => dbfs(stream(chain, hum), SR / 2);
  const before = humLevel();
  const r = chain.setParams({ highpass_cutoff_hz: 150, compressor_ratio: 3 });
  assert.deepEqual(r, { applied: ['highpass_cutoff_hz', 'compressor_ratio'], queued: [] });
  assert.equal(chain.params()['highpass_cutoff_hz'], 150);
  assert.deepEqual(chain.pendingParams(), {});
  const after = humLevel();
  t.diagnostic(
    `50 Hz hum out: ${before.toFixed(1)} dBFS at 60 Hz, ${after.toFixed(1)} dBFS after a mid-call change to 150 Hz`,
  );
  assert.ok(after < before - 20);
  // Same call, same state: nothing was rebuilt (the VAD has counted both seconds' 10 ms frames).
  assert.equal(chain.stats().vad?.frames, 200);
});

test('chain: a cold parameter (the declipper) is queued and only applies at the next call; the echo tail applies at once', () => {
  const chain = createChain(1, {}, { sampleRate: SR });
  const r = chain.setParams({ declip_enabled: 1, echo_canceller_tail_ms: 128, highpass_cutoff_hz: 100 });
  assert.deepEqual(r, {
    applied: ['echo_canceller_tail_ms', 'highpass_cutoff_hz'],
    queued: ['declip_enabled'],
  });
  assert.equal(chain.params()['declip_enabled'], 0);
  assert.equal(chain.params()['echo_canceller_tail_ms'], 128);
  assert.deepEqual(chain.pendingParams(), { declip_enabled: 1 });
  chain.resetForNewCall();
  assert.equal(chain.params()['declip_enabled'], 1);
  assert.equal(chain.params()['highpass_cutoff_hz'], 100);
  assert.deepEqual(chain.pendingParams(), {});
});

test('chain: the declipper is cold: off it is not in the chain (no delay); switched on it joins at the next call with its 32 ms frame', () => {
  const chain = createChain(1, {}, { sampleRate: SR });
  const before = chain.latencySamples;
  const tapBefore = chain.tapLatencySamples;
  assert.deepEqual(chain.setParams({ declip_enabled: 1 }), { applied: [], queued: ['declip_enabled'] });
  assert.equal(chain.latencySamples, before, 'not mid-call');
  chain.resetForNewCall();
  assert.equal(chain.params()['declip_enabled'], 1);
  assert.equal(chain.latencySamples, before + 512);
  assert.equal(chain.tapLatencySamples, tapBefore + 512, 'the tap (after the echo canceller) follows it');
  // A clipped tone comes out of station 4 with its peaks back over the clip level, aligned (6 dB down
  // so the limiter's -1 dBFS ceiling does not flatten them again).
  const x = tone(SR, 0.5, 300, 1.6);
  const clipped = x.map((v) => Math.max(-1, Math.min(1, v)));
  const g = dbToLin(-6);
  const err = (params: Record<string, number>) => {
    const y = processBuffer(4, { input_gain_db: -6, ...params }, clipped, SR);
    let e = 0;
    for (let i = SR / 10; i < y.length - SR / 10; i++) e += (y[i]! - g * x[i]!) ** 2;
    return e;
  };
  const on = err({ declip_enabled: 1 });
  const off = err({});
  assert.ok(on < off / 3, `declipped error ${on} vs clipped ${off}`);
});

test('chain: re-requesting the value in effect cancels a queued cold change', () => {
  const chain = createChain(2, {}, { sampleRate: SR });
  chain.setParams({ declip_enabled: 1 });
  assert.deepEqual(chain.pendingParams(), { declip_enabled: 1 });
  chain.setParams({ declip_enabled: 0 });
  assert.deepEqual(chain.pendingParams(), {});
  // The jitter buffer's target is hot: in effect at once (the pipeline applies it at its next segment).
  assert.deepEqual(chain.setParams({ jitter_buffer_ms: 120 }), { applied: ['jitter_buffer_ms'], queued: [] });
  assert.equal(chain.params()['jitter_buffer_ms'], 120);
});

test('chain: invalid parameters throw DspParameterError naming the bound, and change nothing', () => {
  const chain = createChain(3, {}, { sampleRate: SR });
  const before = chain.params();
  assert.throws(
    () => chain.setParams({ input_gain_db: 3, agc_target_dbfs: -50 }),
    (e: unknown) =>
      e instanceof DspParameterError &&
      /agc_target_dbfs: -50 dBFS is below the minimum -35 dBFS/.test(e.message) &&
      e.errors.length === 1,
  );
  assert.deepEqual(chain.params(), before);
  assert.throws(() => chain.setParams({ jitter_buffer_ms: 60 }), /does not apply to station 3/);
  assert.throws(() => chain.setParams({ input_gain_db: Number.NaN }), /finite number/);
  assert.throws(() => createChain(3, { echo_canceller_tail_ms: 64 }, { sampleRate: SR }), DspParameterError);
  assert.throws(() => createChain(5, {}, { sampleRate: SR }), /unknown station/);
  assert.throws(() => createChain(3, {}, { sampleRate: 4000 }), /sample rate 4000/);
});

test('chain: resetForNewCall forgets all signal state (same input, same output as a fresh chain)', () => {
  const { signal } = speechLike(SR, 3, -30, 9);
  const fresh = stream(createChain(1, {}, { sampleRate: SR }), signal);
  const reused = createChain(1, {}, { sampleRate: SR });
  stream(reused, whiteNoise(SR, 2, 0.1, 4));
  reused.resetForNewCall();
  assert.deepEqual(stream(reused, signal), fresh);
});

test('chain: station 3 end to end turns a quiet, noisy, humming talker into a clean one at the AGC target', (t) => {
  const seconds = 12;
  const { signal, active } = speechLike(SR, seconds, -38, 14);
  const noise = whiteNoise(SR, seconds, dbToLin(-55), 15);
  const hum = tone(SR, seconds, 50, dbToLin(-35) * Math.SQRT2);
  const x = add(signal, noise, hum);
  const y = processBuffer(3, { highpass_cutoff_hz: 120, noise_suppression_db: 15 }, x, SR);
  const pause = active.map((v) => 1 - v);
  const speechIn = maskedDbfs(x, active, 6 * SR);
  const speechOut = maskedDbfs(y, active, 6 * SR);
  const floorIn = maskedDbfs(x, pause, 6 * SR);
  const floorOut = maskedDbfs(y, pause, 6 * SR);
  t.diagnostic(
    `speech ${speechIn.toFixed(1)} -> ${speechOut.toFixed(1)} dBFS, noise+hum floor ${floorIn.toFixed(1)} -> ${floorOut.toFixed(1)} dBFS, ` +
      `speech-to-floor ${(speechIn - floorIn).toFixed(1)} -> ${(speechOut - floorOut).toFixed(1)} dB`,
  );
  assert.ok(Math.abs(speechOut + 26) < 2);
  assert.ok(speechOut - floorOut > speechIn - floorIn + 15);
});

/** A single-reflection echo path: `far` 10 dB down, `ms` late. */
function reflection(far: Float32Array, ms: number): Float32Array {
  const echo = new Float32Array(far.length);
  const d = Math.round((ms / 1000) * SR);
  for (let i = d; i < far.length; i++) echo[i] = 0.316 * (far[i - d] as number);
  return echo;
}

test('chain: far-end reference cancels echo at station 1; without one the chain still runs', (t) => {
  const far = whiteNoise(SR, 4, dbToLin(-20), 5);
  const echo = reflection(far, 12);
  const params = { noise_suppression_db: 0, agc_max_gain_db: 0 };
  const withRef = processBuffer(1, params, echo, SR, far);
  const without = processBuffer(1, params, echo, SR);
  const erle = dbfs(without, 2 * SR) - dbfs(withRef, 2 * SR);
  t.diagnostic(
    `echo ${dbfs(without, 2 * SR).toFixed(1)} dBFS without reference, ${dbfs(withRef, 2 * SR).toFixed(1)} dBFS with (${erle.toFixed(1)} dB)`,
  );
  assert.ok(erle > 25);
  const chain = createChain(1, {}, { sampleRate: SR });
  assert.throws(() => chain.process(new Float32Array(320), new Float32Array(160)), /far-end frame/);
});

test('chain: lengthening the echo tail mid-call reaches an echo the default tail cannot', (t) => {
  const far = whiteNoise(SR, 6, dbToLin(-20), 5);
  // A path from 20 to 80 ms: its strongest tap is within the default 64 ms tail (so the canceller keeps its
  // window at zero delay, echoDelay.ts), its second reflection, 4 dB down, is past it.
  const late = reflection(far, 80);
  const echo = reflection(far, 20).map((v, i) => v + 0.63 * (late[i] as number));
  const params = { noise_suppression_db: 0, agc_max_gain_db: 0 };
  const run = (change: boolean) => {
    const chain = createChain(1, params, { sampleRate: SR });
    const out = new Float32Array(far.length);
    for (let i = 0; i < far.length; i += 320) {
      if (change && i === 2 * SR) chain.setParams({ echo_canceller_tail_ms: 96 });
      out.set(chain.process(echo.subarray(i, i + 320), far.subarray(i, i + 320)), i);
    }
    return dbfs(out, 4 * SR);
  };
  const kept = run(false);
  const lengthened = run(true);
  t.diagnostic(
    `seconds 4-6: ${kept.toFixed(1)} dBFS with the 64 ms tail, ${lengthened.toFixed(1)} dBFS after 96 ms at second 2`,
  );
  assert.ok(lengthened < kept - 20);
});

test('chain: the tap is the near end right after the echo canceller, or the input where there is none', () => {
  // Station 3 has no canceller: the tap is the input itself, with no delay.
  const x = speechLike(SR, 1, -26, 3).signal;
  const c3 = createChain(3, {}, { sampleRate: SR });
  assert.equal(c3.tapLatencySamples, 0);
  const tap3 = new Float32Array(x.length);
  c3.process(x.slice(), undefined, undefined, tap3);
  assert.deepEqual(tap3, x);
  // Station 1: the high-pass and the canceller (8 ms) come before it; the echo is gone there already.
  const c1 = createChain(1, { noise_suppression_db: 0 }, { sampleRate: SR });
  assert.equal(c1.tapLatencySamples, 128);
  const far = whiteNoise(SR, 4, dbToLin(-20), 5);
  const echo = new Float32Array(far.length);
  const d = Math.round(0.012 * SR);
  for (let i = d; i < far.length; i++) echo[i] = 0.316 * (far[i - d] as number);
  const tap1 = new Float32Array(echo.length);
  for (let i = 0; i < echo.length; i += 320) {
    c1.process(echo.slice(i, i + 320), far.subarray(i, i + 320), undefined, tap1.subarray(i, i + 320));
  }
  const erle = dbfs(echo, 2 * SR) - dbfs(tap1, 2 * SR);
  assert.ok(erle > 25, `echo at the tap ${erle.toFixed(1)} dB under the near end`);
  assert.throws(
    () => c1.process(new Float32Array(320), undefined, undefined, new Float32Array(10)),
    /tap frame/,
  );
});

test("chain: process writes into the caller's buffer, in place, or into one it reuses; all give the same audio", () => {
  const x = add(tone(SR, 1, 440, dbToLin(-20)), whiteNoise(SR, 1, dbToLin(-45), 5));
  const frame = 320;
  const a = createChain(3, { rnnoise_enabled: 1 }, { sampleRate: SR });
  const b = createChain(3, { rnnoise_enabled: 1 }, { sampleRate: SR });
  const c = createChain(3, { rnnoise_enabled: 1 }, { sampleRate: SR });
  const own = new Float32Array(frame);
  const inPlace = x.slice();
  let first: Float32Array | undefined;
  for (let i = 0; i < x.length; i += frame) {
    const ya = a.process(x.subarray(i, i + frame));
    first ??= ya;
    // The chain's own output buffer is reused: no allocation per frame.
    assert.equal(ya.buffer, first.buffer);
    assert.equal(b.process(x.subarray(i, i + frame), undefined, own), own);
    c.process(inPlace.subarray(i, i + frame), undefined, inPlace.subarray(i, i + frame));
    assert.deepEqual(own, ya);
    assert.deepEqual(inPlace.subarray(i, i + frame), ya);
  }
  assert.throws(() => a.process(new Float32Array(320), undefined, new Float32Array(160)), /output frame/);
});

test('chain: VAD marks syllables as speech and pauses as silence; a higher threshold marks fewer frames', (t) => {
  const seconds = 10;
  const { signal, active } = speechLike(SR, seconds, -26, 16);
  const x = add(signal, whiteNoise(SR, seconds, dbToLin(-50), 17));
  const frame = SR / 100;
  const run = (vad_threshold: number) => {
    const chain = createChain(4, { vad_threshold }, { sampleRate: SR });
    // The VAD runs last: it sees each frame as late as the blocks before it delay it (RNNoise's 22 ms).
    const late = Math.round(chain.latencySamples / frame);
    const speaking: boolean[] = [];
    for (let i = 0; i < x.length; i += frame) {
      chain.process(x.subarray(i, i + frame));
      speaking.push(chain.stats().vad?.speaking === true);
    }
    return { speaking: speaking.slice(late), activity: chain.stats().vad?.activity ?? Number.NaN };
  };
  // Frames fully inside a syllable, and frames at least 150 ms from any syllable.
  const margin = 15;
  const core: number[] = [];
  const pause: number[] = [];
  const frameActive = (f: number) => active[f * frame] === 1 && active[f * frame + frame - 1] === 1;
  const frameSilent = (f: number) => active.subarray(f * frame, (f + 1) * frame).every((v) => v === 0);
  for (let f = margin; f < x.length / frame - margin; f++) {
    if (frameActive(f)) core.push(f);
    let quiet = true;
    for (let g = f - margin; g <= f + margin && quiet; g++) quiet = frameSilent(g);
    if (quiet) pause.push(f);
  }
  const results = [0.2, 0.5, 0.9].map(run);
  const mid = results[1];
  assert.ok(mid);
  const hit = core.filter((f) => mid.speaking[f]).length / core.length;
  const falseAlarm = pause.filter((f) => mid.speaking[f]).length / pause.length;
  t.diagnostic(
    `threshold 0.5: ${(100 * hit).toFixed(1)}% of syllable frames speech, ${(100 * falseAlarm).toFixed(1)}% of pause frames; ` +
      `activity at 0.2/0.5/0.9: ${results.map((r) => r.activity.toFixed(3)).join(' / ')}`,
  );
  assert.ok(hit > 0.95);
  assert.ok(falseAlarm < 0.05);
  assert.ok((results[0]?.activity as number) >= mid.activity);
  assert.ok(mid.activity > (results[2]?.activity as number));
});

test('chain: stats expose what each running block is doing', () => {
  const chain = createChain(3, {}, { sampleRate: SR });
  stream(chain, speechLike(SR, 3, -40, 18).signal);
  const s = chain.stats();
  assert.equal(s.latencySamples, chain.latencySamples);
  assert.ok(s.agcGainDb !== undefined && s.agcGainDb > 5);
  assert.ok(s.compressorGainReductionDb !== undefined && s.compressorGainReductionDb >= 0);
  assert.ok(s.limiterGainReductionDb !== undefined && s.limiterGainReductionDb >= 0);
  assert.equal(typeof s.noiseGateOpen, 'boolean');
  assert.equal(s.echoErleDb, undefined);
  assert.ok(s.vad && s.vad.frames === 300);
});

test('chain: stations 1, 3 and 11 each let the loop choose RNNoise, the spectral suppressor, both or neither, hot and at a fixed latency', (t) => {
  // Issue 15: the suppressor choice and its strength are parameters like any other, per station. Each
  // choice is a valid parameter set, applies hot mid-call without changing the chain's delay, and the
  // batch optimizer's search space holds all three parameters (tunableSpace, optimizer/batch/learn.ts).
  const choices: Record<string, Record<string, number>> = {
    neither: { rnnoise_enabled: 0, noise_suppression_db: 0 },
    spectral: { rnnoise_enabled: 0, noise_suppression_db: 24 },
    rnnoise: { rnnoise_enabled: 1, rnnoise_attenuation_limit_db: 48, noise_suppression_db: 0 },
    both: { rnnoise_enabled: 1, rnnoise_attenuation_limit_db: 48, noise_suppression_db: 24 },
  };
  const x = whiteNoise(SR, 3, dbToLin(-30), 61);
  for (const station of [1, 3, 11]) {
    const space = tunableSpace(station, [], {}, { hasFarEnd: false });
    for (const name of ['rnnoise_enabled', 'rnnoise_attenuation_limit_db', 'noise_suppression_db'])
      assert.ok(
        space.specs.some((s) => s.name === name),
        `station ${station}: ${name} not in the batch search space`,
      );
    const removed: Record<string, number> = {};
    for (const [label, params] of Object.entries(choices)) {
      assert.deepEqual(validateParameterSet(station, params), { ok: true }, `station ${station} ${label}`);
      // Start at the defaults and switch mid-stream, as the online loop does.
      const chain = createChain(station, {}, { sampleRate: SR });
      const latency = chain.latencySamples;
      const first = stream(chain, x.subarray(0, SR));
      assert.ok(first.length === SR);
      const r = chain.setParams(params);
      assert.deepEqual(r.queued, [], `station ${station} ${label}: every suppressor parameter is hot`);
      assert.equal(chain.latencySamples, latency);
      const y = stream(chain, x.subarray(SR));
      removed[label] = dbfs(x, 2 * SR) - dbfs(y, SR);
    }
    t.diagnostic(`station ${station}: noise removed (dB) ${JSON.stringify(removed)}`);
    // Noise only: neither removes little (the AGC may even raise it), each suppressor and both far more.
    assert.ok((removed['neither'] as number) < 3, `station ${station}: ${JSON.stringify(removed)}`);
    for (const label of ['spectral', 'rnnoise', 'both'])
      assert.ok(
        (removed[label] as number) > (removed['neither'] as number) + 10,
        `station ${station} ${label}`,
      );
  }
});

test('chain: the hum canceller (stations 1, 3, 11) is hot, adds no delay, takes out the harmonics the high-pass leaves, and without hum changes nothing', (t) => {
  const seconds = 6;
  const speech = speechLike(SR, seconds, -26, 21).signal;
  // 50 Hz mains with harmonics to 250 Hz: the 60 Hz high-pass (the default) only dents the fundamental.
  const hum = add(...[0.02, 0.02, 0.015, 0.01, 0.01].map((a, k) => tone(SR, seconds, 50 * (k + 1), a, k)));
  const line = (y: Float32Array, hz: number) => {
    let re = 0;
    let im = 0;
    for (let i = 4 * SR; i < y.length; i++) {
      re += (y[i] as number) * Math.cos((2 * Math.PI * hz * i) / SR);
      im += (y[i] as number) * Math.sin((2 * Math.PI * hz * i) / SR);
    }
    return (2 * Math.hypot(re, im)) / (y.length - 4 * SR);
  };
  for (const station of [1, 3, 11]) {
    const run = (x: Float32Array, on: boolean) => {
      const chain = createChain(station, {}, { sampleRate: SR });
      const latency = chain.latencySamples;
      const first = stream(chain, x.subarray(0, SR));
      if (on) {
        assert.deepEqual(chain.setParams({ hum_canceller_enabled: 1 }), {
          applied: ['hum_canceller_enabled'],
          queued: [],
        });
      }
      assert.equal(chain.latencySamples, latency);
      const out = new Float32Array(x.length);
      out.set(first);
      out.set(stream(chain, x.subarray(SR)), SR);
      return out;
    };
    const x = add(speech, hum);
    const off = run(x, false);
    const on = run(x, true);
    const drops = [100, 150, 200, 250].map((hz) => 20 * Math.log10(line(on, hz) / line(off, hz)));
    t.diagnostic(
      `station ${station}: hum lines 100-250 Hz, on vs off: ${drops.map((d) => d.toFixed(1)).join(' / ')} dB`,
    );
    for (const d of drops) assert.ok(d <= -25, `station ${station}: a line only ${d.toFixed(1)} dB down`);
    const clean = add(speech, whiteNoise(SR, seconds, dbToLin(-50), 5));
    assert.deepEqual(
      run(clean, true),
      run(clean, false),
      `station ${station}: no hum, yet the output changed`,
    );
  }
});
