// Noise-suppression anchor (`npm run bench:suppression [-- --items N] [--rows NAME] [--spectral DB] [--sweep STEP]
// [--json OUT]`): the table of
// issue 15 on the project's own material, scored by the reference PESQ-WB (P.862.2) and STOI through the
// quality sidecar. Items: N x 6 s of Asterisk prompts at 16 kHz (the simulator's caller voice, natural
// pauses), each mixed with white, pink and babble noise at 0, 5, 10 and 15 dB SNR (P.56 active speech
// level over noise RMS). Every output is time-aligned (each block's stated delay cut off) before scoring.
// Cost is seconds of audio per second of one core, timed around the processing only.
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { processBuffer } from '../audio/dsp/chain.ts';
import { NoiseSuppressor } from '../audio/dsp/noiseSuppressor.ts';
import { RnnoiseSuppressor } from '../audio/dsp/rnnoise.ts';
import type { AudioBlock } from '../audio/dsp/types.ts';
import { activeSpeechLevel } from '../audio/metrics/index.ts';
import { type ParameterSpec, parameterByName } from '../catalog/index.ts';
import { callAudio, evaluateCall } from '../demo/offline.ts';
import { ArgError, parseFlags } from '../lib/cli.ts';
import { searchBest } from '../optimizer/core/index.ts';
import { openQualityJudge, type QualityScores } from '../quality/index.ts';
import type { StationInput } from '../stations/pipeline.ts';
import { babbleNoise, pinkNoise, whiteNoise } from '../stations/sim/noise.ts';
import { rngFor } from '../stations/sim/random.ts';
import { speechSource } from '../stations/sim/speech.ts';

const SR = 16000;
const ITEM_MS = 6000;
const KINDS = ['white', 'pink', 'babble'] as const;
const SNRS = [0, 5, 10, 15] as const;
// A sine's RMS level is 3 dB under its dBov level (P.56 dBov: full-scale square wave = 0).
const DBOV_TO_RMS_DB = -3.0103;

type Process = (x: Float32Array) => Float32Array;

function block(make: () => AudioBlock): Process {
  return (x) => {
    const b = make();
    const buf = new Float32Array(x.length + b.latency);
    buf.set(x);
    for (let i = 0; i < buf.length; i += 320) b.process(buf.subarray(i, Math.min(buf.length, i + 320)));
    return buf.slice(b.latency);
  };
}

const rnnoise = (limit: number) => () =>
  new RnnoiseSuppressor(SR, { enabled: true, attenuationLimitDb: limit });
const spectral = (db: number) => () => new NoiseSuppressor(SR, { suppressionDb: db });
const chain =
  (station: number, params: Record<string, number>): Process =>
  (x) =>
    processBuffer(station, params, x, SR);

// The loop's choice: per condition (one call's audio), the offline search (optimizer/core searchBest) over
// the suppressor choice and strength, each candidate scored by the live scorecard on a counterfactual
// replay of the noisy audio through station 3's chain (demo/offline.ts evaluateCall: 1 s segments, the
// first three unscored warm-up, the chain's state carried across them, as a call runs). Blind: the clean
// speech is never given to it; PESQ and STOI are computed only afterwards, on the chosen set's output.
// RNNoise's switch is a two-valued choice a compass step of a quarter of its range never flips, so the
// search runs once with it off (over the spectral strength) and once with it on (over its limit and the
// spectral strength), and the better score wins: RNNoise, the spectral suppressor, both, or neither.
const LOOP_STATION = 3;
const LOOP_BUDGET = 10;
const loopChoices: Record<string, number>[] = [];
let loopSearchMs = 0;

function loopChoice(x: Float32Array): Float32Array {
  const t0 = process.cpuUsage();
  const inputs: StationInput[] = [];
  for (let at = 0; at + SR <= x.length; at += SR)
    inputs.push({ stationId: LOOP_STATION, sampleRate: SR, samples: x.subarray(at, at + SR) });
  const audio = callAudio(inputs, inputs.length - 3);
  const spec = (n: string) => parameterByName(n) as ParameterSpec;
  let best: { params: Record<string, number>; score: number } | undefined;
  for (const on of [0, 1]) {
    const names = on ? ['rnnoise_attenuation_limit_db', 'noise_suppression_db'] : ['noise_suppression_db'];
    const r = searchBest(
      (p) => evaluateCall(LOOP_STATION, { ...p, rnnoise_enabled: on }, audio).score,
      names.map(spec),
      { budget: LOOP_BUDGET, restarts: 0, seed: 1 },
    );
    if (best === undefined || r.score > best.score)
      best = { params: { ...r.params, rnnoise_enabled: on }, score: r.score };
  }
  const chosen = (best as { params: Record<string, number> }).params;
  loopChoices.push(chosen);
  const d = process.cpuUsage(t0);
  loopSearchMs += (d.user + d.system) / 1000;
  return processBuffer(LOOP_STATION, chosen, x, SR);
}

