// The PESQ/STOI sidecar against what the standards themselves fix, not against numbers it produced:
// identical signals reach the ceiling of the P.862.2 / P.862.1 mapping functions (raw PESQ 4.5), PESQ
// is blind to level and to a constant delay (its level and time alignment), and both measures fall as
// noise rises. The sidecar is installed by openQualityJudge when missing; if that fails, `before`
// fails and so does every test here (never a skip).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gaussianSource, mulberry32 } from '../../../audio/metrics/random.ts';
import { defaultsForStation } from '../../../catalog/index.ts';
import { callAudio, evaluateCall } from '../../../demo/offline.ts';
import { envWith } from '../../../lib/settings.ts';
import { openQualityJudge, type QualityJudge, UnscorablePairError } from '../../../quality/index.ts';
import { encodeRequest, FrameReader } from '../../../quality/protocol.ts';
import { simulateCall } from '../../../stations/sim/call.ts';
import { generateProfile } from '../../../stations/sim/generate.ts';
import { speechSource } from '../../../stations/sim/speech.ts';

// ITU-T P.862.2 (wideband) and P.862.1 (narrowband) map raw PESQ x to MOS-LQO as
// 0.999 + 4 / (1 + exp(a*x + b)); the raw score of a perfect copy is 4.5.
const mosLqo = (x: number, a: number, b: number) => 0.999 + 4 / (1 + Math.exp(a * x + b));
const WB_CEILING = mosLqo(4.5, -1.3669, 3.8224);
const NB_CEILING = mosLqo(4.5, -1.4945, 4.6607);

let judge: QualityJudge;
const speech16 = speechSource(11, { durationMs: 5000, sampleRate: 16000, log: () => {} }).samples;
const speech8 = speechSource(11, { durationMs: 5000, sampleRate: 8000, log: () => {} }).samples;

function withNoise(x: Float32Array, snrDb: number, seed: number): Float32Array {
  const g = gaussianSource(mulberry32(seed));
  let p = 0;
  for (const v of x) p += v * v;
  const sigma = Math.sqrt(p / x.length / 10 ** (snrDb / 10));
  return Float32Array.from(x, (v) => v + sigma * g());
}

/** `x` delayed by `k` samples (advanced for k < 0), the same length: zeros come in at the open end. */
function delayed(x: Float32Array, k: number): Float32Array {
  const y = new Float32Array(x.length);
  if (k >= 0) y.set(x.subarray(0, x.length - k), k);
  else y.set(x.subarray(-k), 0);
  return y;
}

before(async () => {
  judge = await openQualityJudge({ log: (line) => console.log(`# ${line}`) });
});

after(async () => {
  await judge?.close();
});

test('quality: identical speech reaches the P.862.2 ceiling at 16 kHz and the P.862.1 ceiling at 8 kHz', async () => {
  const [wb, nb] = await judge.scoreMany([
    { ref: speech16, deg: speech16, sampleRate: 16000 },
    { ref: speech8, deg: speech8, sampleRate: 8000 },
  ]);
  assert.ok(Math.abs(wb!.pesq - WB_CEILING) < 1e-3, `wideband ${wb!.pesq} vs ${WB_CEILING}`);
  assert.ok(Math.abs(nb!.pesq - NB_CEILING) < 1e-3, `narrowband ${nb!.pesq} vs ${NB_CEILING}`);
  assert.ok(wb!.stoi > 0.9999 && nb!.stoi > 0.9999, `STOI ${wb!.stoi}, ${nb!.stoi}`);
});

test('quality: PESQ ignores level and a constant delay (its level and time alignment)', async () => {
  const delay = 1600; // 100 ms at 16 kHz
  const delayed = new Float32Array(speech16.length + delay);
  delayed.set(speech16, delay);
  const quiet = Float32Array.from(speech16, (v) => v * 0.1);
  const [d, q] = await judge.scoreMany([
    { ref: speech16, deg: delayed, sampleRate: 16000 },
    { ref: speech16, deg: quiet, sampleRate: 16000 },
  ]);
  assert.ok(Math.abs(d!.pesq - WB_CEILING) < 1e-3, `delayed copy scored ${d!.pesq}`);
  assert.ok(Math.abs(q!.pesq - WB_CEILING) < 1e-3, `-20 dB copy scored ${q!.pesq}`);
});

