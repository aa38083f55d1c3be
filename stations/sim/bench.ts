// Quick measurement script for the simulator and the station pipeline (not a test: no assertions).
//
//   npx tsx stations/sim/bench.ts                 timings of one 1 s segment, all stations
//   npx tsx stations/sim/bench.ts --table         + what each station reads, catalog defaults vs hand-tuned
//   npx tsx stations/sim/bench.ts --profile harsh the same on another bundled profile
import { defaultsForStation } from '../../catalog/index.ts';
import type { Metrics } from '../../contracts/generated.ts';
import { createStationState, processBufferOnce, processSegment } from '../pipeline.ts';
import { simulateCall } from './call.ts';
import { bundledImpairmentsPath, loadImpairments } from './impairments.ts';

/** Parameters tuned by hand against the default profile's problems (see stations/impairments/README.md). */
export const HAND_TUNED: Readonly<Record<number, Record<string, number>>> = {
  1: { echo_canceller_tail_ms: 128, highpass_cutoff_hz: 120, noise_suppression_db: 6 },
  2: { jitter_buffer_ms: 160 },
  3: { highpass_cutoff_hz: 120 },
  4: { input_gain_db: 18 },
  9: { input_gain_db: -16 },
  10: { jitter_buffer_ms: 140 },
  11: { noise_suppression_db: 24 },
};

const args = process.argv.slice(2);
const profileArg = args[args.indexOf('--profile') + 1];
const profile = args.includes('--profile') && profileArg !== undefined ? profileArg : 'default';
if (!['default', 'mild', 'harsh'].includes(profile)) throw new Error(`unknown profile ${profile}`);
const set = loadImpairments(bundledImpairmentsPath(profile as 'default' | 'mild' | 'harsh'));

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return `mean ${mean.toFixed(1)} ms, p50 ${(s[Math.floor(s.length / 2)] as number).toFixed(1)} ms, max ${(s.at(-1) as number).toFixed(1)} ms`;
};

// Warm-up: prompt decoding, FFT plans, the VAD's wasm, JIT.
simulateCall({ impairments: set, callIndex: 999, seed: 1, segments: 2 });
const runs = 10;
const simMs: number[] = [];
const totalMs: number[] = [];
const perStation = new Map<number, number[]>();
const perStationOnce = new Map<number, number[]>();
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  const call = simulateCall({ impairments: set, callIndex: i, seed: 1, segments: 1 });
  const t1 = performance.now();
  simMs.push(t1 - t0);
  const seg = call.segments[0];
  if (seg === undefined) throw new Error('no segment');
  for (const [id, input] of seg.inputs) {
    const params = defaultsForStation(id);
    const a = performance.now();
    const state = createStationState(id, params, input.sampleRate);
    processSegment(state, params, input);
    const b = performance.now();
    processBufferOnce(id, params, input);
    const c = performance.now();
    (perStation.get(id) ?? perStation.set(id, []).get(id))?.push(b - a);
    (perStationOnce.get(id) ?? perStationOnce.set(id, []).get(id))?.push(c - b);
  }
  totalMs.push(simMs.at(-1)! + [...perStation.values()].reduce((s, xs) => s + (xs.at(-1) ?? 0), 0));
}
console.log(`profile ${set.name}: one 1 s segment, ${runs} calls`);
console.log(`  simulate (all ${set.stations.length} stations)   ${stats(simMs)}`);
for (const [id, xs] of perStation) {
  console.log(
    `  station ${String(id).padEnd(2)} processSegment ${stats(xs)} | processBufferOnce ${stats(perStationOnce.get(id) ?? [])}`,
  );
}
console.log(`  simulate + process all stations ${stats(totalMs)}`);

if (args.includes('--table')) {
  const calls = [0, 1, 2].map((c) => simulateCall({ impairments: set, callIndex: c, seed: 1, segments: 6 }));
  const summarize = (id: number, params: Record<string, number>): string => {
    const rows: Metrics[] = [];
    const firsts: Metrics[] = [];
    for (const call of calls) {
      const first = call.segments[0]?.inputs.get(id);
      if (first === undefined) continue;
      const state = createStationState(id, params, first.sampleRate);
      // Segment 0 is the call's warm-up; it is processed but not counted.
      call.segments.forEach((s, k) => {
        const m = processSegment(state, params, s.inputs.get(id)!).metrics;
        (k > 0 ? rows : firsts).push(m);
      });
    }
    const avg = (f: (m: Metrics) => number | null | undefined, of = rows) => {
      const xs = of.map(f).filter((x): x is number => typeof x === 'number');
      return xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    const parts = [
      `ref ${avg((m) => m.reference_seg_snr_db)?.toFixed(1)} dB`,
      `level ${avg((m) => m.audio.active_speech_level_dbov)?.toFixed(1)} dBov`,
      `snr ${avg((m) => m.audio.snr_db)?.toFixed(1)} dB`,
      `hum ${avg((m) => m.audio.hum_ratio)?.toFixed(3)}`,
    ];
    const opt = (name: string, v: number | undefined, digits: number, unit = '') => {
      if (v !== undefined) parts.push(`${name} ${v.toFixed(digits)}${unit}`);
    };
    opt(
      'loss',
      avg((m) => m.network?.packet_loss_ratio),
      3,
    );
    opt(
      'jitter',
      avg((m) => m.network?.jitter_ms),
      1,
      ' ms',
    );
    opt(
      'latency',
      avg((m) => m.network?.latency_ms),
      0,
      ' ms',
    );
    opt(
      'R',
      avg((m) => m.network?.r_factor),
      1,
    );
    opt(
      'stt',
      avg((m) => m.stt_confidence),
      3,
    );
    opt(
      'tts',
      avg((m) => m.tts_latency_ms),
      0,
      ' ms',
    );
    opt(
      'emotion',
      avg((m) => m.emotion_confidence),
      3,
    );
    const ref0 = avg((m) => m.reference_seg_snr_db, firsts)?.toFixed(1);
    const level0 = avg((m) => m.audio.active_speech_level_dbov, firsts)?.toFixed(1);
    return `${parts.join(', ')} | segment 0: ref ${ref0} dB, level ${level0} dBov`;
  };
  console.log(`\nprofile ${set.name}: mean of segments 1-5 of 3 calls (seed 1)`);
  for (const p of set.stations) {
    const defaults = defaultsForStation(p.stationId);
    console.log(`station ${p.stationId}`);
    console.log(`  defaults   ${summarize(p.stationId, defaults)}`);
    const tuned = HAND_TUNED[p.stationId];
    if (tuned !== undefined) {
      console.log(
        `  tuned      ${summarize(p.stationId, { ...defaults, ...tuned })}   <- ${JSON.stringify(tuned)}`,
      );
    }
  }
}
