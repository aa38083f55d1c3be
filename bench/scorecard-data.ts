// Dataset for fitting the scorecard against the listener (issue 10, point 3): generated profiles x
// parameter sets (the catalog defaults, random sets from the catalog's ranges, and a few sets that game
// the blind metrics), each run on one call's audio the way the yardstick runs it (fresh chain, warm-up
// segments unscored), with every blind measurement the station has (its snapshot's metrics and score
// components, its input's metrics, the speech-band change between input and output) beside the
// PESQ/STOI of the output against the clean speech. One JSON line per (profile, station, set).
//
//   tsx bench/scorecard-data.ts --seed S --profiles N --random-sets K --out FILE.jsonl
//
// A benchmark tool, not a test: it asserts nothing.
import { appendFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { measureAudio } from '../audio/metrics/index.ts';
import { speechBandChange } from '../audio/metrics/speechband.ts';
import { defaultsForStation, parametersForStation, stationById } from '../catalog/index.ts';
import { alignScored, callAudio } from '../demo/offline.ts';
import { scoreAll } from '../demo/yardstick.ts';
import { buildSnapshot } from '../domain/snapshot.ts';
import { scoreSnapshot } from '../optimizer/core/index.ts';
import { openQualityJudge } from '../quality/index.ts';
import { createStationState, processSegment } from '../stations/pipeline.ts';
import { generateProfile } from '../stations/sim/generate.ts';
import { rngFor, simulateCall } from '../stations/sim/index.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '101' },
    profiles: { type: 'string', default: '4' },
    'random-sets': { type: 'string', default: '6' },
    segments: { type: 'string', default: '5' },
    out: { type: 'string' },
  },
});
if (!values.out) throw new Error('--out FILE is required');
const seed = Number(values.seed);
const profiles = Number(values.profiles);
const randomSets = Number(values['random-sets']);
const segments = Number(values.segments);

type Params = Record<string, number>;

function gamingSets(stationId: number): Params[] {
  const names = new Set(parametersForStation(stationId).map((p) => p.name));
  const d = defaultsForStation(stationId);
  const out: Params[] = [];
  const add = (over: Params) => {
    const keep = Object.entries(over).filter(([k]) => names.has(k));
    if (keep.length) out.push({ ...d, ...Object.fromEntries(keep) });
  };
  add({ highpass_cutoff_hz: 280 });
  add({ noise_suppression_db: 30 });
  add({ noise_gate_threshold_dbfs: -35 });
  add({ rnnoise_enabled: 1 });
  add({ input_gain_db: 18 });
  add({ compressor_threshold_dbfs: -38, compressor_ratio: 8 });
  add({ jitter_buffer_ms: 20 });
  add({ agc_target_dbfs: -12, agc_max_gain_db: 40 });
  return out;
}

function randomSet(stationId: number, rng: () => number): Params {
  const out: Params = {};
  for (const p of parametersForStation(stationId)) out[p.name] = p.min + (p.max - p.min) * rng();
  return out;
}

writeFileSync(values.out, '');
const judge = await openQualityJudge();
const lines: string[] = [];
const t0 = Date.now();
try {
  for (let i = 0; i < profiles; i++) {
    const set = generateProfile(seed, i);
    const call = simulateCall({ impairments: set, callIndex: 0, seed, segments });
    for (const st of set.stations) {
      const s = st.stationId;
      const inputs = call.segments.map((seg) => seg.inputs.get(s)!);
      const audio = callAudio(inputs, 2);
      const rng = rngFor('scorecard-data', seed, set.name, s);
      const sets: { kind: string; params: Params }[] = [
        { kind: 'defaults', params: defaultsForStation(s) },
        ...gamingSets(s).map((p) => ({ kind: 'gaming', params: p })),
        ...Array.from({ length: randomSets }, () => ({ kind: 'random', params: randomSet(s, rng) })),
      ];
      const network = stationById(s)!.network;
      const rows: Record<string, unknown>[] = [];
      const pairs: { ref: Float32Array; deg: Float32Array; sampleRate: 8000 | 16000 }[] = [];
      for (const { kind, params } of sets) {
        const first = audio.warmup[0] ?? audio.scored[0]!;
        const sr = first.sampleRate;
        const state = createStationState(s, params, sr);
        for (const input of audio.warmup) processSegment(state, params, input);
        const segs: Record<string, unknown>[] = [];
        const outs: Float32Array[] = [];
        const lat = state.chain.latencySamples;
        for (const input of audio.scored) {
          const { metrics, output } = processSegment(state, params, input);
          outs.push(output);
          const snap = buildSnapshot({
            tenant_id: 'offline',
            call_id: 'offline',
            channel: stationById(s)!.leg === 'B' ? 'B' : 'A',
            segment: { index: 0, start_ms: 0, end_ms: 1000, utterance_id: null },
            station_id: s,
            metrics,
          });
          const sc = scoreSnapshot(snap, state.params());
          const band = network ? null : speechBandChange(input.samples, output, sr, lat);
          segs.push({
            score: sc.score,
            components: Object.fromEntries(sc.components.map((c) => [c.name, { v: c.value, s: c.score }])),
            audio: metrics.audio,
            network: metrics.network,
            input: network ? null : measureAudio(input.samples, sr),
            band,
          });
        }
        const al = alignScored(audio, outs, lat, sr);
        pairs.push({ ref: al.ref, deg: al.deg, sampleRate: sr as 8000 | 16000 });
        rows.push({ seed, profile: set.name, station: s, rate: sr, kind, params, segs });
      }
      const scores = await scoreAll(judge, pairs);
      const batch = rows.map((r, k) =>
        JSON.stringify({ ...r, pesq: scores[k]?.pesq ?? null, stoi: scores[k]?.stoi ?? null }),
      );
      appendFileSync(values.out, `${batch.join('\n')}\n`);
      lines.push(...batch);
      process.stderr.write(
        `${set.name} station ${s}: ${rows.length} sets, ${Math.round((Date.now() - t0) / 1000)} s\n`,
      );
    }
  }
} finally {
  await judge.close();
}
process.stderr.write(`${lines.length} rows -> ${values.out} in ${Math.round((Date.now() - t0) / 1000)} s\n`);
