// The PESQ/STOI judge: one long-lived Python process (sidecar.py) per judge, fed many pairs per
// frame, so a thousand judgements cost a thousand PESQ runs and not a thousand interpreter starts.
// A pair the reference code cannot judge comes back as an UnscorablePairError naming it; the process
// keeps serving. If the process dies, the waiting calls fail with its last stderr lines and the next
// call starts a new one.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { VoiceloopError } from '../lib/errors.ts';
import { ensurePythonEnv, type PythonEnv, sidecarScript } from './install.ts';
import { encodeRequest, FrameReader, isFailure, type Pair, type ResponseFrame } from './protocol.ts';

export interface QualityScores {
  /**
   * MOS-LQO: ITU-T P.862.2 wideband at 16 kHz, P.862 mapped by P.862.1 (narrowband) at 8 kHz; where
   * the reading moves with a delay of the output by a few samples (up to 0.5 ms), the median over
   * delays of -4, -2, 0, 2 and 4 samples (quality/sidecar.py says why and how often).
   */
  pesq: number;
  /** The same reading of the output as given, undelayed: what `pesq` was before the median. */
  pesqPlain: number;
  /** Short-Time Objective Intelligibility, 0..1. */
  stoi: number;
}

export interface QualityJudge {
  score(ref: Float32Array, deg: Float32Array, sampleRate: 8000 | 16000): Promise<QualityScores>;
  scoreMany(pairs: Pair[]): Promise<QualityScores[]>;
  close(): Promise<void>;
}

/** A pair PESQ or STOI cannot judge (no utterance, too short, not finite, wrong rate). */
export class UnscorablePairError extends VoiceloopError {
  readonly index: number;
  readonly reason: string;
  /** Every pair's scores in a batch, null where a pair failed: callers may keep the rest. */
  readonly partial: (QualityScores | null)[];

  constructor(index: number, reason: string, message: string, partial: (QualityScores | null)[]) {
    super('UNSCORABLE', `pair ${index}: ${reason}: ${message}`, {
      details: [{ field: `pairs[${index}]`, reason: `${reason}: ${message}` }],
    });
    this.name = 'UnscorablePairError';
    this.index = index;
    this.reason = reason;
    this.partial = partial;
  }
}

// Frames are cut at about 8 M samples (32 MB) so a huge batch does not sit whole in both processes.
const MAX_FRAME_SAMPLES = 8_000_000;
const READY_TIMEOUT_MS = 120_000;
const STDERR_TAIL = 20;

interface Waiter {
  resolve: (frame: ResponseFrame) => void;
  reject: (err: Error) => void;
}

function checkPair(p: Pair, i: number, partial: (QualityScores | null)[]): void {
  const fail = (reason: string, message: string) => {
    throw new UnscorablePairError(i, reason, message, partial);
  };
  if (p.sampleRate !== 8000 && p.sampleRate !== 16000)
    fail('bad-rate', `sample rate ${String(p.sampleRate)} (8000 or 16000)`);
  if (!(p.ref instanceof Float32Array) || !(p.deg instanceof Float32Array))
    fail('bad-type', 'ref and deg must be Float32Array');
  if (p.ref.length === 0 || p.deg.length === 0) fail('empty', 'ref or deg has no samples');
  for (const [name, x] of [
    ['ref', p.ref],
    ['deg', p.deg],
  ] as const) {
    for (let k = 0; k < x.length; k++) {
      if (!Number.isFinite(x[k])) fail('not-finite', `${name}[${k}] is ${x[k]}`);
    }
  }
}

class SidecarJudge implements QualityJudge {
  private child: ChildProcessWithoutNullStreams | undefined;
  private starting: Promise<ChildProcessWithoutNullStreams> | undefined;
  private readonly waiters = new Map<number, Waiter>();
  private nextId = 1;
  private stderrTail: string[] = [];
  private closed = false;

  constructor(
    private readonly env: PythonEnv,
    private readonly log: (line: string) => void,
  ) {}

  async score(ref: Float32Array, deg: Float32Array, sampleRate: 8000 | 16000): Promise<QualityScores> {
    const [s] = await this.scoreMany([{ ref, deg, sampleRate }]);
    return s as QualityScores;
  }

