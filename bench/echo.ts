// Echo-canceller anchor (`npm run bench:echo [-- --items N] [--json OUT]`): our canceller
// (audio/dsp/echoCanceller.ts) against speexdsp's (Debian libspeexdsp1, the MDF canceller of Speex, through
// Python ctypes: bench/lib/speex_aec.py) on the simulator's echo profiles (every bundled profile with an
// echo), both with 8 ms frames at 16 kHz and the same tail length.
// - ERLE: far-end single talk (the profile's echo of the far-end speech plus its line noise, no near
//   talker), mic energy over output energy over the last half of each 8 s item, after convergence. And
//   the same on the echo alone (no line noise): speexdsp high-passes its input (a DC notch), which takes
//   ~4 dB off pink line noise by itself, so with noise its figure is not all echo removed.
// - PESQ-WB: double talk (the profile's whole impaired signal: near talker, echo, noise), the output
//   against the clean near talker, from the quality sidecar (the input's PESQ beside it).
// - ERLE under double talk (ours only): the echo over what is left of it, echo minus the canceller's
//   estimate (input minus output: ours has no filter of its own in front), over the last half of each
//   item. PESQ hides it (a canceller that does nothing keeps the input's PESQ); speexdsp's DC notch makes
//   its estimate unrecoverable from input and output.
// - "NLMS pair": ours without the Kalman path (EchoCancellerSettings.kalmanPath false), as it was before
//   2026-12-06: the baseline for the Kalman path in the same run.
// Cost: seconds of audio per CPU second of the canceller alone (ours: this process; speexdsp: the C
// library's time inside the Python loop, measured there).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { EchoCanceller } from '../audio/dsp/echoCanceller.ts';
import { ArgError, parseFlags } from '../lib/cli.ts';
import { openQualityJudge } from '../quality/index.ts';
import { ensureDebianPackages, pathNeed } from '../stack/debian.ts';
import { impair } from '../stations/sim/impair.ts';
import { bundledImpairmentsPath, loadImpairments, type StationProfile } from '../stations/sim/impairments.ts';
import { rngFor } from '../stations/sim/random.ts';
import { speechSource } from '../stations/sim/speech.ts';

const SR = 16000;
const ITEM_MS = 8000;
const FRAME = 128;
const TAILS_MS = [64, 256] as const;
const SPEEX_SCRIPT = join(import.meta.dirname, 'lib', 'speex_aec.py');
const SPEEX_LIB = '/usr/lib/x86_64-linux-gnu/libspeexdsp.so.1';

interface Case {
  name: string;
  profile: StationProfile;
}

function echoCases(): Case[] {
  const out: Case[] = [];
  for (const set of ['mild', 'default', 'harsh'] as const) {
    for (const p of loadImpairments(bundledImpairmentsPath(set)).stations) {
      if (p.echo === undefined) continue;
      const e = p.echo;
      out.push({
        name: `${set} st${p.stationId}: ${e.delay_ms} ms, ${e.gain_db} dB${e.dispersion_ms ? `, ${e.dispersion_ms} ms spread` : ''}`,
        profile: { ...p, sampleRate: SR },
      });
    }
  }
  return out;
}

interface Item {
  /** Far-end single talk: echo + line noise. */
  single: Float32Array;
  /** Far-end single talk without line noise: the echo alone. */
  echo: Float32Array;
  /** Double talk: the whole impaired signal. */
  double: Float32Array;
  clean: Float32Array;
  far: Float32Array;
}

function items(c: Case, n: number): Item[] {
  const out: Item[] = [];
  for (let i = 0; i < n; i++) {
    const near = speechSource(2000 + i, { durationMs: ITEM_MS, sampleRate: SR, voice: 'caller' }).samples;
    const farRaw = speechSource(3000 + i, { durationMs: ITEM_MS, sampleRate: SR, voice: 'tts' }).samples;
    const imp = impair(near, c.profile, rngFor('echo-bench', c.name, i), { sampleRate: SR, farEnd: farRaw });
    const echo = imp.components.echo as Float32Array;
    const noise = imp.components.noise;
    const single = Float32Array.from(echo, (v, k) => v + (noise ? (noise[k] as number) : 0));
    out.push({ single, echo, double: imp.samples, clean: imp.clean, far: imp.farEnd as Float32Array });
  }
  return out;
}

