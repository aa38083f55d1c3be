// 1. DSP chain real-time factor at 16 kHz mono on one core (issue 3, goal >= 500x): every station's
// chain with catalog defaults, fed 20 ms frames as an agent feeds it; then the station's whole
// per-segment work (processSegment: chain + every metric) on 1 s segments. Baseline in the same run: the
// chain's framing (a copy per frame) with one biquad as the only work. Beside them, the declipper (off
// by default, so in no chain above) on station 3's speech driven 8 dB into a hard clip: its cost when
// the input needs it, every frame holding clipped samples restored.

import { clippedRatio, createChain, Declipper } from '../../audio/dsp/index.ts';
import { activeSpeechLevel } from '../../audio/metrics/index.ts';
import { defaultsForStation } from '../../catalog/index.ts';
import { createStationState, processSegment } from '../../stations/pipeline.ts';
import { SAMPLE_RATE, stationAudio } from '../lib/audio.ts';
import { biquadFrames } from '../lib/baselines.ts';
import { timeBatch } from '../lib/stats.ts';
import type { Bench, Figure } from '../lib/types.ts';

const FRAME = (SAMPLE_RATE * 20) / 1000;
const SEGMENT = SAMPLE_RATE;

export const dspBench: Bench = {
  name: 'dsp',
  title: 'DSP chain real-time factor, 16 kHz mono, one core',
  stack: false,
  async run(ctx) {
    const seconds = ctx.quick ? 5 : 10;
    const runs = ctx.quick ? 5 : 9;
    const minMs = ctx.quick ? 40 : 100;
    const audio = stationAudio(seconds);
    ctx.log(`dsp: ${audio.length} stations x ${seconds} s of ${audio[0]?.speechSource} speech, ${runs} runs`);

    const chainOnce = (id: number, x: Float32Array, far?: Float32Array) => {
      const chain = createChain(id, {}, { sampleRate: SAMPLE_RATE });
      let acc = 0;
      for (let i = 0; i + FRAME <= x.length; i += FRAME) {
        const y = chain.process(x.subarray(i, i + FRAME), far?.subarray(i, i + FRAME));
        acc += y[0]!;
      }
      return acc;
    };
    const segmentsOnce = (id: number, x: Float32Array, far?: Float32Array) => {
      const params = defaultsForStation(id);
      const state = createStationState(id, params, SAMPLE_RATE);
      for (let i = 0; i + SEGMENT <= x.length; i += SEGMENT) {
        processSegment(state, params, {
          stationId: id,
          sampleRate: SAMPLE_RATE,
          samples: x.subarray(i, i + SEGMENT),
          ...(far ? { farEnd: far.subarray(i, i + SEGMENT) } : {}),
        });
      }
    };
    // Warm-up: JIT, FFT plans, the VAD's wasm.
    for (const a of audio) {
      chainOnce(a.stationId, a.samples, a.farEnd);
      segmentsOnce(a.stationId, a.samples.subarray(0, 2 * SEGMENT), a.farEnd?.subarray(0, 2 * SEGMENT));
    }
    biquadFrames(audio[0]!.samples, SAMPLE_RATE, FRAME);
    const speech = audio.find((a) => a.stationId === 3) ?? audio[0]!;
    // Active level -7 dBov: the peaks, about 15 dB over it, go 8 dB past full scale (stations/sim/generate.ts).
    const lift = 10 ** ((-7 - activeSpeechLevel(speech.samples, SAMPLE_RATE).levelDbov) / 20);
    const clipped = speech.samples.map((v) => Math.max(-1, Math.min(1, v * lift)));
    const declipOnce = () => {
      const d = new Declipper(SAMPLE_RATE);
      const frame = new Float32Array(FRAME);
      let acc = 0;
      for (let i = 0; i + FRAME <= clipped.length; i += FRAME) {
        frame.set(clipped.subarray(i, i + FRAME));
        d.process(frame);
        acc += frame[0]!;
      }
      return acc;
    };
    declipOnce();

    const rtf = (msPerCall: number, audioSeconds: number) => (audioSeconds * 1000) / msPerCall;
    const chain = new Map<number, number[]>();
    const base: number[] = [];
    const pipeline: number[] = [];
    const declip: number[] = [];
    const blocks = new Map<number, readonly string[]>();
    for (const a of audio)
      blocks.set(a.stationId, createChain(a.stationId, {}, { sampleRate: SAMPLE_RATE }).blocks);
    for (let r = 0; r < runs; r++) {
      // Interleaved, so a noisy neighbour slows pipeline and baseline alike.
      const b = timeBatch(() => biquadFrames(audio[0]!.samples, SAMPLE_RATE, FRAME), minMs);
      base.push(rtf(b.msPerCall, seconds));
      for (const a of audio) {
        const t = timeBatch(() => chainOnce(a.stationId, a.samples, a.farEnd), minMs);
        const xs = chain.get(a.stationId) ?? [];
        xs.push(rtf(t.msPerCall, seconds));
        chain.set(a.stationId, xs);
      }
      const t0 = performance.now();
      for (const a of audio) segmentsOnce(a.stationId, a.samples, a.farEnd);
      pipeline.push(rtf((performance.now() - t0) / audio.length, seconds));
      declip.push(rtf(timeBatch(declipOnce, minMs).msPerCall, seconds));
    }

    const baseline = { name: 'copy + 1 biquad', samples: base };
    const figures: Figure[] = [];
    for (const a of audio) {
      figures.push({
        bench: 'dsp',
        name: `dsp chain st${a.stationId}${a.farEnd ? ' (+far end)' : ''}`,
        metric: 'x real time',
        higherIsBetter: true,
        samples: chain.get(a.stationId)!,
        baseline,
        goal: { kind: 'min', value: 500, on: 'value', text: '>= 500x' },
        note: `blocks: ${blocks.get(a.stationId)!.join(', ')}`,
      });
    }
    figures.push({
      bench: 'dsp',
      name: 'processSegment (chain + metrics), mean station',
      metric: 'x real time',
      higherIsBetter: true,
      samples: pipeline,
      baseline,
      note: '1 s segments, every station, network stations without packets',
    });
    figures.push({
      bench: 'dsp',
      name: 'declipper alone, clipped speech',
      metric: 'x real time',
      higherIsBetter: true,
      samples: declip,
      baseline,
      note: `station ${speech.stationId}'s speech 8 dB into the clip (${(100 * clippedRatio(clipped, SAMPLE_RATE)).toFixed(1)}% of samples on it); off by default, in no chain above`,
    });
    return {
      figures,
      details: { seconds_of_audio: seconds, frame_samples: FRAME, speech_source: audio[0]?.speechSource },
    };
  },
};