// The judged pairs are cut out of running speech (the yardstick's scored seconds), often mid-word. The
// reference C code weighs such an edge heavily: before the judge faded both edges (sidecar.py EDGE_MS),
// these copies, delayed by a few samples as a filter delays them, scored as low as 4.0 wideband and 3.8
// narrowband while PESQ's own alignment should make them perfect.
test('quality: a copy of speech cut mid-word, delayed by 1-24 samples, still reaches the ceiling', async () => {
  const cut = (x: Float32Array, rate: number) => x.subarray(rate / 2, rate / 2 + 2 * rate);
  const delays = [1, 2, 3, 5, 8, 12, 16, 24];
  const pairs = [
    ...delays.map((k) => ({
      ref: cut(speech16, 16000),
      deg: delayed(cut(speech16, 16000), k),
      sampleRate: 16000 as const,
    })),
    ...delays.map((k) => ({
      ref: cut(speech8, 8000),
      deg: delayed(cut(speech8, 8000), k),
      sampleRate: 8000 as const,
    })),
  ];
  const scores = (await judge.scoreMany(pairs)).map((s) => s.pesq);
  const wb = scores.slice(0, delays.length);
  const nb = scores.slice(delays.length);
  assert.ok(
    Math.min(...wb) > WB_CEILING - 0.05,
    `wideband by delay ${delays.join(', ')}: ${wb.map((x) => x.toFixed(2))}`,
  );
  assert.ok(
    Math.min(...nb) > NB_CEILING - 0.05,
    `narrowband by delay ${delays.join(', ')}: ${nb.map((x) => x.toFixed(2))}`,
  );
});

// PESQ's time alignment is not smooth in the delay on poor signals (sidecar.py DELAYS). Station 10 of
// eval profile gen-9-16 at its defaults (8 kHz, 18% loss in bursts, 128 ms of jitter against a 60 ms
// buffer) read 1.72 as given and 1.36-1.83 with the output half a millisecond either way; the same
// station with a 300 ms buffer reads the same at every delay.
test('quality: where PESQ moves with a delay of a few samples, the judge reads the median over those delays', async () => {
  const call = simulateCall({ impairments: generateProfile(9, 16), callIndex: 0, seed: 9, segments: 8 });
  const audio = callAudio(
    call.segments.map((s) => s.inputs.get(10)!),
    5,
  );
  const output = (set: Record<string, number>) => {
    const a = evaluateCall(10, { ...defaultsForStation(10), ...set }, audio, { keepAudio: true }).audio!;
    return { ref: a.ref, deg: a.deg, sampleRate: 8000 as const };
  };
  const shaky = output({});
  const steady = output({ jitter_buffer_ms: 300 });
  const delays = [-4, -2, 0, 2, 4];
  const [a, b, ...each] = await judge.scoreMany([
    shaky,
    steady,
    ...delays.map((k) => ({ ...shaky, deg: delayed(shaky.deg, k) })),
  ]);
  const readings = each.map((q) => q.pesqPlain);
  const sorted = [...readings].sort((x, y) => x - y);
  const told = `readings at delays ${delays.join(', ')}: ${readings.map((x) => x.toFixed(3))}`;
  // The pair really moves with the delay, so the median is what decides.
  assert.ok(sorted[4]! - sorted[0]! > 0.2, told);
  assert.equal(a!.pesqPlain, readings[2], told);
  assert.ok(Math.abs(a!.pesq - sorted[2]!) < 1e-9, `judged ${a!.pesq}; ${told}`);
  assert.ok(Math.abs(a!.pesq - a!.pesqPlain) > 0.1, `judged ${a!.pesq} as given ${a!.pesqPlain}`);
  // Where the delayed probe agrees, the reading as given stands.
  assert.equal(b!.pesq, b!.pesqPlain);
});