/** Ours: output time-aligned with the input (the block's delay cut off), and the CPU ms spent. */
function ours(
  mic: Float32Array,
  far: Float32Array,
  tailMs: number,
  kalmanPath = true,
): { y: Float32Array; ms: number } {
  const ec = new EchoCanceller(SR, { tailMs, kalmanPath });
  const n = mic.length + ec.latency;
  const buf = new Float32Array(n);
  buf.set(mic);
  const ref = new Float32Array(n);
  ref.set(far);
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i += FRAME) ec.process(buf.subarray(i, i + FRAME), ref.subarray(i, i + FRAME));
  const d = process.cpuUsage(t0);
  return { y: buf.slice(ec.latency), ms: (d.user + d.system) / 1000 };
}

const toPcm = (x: Float32Array): Buffer => {
  const b = Buffer.alloc(2 * x.length);
  for (let i = 0; i < x.length; i++)
    b.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round((x[i] as number) * 32767))), 2 * i);
  return b;
};
const fromPcm = (b: Buffer): Float32Array => {
  const y = new Float32Array(b.length / 2);
  for (let i = 0; i < y.length; i++) y[i] = b.readInt16LE(2 * i) / 32767;
  return y;
};

/** speexdsp on the same 16-bit signals (its output has no added delay); CPU ms inside the library loop. */
function speex(dir: string, mic: Float32Array, far: Float32Array, tailMs: number) {
  const [m, f, o] = ['mic', 'far', 'out'].map((x) => join(dir, `${x}.pcm`)) as [string, string, string];
  writeFileSync(m, toPcm(mic));
  writeFileSync(f, toPcm(far));
  const tail = Math.round((tailMs / 1000) * SR);
  const out = execFileSync('python3', [SPEEX_SCRIPT, String(SR), String(FRAME), String(tail), m, f, o], {
    encoding: 'utf8',
  });
  return { y: fromPcm(readFileSync(o)), ms: 1000 * Number(out.trim()) };
}

/** ERLE under double talk: the echo over the echo minus the estimate (input minus output), last half. */
function doubleTalkErleDb(echo: Float32Array, input: Float32Array, y: Float32Array): number {
  const left = Float32Array.from(echo, (e, i) => e - ((input[i] as number) - (y[i] as number)));
  return erleDb(echo, left);
}

