// CPU time of the processes around a measurement, from /proc (Linux): which one is the bottleneck.
// Ticks are utime + stime of /proc/<pid>/stat (children not included); the PostgreSQL figure sums the
// postmaster and every backend (its child processes). Elsewhere (no /proc) every figure is null.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateDir } from '../../stack/layout.ts';
import { median } from './stats.ts';

const TICKS_PER_S = 100; // USER_HZ on Linux

function statOf(pid: number): { ppid: number; ticks: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // fields after the comm: state(0) ppid(1) ... utime(11) stime(12)
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return null;
  }
}

function allPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  } catch {
    return [];
  }
}

/** The local stack's pid for a service (stack/: <state dir>/run/NAME.pid, VOICELOOP_STACK_DIR honoured), or null. */
export function stackPid(name: string): number | null {
  try {
    const pid = Number(readFileSync(join(stateDir, 'run', `${name}.pid`), 'utf8').trim());
    return statOf(pid) ? pid : null;
  } catch {
    return null;
  }
}

/** Ticks of `pid` plus, with `withChildren`, its direct children (PostgreSQL backends). */
function ticksOf(pid: number, withChildren: boolean, pids: number[]): number | null {
  const own = statOf(pid);
  if (!own) return null;
  let t = own.ticks;
  if (withChildren) for (const p of pids) if (statOf(p)?.ppid === pid) t += statOf(p)!.ticks;
  return t;
}

function machineTicks(): number | null {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // busy = user + nice + system + irq + softirq + steal (not idle, not iowait)
    return cpu[0]! + cpu[1]! + cpu[2]! + cpu[5]! + cpu[6]! + (cpu[7] ?? 0);
  } catch {
    return null;
  }
}

export interface CpuWatch {
  /** Cores used by each watched process (and 'machine' for the whole box) since the watch began. */
  stop(): Record<string, number | null>;
}

/**
 * Watches named processes: `{ postgres: {pid, children: true}, kafka: {pid}, ... }`. The backends of
 * PostgreSQL that exit during the watch are not counted (the persister's pool keeps its connections).
 */
export function watchCpu(procs: Record<string, { pid: number | null; children?: boolean }>): CpuWatch {
  const pids = allPids();
  const t0 = performance.now();
  const start = new Map<string, number | null>();
  for (const [k, v] of Object.entries(procs))
    start.set(k, v.pid === null ? null : ticksOf(v.pid, v.children ?? false, pids));
  const m0 = machineTicks();
  return {
    stop() {
      const secs = (performance.now() - t0) / 1000;
      const now = allPids();
      const out: Record<string, number | null> = {};
      for (const [k, v] of Object.entries(procs)) {
        const a = start.get(k);
        const b = v.pid === null ? null : ticksOf(v.pid, v.children ?? false, now);
        out[k] = a == null || b == null ? null : Math.round(((b - a) / TICKS_PER_S / secs) * 100) / 100;
      }
      const m1 = machineTicks();
      out.machine =
        m0 === null || m1 === null ? null : Math.round(((m1 - m0) / TICKS_PER_S / secs) * 100) / 100;
      return out;
    },
  };
}

/** Cores used per process over several runs: the median of each, to 2 decimals (null where unknown). */
export type Cpu = Record<string, number | null>;

export function cpuMedian(xs: Cpu[]): Cpu {
  const keys = Object.keys(xs[0] ?? {});
  return Object.fromEntries(
    keys.map((key) => {
      const v = xs.map((x) => x[key]).filter((y): y is number => typeof y === 'number');
      return [key, v.length ? Math.round(median(v) * 100) / 100 : null];
    }),
  );
}

/** `postgres 0.4, kafka 0.1, loader (this process) 0.3, machine 2`, for a figure's note. */
export const cpuText = (c: Cpu) =>
  Object.entries(c)
    .map(([k, v]) => `${k === 'bench' ? 'loader (this process)' : k} ${v ?? '-'}`)
    .join(', ');
