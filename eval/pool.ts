// The eval's profiles on worker threads (`--workers N`). Nearly all of a profile's time is CPU: the
// loop, and above all the offline search's re-runs of the chain (two thirds of it, measured with
// --cpu-prof on seed 9; PESQ and STOI about 4%). Each worker computes whole profiles (profile.ts
// computeProfile: loop, yardstick, the outputs to judge) and the main thread judges them with the one
// PESQ/STOI sidecar as they come back, so records are the same whatever the worker count: the same
// profiles, the same audio, the same seeds, put back in profile order.
import type { Worker } from 'node:worker_threads';
import { defaultsForStation, parametersForStation } from '../catalog/index.ts';
import { startTsWorker } from '../lib/tsWorker.ts';
import { type LearnedRegion, regionStart } from '../optimizer/core/prior.ts';
import type { QualityJudge } from '../quality/index.ts';
import { generateProfile } from '../stations/sim/generate.ts';
import type { LoopStart } from './loop.ts';
import {
  computeProfile,
  type EvalOptions,
  judgeProfile,
  type StationRecord,
  type StationWork,
} from './profile.ts';

/** Where new calls start in the priors pass: each tenant's and station's learned region, and how. */
export interface StartSpec {
  /** `${tenant}|${stationId}` -> the region the batch optimizer would have learned. */
  regions: [string, LearnedRegion][];
  /** Start one safe step toward the region's centre (the batch's proposal promoted), or at the defaults. */
  promoted: boolean;
}

/** One profile to compute: plain data, so it can cross to a worker. */
export interface ProfileJob {
  seed: number;
  index: number;
  opts: Omit<EvalOptions, 'start'>;
  start: StartSpec | null;
}

export type WorkerReply =
  | { kind: 'tick'; job: number; label: string }
  | { kind: 'done'; job: number; work: StationWork[] }
  | { kind: 'error'; job: number; message: string };

/** The served region per call, the call starting on the defaults or on the promoted step. */
export function startFrom(spec: StartSpec): (s: number, t: string) => LoopStart {
  const regions = new Map(spec.regions);
  return (s, t) => {
    const prior = regions.get(`${t}|${s}`);
    const params = defaultsForStation(s);
    if (!prior) return { params };
    return { params: spec.promoted ? regionStart(prior, parametersForStation(s), params) : params, prior };
  };
}

/** A job's CPU half, on whichever thread runs it. */
export function computeJob(job: ProfileJob, onStation: (label: string) => void): StationWork[] {
  const set = generateProfile(job.seed, job.index);
  const opts: EvalOptions = job.start ? { ...job.opts, start: startFrom(job.start) } : job.opts;
  return computeProfile(set, opts, (s) => onStation(`${set.name} station ${s}`));
}

/**
 * Every job computed (on `workers` threads; 1: on this one) and judged here, the records in job order.
 * `tick` is called once per station computed.
 */
export async function runJobs(
  jobs: readonly ProfileJob[],
  workers: number,
  judge: QualityJudge,
  tick: (label: string) => void,
): Promise<StationRecord[][]> {
  if (workers <= 1 || jobs.length <= 1) {
    const out: StationRecord[][] = [];
    for (const job of jobs) out.push(await judgeProfile(computeJob(job, tick), judge));
    return out;
  }
  return new Promise((resolve, reject) => {
    const out: (StationRecord[] | undefined)[] = jobs.map(() => undefined);
    const pool: Worker[] = [];
    const finished = new Set<Worker>();
    let next = 0;
    let left = jobs.length;
    let failed = false;
    // Judged one after another as they come back: the sidecar takes one batch at a time anyway.
    let judging: Promise<void> = Promise.resolve();
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      for (const w of pool) void w.terminate();
      reject(err);
    };
    const give = (w: Worker) => {
      if (next < jobs.length) w.postMessage({ job: next, spec: jobs[next++] });
      else {
        finished.add(w);
        void w.terminate();
      }
    };
    for (let k = 0; k < Math.min(workers, jobs.length); k++) {
      const w = startTsWorker(new URL('./worker.ts', import.meta.url));
      pool.push(w);
      w.on('message', (m: WorkerReply) => {
        if (m.kind === 'tick') return tick(m.label);
        if (m.kind === 'error') return fail(new Error(`eval worker, profile job ${m.job}: ${m.message}`));
        give(w);
        judging = judging
          .then(async () => {
            out[m.job] = await judgeProfile(m.work, judge);
            if (--left === 0) resolve(out as StationRecord[][]);
          })
          .catch(fail);
      });
      w.on('error', fail);
      w.on('exit', (code) => {
        if (!finished.has(w)) fail(new Error(`eval worker exited with code ${code}`));
      });
      give(w);
    }
  });
}
