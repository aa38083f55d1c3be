// The echo canceller's single-talk detector (audio/dsp/echoTalk.ts): a Geigel detector whose ratio follows
// the echo's measured strength, and the canceller on a weak echo under a talker quieter than the far end.
// Pure: no I/O.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EchoCanceller } from '../../../audio/dsp/echoCanceller.ts';
import { GEIGEL_RATIO, SingleTalk } from '../../../audio/dsp/echoTalk.ts';
import { ResidualEcho } from '../../../audio/metrics/residualEcho.ts';
import { generateProfile } from '../../../stations/sim/generate.ts';
import { simulateCall } from '../../../stations/sim/index.ts';

/** A detector that has seen `blocks` blocks of these mean squares, the far end's peak 1 in every slot. */
function primed(
  far: number,
  input: number,
  output: number,
  subtracted: number,
  micPeak: number,
  blocks = 2000,
) {
  const d = new SingleTalk(9, 8000, 64);
  for (let i = 0; i < blocks; i++) {
    d.farPeak(i, 1);
    d.powers(far, input, output, subtracted, micPeak);
  }
  return d;
}

test("single talk: the ratio starts at G.168's 0.5 and follows the echo path's gain a reading gives", () => {
  // Far end 0.01, input 0.001 (mean squares): an echo that is 1% of the input is 1e-5, a path gain of
  // 0.0316 (-30 dB); twice that is under the least ratio (0.1).
  const d = primed(0.01, 0.001, 0.001, 0, 0.01);
  assert.equal(d.ratio, GEIGEL_RATIO);
  assert.ok(d.single(0.3), 'a near-end peak at 0.3 of the far end passes for single talk at 0.5');
  d.reading({ residualDb: -20, delayMs: 40 }, 'input');
  assert.ok(Math.abs(d.ratio - 0.1) < 1e-9, `${d.ratio}`);
  assert.equal(d.single(0.3), false, 'the same peak is double talk once the echo reads 30 dB down');
  // A stronger echo: 50% of the input is a path gain of 0.22, the ratio 0.45; never over 0.5.
  d.reading({ residualDb: -3, delayMs: 40 }, 'input');
  assert.ok(Math.abs(d.ratio - 2 * Math.sqrt((0.5 * 0.001) / 0.01)) < 1e-3, `${d.ratio}`);
  d.reading({ residualDb: 0, delayMs: 40 }, 'output');
  assert.equal(d.ratio, GEIGEL_RATIO);
  // A reading that found no echo leaves the ratio where it was.
  d.reading({ residualDb: -20, delayMs: 40 }, 'input');
  d.reading({ residualDb: -40, delayMs: null }, 'input');
  assert.ok(Math.abs(d.ratio - 0.1) < 1e-9, `${d.ratio}`);
});

test('single talk: a reading of the output counts back the echo the canceller takes out', () => {
  // The output holds 1% echo of 0.001, the canceller subtracts an estimate of 1e-4: the path carries
  // 1.1e-4 of the far end's 0.01, a gain of 0.105, the ratio 0.21 (the output's residual alone: 0.1).
  const d = primed(0.01, 0.0011, 0.001, 1e-4, 0.01);
  d.reading({ residualDb: -20, delayMs: 40 }, 'output');
  assert.ok(Math.abs(d.ratio - 2 * Math.sqrt(1.1e-4 / 0.01)) < 1e-3, `${d.ratio}`);
});

test("single talk: a lowered ratio stays over twice the near end's quietest block peaks (line noise)", () => {
  // Near-end block peaks never under 0.15 of the far end's: a block at 0.25 is line noise, not a talker.
  const d = primed(0.01, 0.001, 0.001, 0, 0.15);
  d.reading({ residualDb: -20, delayMs: 40 }, 'input');
  assert.ok(Math.abs(d.ratio - 0.1) < 1e-9);
  assert.ok(d.single(0.25), 'under twice the floor: single talk');
  assert.equal(d.single(0.35), false, 'over twice the floor: double talk');
  // The floor never lifts the threshold over G.168's 0.5.
  const loud = primed(0.01, 0.001, 0.001, 0, 0.4);
  loud.reading({ residualDb: -20, delayMs: 40 }, 'input');
  assert.equal(loud.single(0.6), false);
});

test('echo canceller: a weak echo under a talker quieter than the far end is cancelled (the ratio follows the echo)', (t) => {
  // Generated profile gen-6-3, station 1: the far end at -18.5 dBov, an echo 30 dB down at 125 ms (28 ms
  // of dispersion), the talker at -28 dBov with short pauses. At 0.5 the detector passes the talker for
  // single talk. As in a station (stations/pipeline.ts), the residual-echo metric reads the output once a
  // second and the canceller is given the reading; its window is placed at the echo from the start.
  const set = generateProfile(6, 3);
  const call = simulateCall({ impairments: set, callIndex: 0, seed: 6, segments: 8 });
  const inputs = call.segments.map((g) => g.inputs.get(1)!);
  const sr = inputs[0]!.sampleRate;
  const run = (ratioFromReadings: boolean) => {
    const ec = new EchoCanceller(sr, { tailMs: 64, findDelay: false, ratioFromReadings });
    ec.observeEcho({ residualDb: -15, delayMs: 134 });
    assert.equal(ec.windowStartMs, 112);
    const meter = new ResidualEcho(sr);
    let echo = 0;
    let left = 0;
    let lastFar = new Float32Array(ec.latency);
    for (const [s, input] of inputs.entries()) {
      const out = input.samples.slice();
      const far = input.farEnd!;
      for (let i = 0; i < out.length; i += 160)
        ec.process(out.subarray(i, i + 160), far.subarray(i, i + 160));
      // The output trails the far end by the canceller's block: the far end lined up with it.
      const lined = new Float32Array(far.length);
      lined.set(lastFar);
      lined.set(far.subarray(0, far.length - ec.latency), ec.latency);
      lastFar = far.slice(far.length - ec.latency);
      meter.push(lined, out);
      ec.observeEcho(meter.read());
      if (s < 4) continue;
      const clean = input.clean!;
      for (let i = 0; i + ec.latency < out.length; i++) {
        echo += ((input.samples[i] as number) - (clean[i] as number)) ** 2;
        left += ((out[i + ec.latency] as number) - (clean[i] as number)) ** 2;
      }
    }
    return { removed: 10 * Math.log10(echo / left), ratio: ec.singleTalkRatio };
  };
  const follows = run(true);
  const held = run(false);
  t.diagnostic(
    `seconds 5-8 remove ${follows.removed.toFixed(1)} dB of the echo, the ratio ending at ${follows.ratio.toFixed(2)}; held at ${held.ratio} (the readings not taken, as behind a jitter buffer): ${held.removed.toFixed(1)} dB`,
  );
  assert.equal(held.ratio, 0.5);
  assert.ok(follows.ratio < 0.2, `${follows.ratio}`);
  assert.ok(follows.removed >= 12, `${follows.removed} dB of the echo removed`);
  assert.ok(follows.removed >= held.removed + 3, `${follows.removed} dB against ${held.removed} dB`);
});