  async scoreMany(pairs: Pair[]): Promise<QualityScores[]> {
    if (this.closed) throw new VoiceloopError('SIDECAR', 'PESQ/STOI judge is closed');
    const out: (QualityScores | null)[] = pairs.map(() => null);
    for (const [i, p] of pairs.entries()) checkPair(p, i, out);
    let failure: UnscorablePairError | undefined;
    for (let start = 0; start < pairs.length; ) {
      let end = start;
      let samples = 0;
      while (end < pairs.length && (end === start || samples < MAX_FRAME_SAMPLES)) {
        const p = pairs[end] as Pair;
        samples += p.ref.length + p.deg.length;
        end++;
      }
      const results = await this.request(pairs.slice(start, end));
      results.forEach((r, k) => {
        if (isFailure(r)) failure ??= new UnscorablePairError(start + k, r.error, r.message, out);
        else out[start + k] = { pesq: r.pesq, pesqPlain: r.pesq_plain, stoi: r.stoi };
      });
      start = end;
    }
    if (failure) throw failure;
    return out as QualityScores[];
  }

  async close(): Promise<void> {
    this.closed = true;
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  private async request(pairs: Pair[]) {
    const child = await this.process();
    const id = this.nextId++;
    const frame = new Promise<ResponseFrame>((resolve, reject) => this.waiters.set(id, { resolve, reject }));
    this.hold(child, true);
    for (const b of encodeRequest(id, pairs)) child.stdin.write(b);
    try {
      const answer = await frame;
      const results = answer.results;
      if (!Array.isArray(results) || results.length !== pairs.length) {
        throw new VoiceloopError(
          'SIDECAR',
          `PESQ/STOI sidecar answered ${JSON.stringify(answer).slice(0, 200)}`,
        );
      }
      return results;
    } finally {
      if (this.waiters.size === 0 && this.child === child) this.hold(child, false);
    }
  }

  // An idle sidecar must not keep the Node process alive (a CLI that forgets close() still exits);
  // a busy one must, or the pending await would be dropped.
  private hold(child: ChildProcessWithoutNullStreams, busy: boolean): void {
    const streams = [child.stdout, child.stderr, child.stdin] as unknown as Socket[];
    if (busy) {
      child.ref();
      for (const s of streams) s.ref?.();
    } else {
      child.unref();
      for (const s of streams) s.unref?.();
    }
  }

  async start(): Promise<void> {
    this.hold(await this.process(), false);
  }

  private process(): Promise<ChildProcessWithoutNullStreams> {
    if (this.child && this.child.exitCode === null) return Promise.resolve(this.child);
    this.starting ??= this.spawn().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private spawn(): Promise<ChildProcessWithoutNullStreams> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.env.python, ['-u', sidecarScript], { stdio: ['pipe', 'pipe', 'pipe'] });
      const reader = new FrameReader();
      let ready = false;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(this.died('did not start within 120 s'));
      }, READY_TIMEOUT_MS);
      child.stdout.on('data', (chunk: Buffer) => {
        for (const frame of reader.push(chunk)) {
          if (!ready && frame.ready === true) {
            ready = true;
            clearTimeout(timer);
            this.child = child;
            this.log(
              `PESQ/STOI sidecar ready (pesq ${String(frame['pesq'])}, pystoi ${String(frame['pystoi'])})`,
            );
            resolve(child);
            continue;
          }
          const waiter = this.waiters.get(frame.id ?? -1);
          if (!waiter) continue;
          this.waiters.delete(frame.id as number);
          waiter.resolve(frame);
        }
      });
      child.stderr.on('data', (chunk: Buffer) => {
        this.stderrTail.push(
          ...chunk
            .toString('utf8')
            .split('\n')
            .filter((l) => l.trim() !== ''),
        );
        this.stderrTail = this.stderrTail.slice(-STDERR_TAIL);
      });
      // A write after the process died raises EPIPE on stdin; the exit handler reports it.
      child.stdin.on('error', () => {});
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(this.died(`could not start ${this.env.python}: ${err.message}`, err));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (this.child === child) this.child = undefined;
        const err = this.died(`exited (${signal ?? `code ${code}`})`);
        if (!ready) reject(err);
        for (const w of this.waiters.values()) w.reject(err);
        this.waiters.clear();
      });
    });
  }

  private died(what: string, cause?: unknown): VoiceloopError {
    const tail = this.stderrTail.length > 0 ? `; stderr: ${this.stderrTail.join(' | ')}` : '';
    return new VoiceloopError('SIDECAR', `PESQ/STOI sidecar ${what}${tail}`, { canRetry: true, cause });
  }
}

/**
 * A judge backed by the sidecar, installing its Python environment first if this machine lacks it.
 * Rejects with a SIDECAR error when Python or the packages cannot be had.
 */
export async function openQualityJudge(
  options: { log?: (line: string) => void; cacheDir?: string } = {},
): Promise<QualityJudge> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[quality] ${line}\n`));
  const env = await ensurePythonEnv(log, options.cacheDir);
  const judge = new SidecarJudge(env, log);
  // Start it now so an interpreter or import failure shows here, not at the first score.
  await judge.start();
  return judge;
}