const VARIANTS: Record<string, Process> = {
  'noisy input': (x) => x,
  'spectral suppressor alone, 12 dB (default)': block(spectral(12)),
  'spectral suppressor alone, 30 dB': block(spectral(30)),
  'RNNoise alone, static (limit 60 dB)': block(rnnoise(60)),
  'RNNoise alone, limit 30 dB (default)': block(rnnoise(30)),
  'station 3 chain, catalog defaults': chain(3, {}),
  'station 3 chain, strongest spectral (30 dB, high-pass 150 Hz)': chain(3, {
    noise_suppression_db: 30,
    highpass_cutoff_hz: 150,
  }),
  'station 3 chain, RNNoise static (limit 60 dB), spectral off': chain(3, {
    rnnoise_enabled: 1,
    rnnoise_attenuation_limit_db: 60,
    noise_suppression_db: 0,
  }),
  "station 3 chain, the loop's choice per condition (scorecard + search, blind)": loopChoice,
  'station 1 chain (no far end), catalog defaults': chain(1, {}),
  'station 1 chain, RNNoise on (limit 30 dB) + spectral 12 dB': chain(1, { rnnoise_enabled: 1 }),
  'station 1 chain, RNNoise on (limit 60 dB), spectral off': chain(1, {
    rnnoise_enabled: 1,
    rnnoise_attenuation_limit_db: 60,
    noise_suppression_db: 0,
  }),
};

interface Condition {
  item: number;
  kind: (typeof KINDS)[number];
  snr: number;
  clean: Float32Array;
  noisy: Float32Array;
}

function conditions(items: number): Condition[] {
  const out: Condition[] = [];
  for (let item = 0; item < items; item++) {
    const clean = speechSource(1000 + item, { durationMs: ITEM_MS, sampleRate: SR, voice: 'caller' }).samples;
    const level = activeSpeechLevel(clean, SR).levelDbov + DBOV_TO_RMS_DB;
    for (const kind of KINDS) {
      const rng = rngFor('suppression-bench', kind, item);
      const n = clean.length;
      const raw =
        kind === 'white' ? whiteNoise(n, rng) : kind === 'pink' ? pinkNoise(n, rng) : babbleNoise(n, SR, rng);
      let ms = 0;
      for (const v of raw) ms += v * v;
      ms /= n;
      for (const snr of SNRS) {
        const g = Math.sqrt(10 ** ((level - snr) / 10) / ms);
        out.push({
          item,
          kind,
          snr,
          clean,
          noisy: Float32Array.from(clean, (v, i) => v + g * (raw[i] as number)),
        });
      }
    }
  }
  return out;
}

interface Row {
  output: string;
  pesq: number;
  stoi: number;
  /** Half-width of the 95% interval of the mean over items (each item's mean over the 12 conditions). */
  pesqSpread: number;
  stoiSpread: number;
  /** Worst per-condition mean STOI change against the noisy input. */
  worstStoiDelta: number;
  worstCondition: string;
  /** Worst per-condition mean PESQ-WB change against the noisy input. */
  worstPesqDelta: number;
  worstPesqCondition: string;
  realTime: number;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
function ci95(xs: readonly number[]): number {
  const m = mean(xs);
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1));
  return (1.96 * sd) / Math.sqrt(xs.length);
}