function erleDb(mic: Float32Array, y: Float32Array): number {
  let a = 0;
  let b = 0;
  for (let i = mic.length / 2; i < mic.length; i++) {
    a += (mic[i] as number) ** 2;
    b += (y[i] as number) ** 2;
  }
  return 10 * Math.log10(a / Math.max(b, 1e-20));
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main(): Promise<void> {
  const values = parseFlags(
    process.argv.slice(2),
    { items: { type: 'string', default: '4' }, json: { type: 'string' } },
    'usage: npm run bench:echo [-- --items N (>= 1, default 4)] [--json OUT]',
  ) as { items: string; json?: string };
  const n = Number(values.items);
  if (!Number.isInteger(n) || n < 1)
    throw new ArgError(`--items must be a positive integer, got ${values.items}`);
  const log = (l: string) => process.stderr.write(`${l}\n`);
  await ensureDebianPackages(
    [pathNeed('libspeexdsp1', SPEEX_LIB, "speexdsp's echo canceller, the reference")],
    log,
  );
  const dir = mkdtempSync(join(tmpdir(), 'echo-bench-'));
  const judge = await openQualityJudge({ log });
  const rows: Record<string, unknown>[] = [];
  try {
    for (const c of echoCases()) {
      const its = items(c, n);
      const inPesq = await judge.scoreMany(
        its.map((it) => ({ ref: it.clean, deg: it.double, sampleRate: 16000 })),
      );
      for (const tail of TAILS_MS) {
        type Res = {
          erle: number[];
          erleEcho: number[];
          erleDouble: number[];
          deg: Float32Array[];
          ms: number;
        };
        const res: Record<string, Res> = {};
        for (const who of ['ours', 'nlmsPair', 'speexdsp'])
          res[who] = { erle: [], erleEcho: [], erleDouble: [], deg: [], ms: 0 };
        for (const it of its) {
          for (const [who, f] of [
            ['ours', ours],
            ['nlmsPair', (a: Float32Array, b: Float32Array, t: number) => ours(a, b, t, false)],
            ['speexdsp', (a: Float32Array, b: Float32Array, t: number) => speex(dir, a, b, t)],
          ] as const) {
            const r = res[who] as Res;
            const s = f(it.single, it.far, tail);
            r.erle.push(erleDb(it.single, s.y));
            // Not timed: the cost column stays single talk with noise plus double talk, as before.
            r.erleEcho.push(erleDb(it.echo, f(it.echo, it.far, tail).y));
            const d = f(it.double, it.far, tail);
            r.deg.push(d.y);
            if (who !== 'speexdsp') r.erleDouble.push(doubleTalkErleDb(it.echo, it.double, d.y));
            r.ms += s.ms + d.ms;
          }
        }
        const row: Record<string, unknown> = {
          profile: c.name,
          tailMs: tail,
          inputPesq: mean(inPesq.map((s) => s.pesq)),
        };
        for (const [who, r] of Object.entries(res)) {
          const q = await judge.scoreMany(
            its.map((it, k) => ({ ref: it.clean, deg: r.deg[k] as Float32Array, sampleRate: 16000 })),
          );
          row[who] = {
            erleDb: mean(r.erle),
            erleEchoDb: mean(r.erleEcho),
            erleDoubleDb: r.erleDouble.length > 0 ? mean(r.erleDouble) : null,
            pesq: mean(q.map((s) => s.pesq)),
            realTime: (2 * n * ITEM_MS) / Math.max(r.ms, 1e-3),
          };
        }
        rows.push(row);
        log(`${c.name}, tail ${tail} ms: done`);
      }
    }
  } finally {
    await judge.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const when = new Date().toISOString().slice(0, 10);
  console.log(
    `${when}, ${cpus()[0]?.model ?? 'unknown CPU'} x ${cpus().length}, ${n} items x 8 s per profile`,
  );
  console.log(
    '| echo profile | tail | ERLE ours / NLMS pair / speexdsp | ERLE echo alone ours / NLMS pair / speexdsp | ERLE under double talk ours / NLMS pair | PESQ-WB input | PESQ-WB ours / NLMS pair / speexdsp | x real time ours / NLMS pair / speexdsp |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    type Out = {
      erleDb: number;
      erleEchoDb: number;
      erleDoubleDb: number | null;
      pesq: number;
      realTime: number;
    };
    const [o, b, s] = (['ours', 'nlmsPair', 'speexdsp'] as const).map((k) => r[k] as Out) as [Out, Out, Out];
    const three = (f: (x: Out) => number, d: number) => [o, b, s].map((x) => f(x).toFixed(d)).join(' / ');
    console.log(
      `| ${r['profile']} | ${r['tailMs']} ms | ${three((x) => x.erleDb, 1)} dB | ${three((x) => x.erleEchoDb, 1)} dB | ${o.erleDoubleDb?.toFixed(1)} / ${b.erleDoubleDb?.toFixed(1)} dB | ${(r['inputPesq'] as number).toFixed(2)} | ${three((x) => x.pesq, 2)} | ${three((x) => x.realTime, 0)} |`,
    );
  }
  if (values.json) writeFileSync(values.json, JSON.stringify({ date: when, items: n, rows }, null, 2));
}

try {
  await main();
} catch (err) {
  if (!(err instanceof ArgError)) throw err;
  console.error(err.message);
  process.exit(2);
}