// Wideband PESQ bottoms out near 1.0 by 15 dB of white noise over this 4 kHz-limited speech (the noise
// fills the empty 4-8 kHz band), so the full ladder is judged narrowband and wideband only at its top.
test('quality: PESQ and STOI fall as white noise rises (30, 15, 5, -5 dB SNR)', async () => {
  const snrs = [30, 15, 5, -5];
  const scores = await judge.scoreMany(
    snrs.map((snr, i) => ({
      ref: speech8,
      deg: withNoise(speech8, snr, 100 + i),
      sampleRate: 8000 as const,
    })),
  );
  for (let i = 1; i < scores.length; i++) {
    assert.ok(scores[i]!.pesq < scores[i - 1]!.pesq, `PESQ at ${snrs[i]} dB: ${JSON.stringify(scores)}`);
    assert.ok(scores[i]!.stoi < scores[i - 1]!.stoi, `STOI at ${snrs[i]} dB: ${JSON.stringify(scores)}`);
  }
  assert.ok(scores[0]!.pesq > 2.5 && scores[3]!.pesq < 1.5, JSON.stringify(scores));
  assert.ok(scores[0]!.stoi > 0.9 && scores[3]!.stoi < 0.7, JSON.stringify(scores));
  const [wb30, wb15] = await judge.scoreMany(
    [30, 15].map((snr) => ({
      ref: speech16,
      deg: withNoise(speech16, snr, snr),
      sampleRate: 16000 as const,
    })),
  );
  assert.ok(wb30!.pesq > wb15!.pesq + 0.3 && wb30!.stoi > wb15!.stoi, `${JSON.stringify([wb30, wb15])}`);
});

test('quality: a pair without speech is a typed error naming it; the others keep their scores and the sidecar serves on', async () => {
  const silence = new Float32Array(16000 * 2);
  const err = await judge
    .scoreMany([
      { ref: speech16, deg: speech16, sampleRate: 16000 },
      { ref: silence, deg: silence, sampleRate: 16000 },
    ])
    .then(
      () => assert.fail('silence was scored'),
      (e: unknown) => e,
    );
  assert.ok(err instanceof UnscorablePairError, String(err));
  assert.equal(err.index, 1);
  assert.equal(err.code, 'UNSCORABLE');
  assert.match(err.message, /pair 1: NoUtterancesError/);
  assert.ok(err.partial[0] !== null && err.partial[1] === null);
  const again = await judge.score(speech8, speech8, 8000);
  assert.ok(Math.abs(again.pesq - NB_CEILING) < 1e-3);
});

test('quality: non-finite samples and a wrong rate are refused before the sidecar sees them', async () => {
  const bad = Float32Array.from(speech8);
  bad[42] = Number.NaN;
  await assert.rejects(judge.score(speech8, bad, 8000), /pair 0: not-finite: deg\[42\] is NaN/);
  await assert.rejects(
    judge.score(speech8, speech8, 44100 as unknown as 8000),
    /pair 0: bad-rate: sample rate 44100/,
  );
});

test('quality: frames split anywhere are reassembled; a request carries its samples after the header', () => {
  const a = Buffer.from(JSON.stringify({ id: 1, results: [{ pesq: 1, stoi: 0.5 }] }));
  const b = Buffer.from(JSON.stringify({ id: 2, results: [] }));
  const wire = Buffer.alloc(8 + a.length + b.length);
  wire.writeUInt32LE(a.length, 0);
  a.copy(wire, 4);
  wire.writeUInt32LE(b.length, 4 + a.length);
  b.copy(wire, 8 + a.length);
  const reader = new FrameReader();
  const got = [
    ...reader.push(wire.subarray(0, 3)),
    ...reader.push(wire.subarray(3, 20)),
    ...reader.push(wire.subarray(20)),
  ];
  assert.deepEqual(
    got.map((f) => f.id),
    [1, 2],
  );
  const req = Buffer.concat(
    encodeRequest(9, [{ ref: new Float32Array([0.5]), deg: new Float32Array([-0.25, 1]), sampleRate: 8000 }]),
  );
  const n = req.readUInt32LE(0);
  assert.deepEqual(JSON.parse(req.toString('utf8', 4, 4 + n)), {
    id: 9,
    pairs: [{ rate: 8000, ref: 1, deg: 2 }],
  });
  assert.deepEqual(
    [req.readFloatLE(4 + n), req.readFloatLE(8 + n), req.readFloatLE(12 + n)],
    [0.5, -0.25, 1],
  );
});

test('quality: without python3 the judge fails with one clear line instead of hanging or skipping', () => {
  const root = join(import.meta.dirname, '..', '..', '..');
  const res = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      "import('./quality/index.ts').then(m => m.openQualityJudge({ log: () => {} })).then(() => process.exit(0), (e) => { console.error(e.code + ' ' + e.message); process.exit(3); })",
    ],
    { cwd: root, env: envWith({ PATH: '/nonexistent' }), encoding: 'utf8' },
  );
  assert.equal(res.status, 3, res.stderr);
  assert.match(res.stderr, /SIDECAR PESQ\/STOI sidecar: python3 not found/);
});