function summarize(
  name: string,
  conds: Condition[],
  scores: QualityScores[],
  input: QualityScores[],
  ms: number,
): Row {
  const byItem = new Map<number, QualityScores[]>();
  const byCond = new Map<string, { d: number[]; p: number[] }>();
  conds.forEach((c, i) => {
    const s = scores[i] as QualityScores;
    byItem.set(c.item, [...(byItem.get(c.item) ?? []), s]);
    const key = `${c.kind} ${c.snr} dB`;
    const e = byCond.get(key) ?? { d: [], p: [] };
    e.d.push(s.stoi - (input[i] as QualityScores).stoi);
    e.p.push(s.pesq - (input[i] as QualityScores).pesq);
    byCond.set(key, e);
  });
  let worst = Number.POSITIVE_INFINITY;
  let worstCondition = '';
  let worstPesq = Number.POSITIVE_INFINITY;
  let worstPesqCondition = '';
  for (const [k, v] of byCond) {
    const d = mean(v.d);
    if (d < worst) [worst, worstCondition] = [d, k];
    const p = mean(v.p);
    if (p < worstPesq) [worstPesq, worstPesqCondition] = [p, k];
  }
  const itemP = [...byItem.values()].map((s) => mean(s.map((x) => x.pesq)));
  const itemS = [...byItem.values()].map((s) => mean(s.map((x) => x.stoi)));
  const audioS = (conds.length * ITEM_MS) / 1000;
  return {
    output: name,
    pesq: mean(scores.map((s) => s.pesq)),
    stoi: mean(scores.map((s) => s.stoi)),
    pesqSpread: ci95(itemP),
    stoiSpread: ci95(itemS),
    worstStoiDelta: worst,
    worstCondition,
    worstPesqDelta: worstPesq,
    worstPesqCondition,
    realTime: ms > 0 ? (audioS * 1000) / ms : Number.POSITIVE_INFINITY,
  };
}

const STRENGTH = parameterByName('noise_suppression_db') as ParameterSpec;
const USAGE = `usage: npm run bench:suppression [-- --items N (>= 2, default 12)] [--rows NAME ...] [--spectral DB (${STRENGTH.min}-${STRENGTH.max}) ...] [--sweep STEP (dB, > 0)] [--json OUT]`;

/** A flag's dB value: a plain decimal number (no hex, exponent or blank, which Number() would take). */
function dbFlag(flag: string, raw: string, min: number, max: number): number {
  const db = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || db < min || db > max)
    throw new ArgError(`--${flag} must be a number of dB within ${min}-${max}, got "${raw}"`);
  return db;
}

/**
 * The spectral suppressor's strengths to run alone: each --spectral DB, and with --sweep STEP the
 * catalog's whole range from its minimum to its maximum every STEP dB (the maximum always included).
 */
function spectralStrengths(spectral: readonly string[], sweep: string | undefined): number[] {
  const { min, max } = STRENGTH;
  const out = spectral.map((v) => dbFlag('spectral', v, min, max));
  if (sweep !== undefined) {
    const step = dbFlag('sweep', sweep, 0, max - min);
    if (step === 0) throw new ArgError(`--sweep must be a step of dB above 0, got "${sweep}"`);
    for (let i = 0; min + i * step < max; i++) out.push(Number((min + i * step).toFixed(6)));
    out.push(max);
  }
  return [...new Set(out)].sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const values = parseFlags(
    process.argv.slice(2),
    {
      items: { type: 'string', default: '12' },
      json: { type: 'string' },
      rows: { type: 'string', multiple: true },
      spectral: { type: 'string', multiple: true },
      sweep: { type: 'string' },
    },
    USAGE,
  ) as { items: string; json?: string; rows?: string[]; spectral?: string[]; sweep?: string };
  // --spectral DB (repeatable) and --sweep STEP: rows for the spectral suppressor alone at those strengths
  // (within the catalog's range), run after the input whatever --rows selects.
  const extra: [string, Process][] = spectralStrengths(values.spectral ?? [], values.sweep).map((db) => [
    `spectral suppressor alone, ${db} dB${db === STRENGTH.default ? ' (default)' : ''}`,
    block(spectral(db)),
  ]);
  // --rows SUBSTRING (repeatable): only the rows whose name contains one of them (the input always runs).
  const wanted = values.rows;
  const variants = Object.entries(VARIANTS).filter(
    ([name]) =>
      name === 'noisy input' ||
      (wanted === undefined && extra.length === 0) ||
      (wanted ?? []).some((w) => name.includes(w)),
  );
  variants.splice(1, 0, ...extra);
  const items = Number(values.items);
  if (!Number.isInteger(items) || items < 2)
    throw new ArgError(`--items must be an integer >= 2, got ${values.items}`);
  const conds = conditions(items);
  const judge = await openQualityJudge({ log: (l) => process.stderr.write(`${l}\n`) });
  const rows: Row[] = [];
  let input: QualityScores[] = [];
  const started = Date.now();
  try {
    for (const [name, f] of variants) {
      // CPU time of this process (the judge is another process): on a shared machine wall time would
      // count the other processes' turns on the core too.
      let ms = 0;
      loopSearchMs = 0;
      const pairs: { ref: Float32Array; deg: Float32Array; sampleRate: 16000 }[] = [];
      for (const c of conds) {
        const t0 = process.cpuUsage();
        const deg = f(c.noisy);
        const d = process.cpuUsage(t0);
        ms += (d.user + d.system) / 1000;
        pairs.push({ ref: c.clean, deg, sampleRate: SR as 16000 });
        // One event-loop turn per condition: the RNNoise blocks' wasm memory is freed by finalizers,
        // which never run inside one long synchronous loop (the loop's row builds thousands of chains).
        await new Promise((resolve) => setImmediate(resolve));
      }
      // The loop's row: the cost of running the chosen set, not of the search that chose it.
      if (f === loopChoice) {
        progress(`loop search: ${(loopSearchMs / 1000).toFixed(0)} s CPU for ${conds.length} conditions`);
        ms = Math.max(1, ms - loopSearchMs);
      }
      const scores = await judge.scoreMany(pairs);
      if (rows.length === 0) input = scores;
      const row = summarize(name, conds, scores, input, name === 'noisy input' ? 0 : ms);
      rows.push(row);
      // Each row as soon as it is done (a run that dies later keeps what it measured), with the
      // process's memory, so a run that grows toward the machine's limit shows it.
      const rss = (process.memoryUsage().rss / 2 ** 20).toFixed(0);
      progress(`${tableRow(row)} (${((Date.now() - started) / 60000).toFixed(1)} min, rss ${rss} MB)`);
      if (values.json) writeResults(values.json, items, rows);
    }
  } finally {
    await judge.close();
  }
  finished = true;
  const when = new Date().toISOString().slice(0, 10);
  console.log(
    `${when}, ${cpus()[0]?.model ?? 'unknown CPU'} x ${cpus().length}, ${items} items x 12 conditions`,
  );
  console.log(
    '| output | PESQ-WB | STOI | worst STOI change (condition) | worst PESQ-WB change (condition) | x real time |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(tableRow(r));
  if (loopChoices.length === conds.length) {
    console.log(
      "\nThe loop's choices per condition (mean over items): RNNoise on share, its limit when on, spectral dB",
    );
    for (const kind of KINDS) {
      const cells = SNRS.map((snr) => {
        const ch = loopChoices.filter((_, i) => conds[i]?.kind === kind && conds[i]?.snr === snr);
        const on = ch.filter((c) => (c['rnnoise_enabled'] ?? 0) >= 0.5);
        const lim = on.length ? mean(on.map((c) => c['rnnoise_attenuation_limit_db'] ?? 0)).toFixed(0) : '-';
        const ns = mean(ch.map((c) => c['noise_suppression_db'] ?? 0)).toFixed(0);
        return `${snr} dB: ${on.length}/${ch.length} on, ${lim} dB, ns ${ns}`;
      });
      console.log(`${kind}: ${cells.join(' | ')}`);
    }
  }
  if (values.json) writeResults(values.json, items, rows);
}

function tableRow(r: Row): string {
  const rt = Number.isFinite(r.realTime) ? r.realTime.toFixed(0) : '-';
  // Four decimals: the goal is a sign (STOI >= the input's), and the changes on babble are ~1e-4.
  const worst = `${r.worstStoiDelta >= 0 ? '+' : ''}${r.worstStoiDelta.toFixed(4)} (${r.worstCondition})`;
  const worstP = `${r.worstPesqDelta >= 0 ? '+' : ''}${r.worstPesqDelta.toFixed(4)} (${r.worstPesqCondition})`;
  return `| ${r.output} | ${r.pesq.toFixed(2)} ±${r.pesqSpread.toFixed(2)} | ${r.stoi.toFixed(3)} ±${r.stoiSpread.toFixed(3)} | ${worst} | ${worstP} | ${rt} |`;
}

function writeResults(file: string, items: number, rows: readonly Row[]): void {
  const date = new Date().toISOString();
  writeFileSync(file, JSON.stringify({ date, items, complete: finished, rows, loopChoices }, null, 2));
}

function progress(line: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

// A run of an hour that ends early must say how: a signal (the terminal or a session closing), an error
// nobody awaited, or the event loop running dry while the table is still owed.
let finished = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    progress(`stopped by ${signal} before the table was complete`);
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  });
}
process.on('unhandledRejection', (reason) => {
  progress(
    `unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`,
  );
  process.exitCode = 1;
});
process.on('exit', (code) => {
  if (!finished) progress(`exited with code ${code} before the table was complete`);
});

try {
  await main();
} catch (err) {
  if (!(err instanceof ArgError)) throw err;
  finished = true; // nothing was started: no "before the table was complete" line
  console.error(err.message);
  process.exit(2);
}
