// Starts bench/child.ts in its own process and waits for its ready line; stop() ends that process
// (only it: by its own pid).
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Config } from '../../lib/config.ts';

export interface Child {
  url: string | null;
  pid: number;
  stop(): Promise<void>;
}

export async function startChild(
  cfg: Readonly<Config>,
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number; nodeArgs?: string[] } = {},
): Promise<Child> {
  const root = join(import.meta.dirname, '..', '..');
  // BENCH_CHILD_CPU_PROF=DIR profiles the system under test too (written when the child stops).
  const prof = process.env.BENCH_CHILD_CPU_PROF;
  const profArgs = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [];
  const proc: ChildProcess = spawn(
    process.execPath,
    [...profArgs, ...(opts.nodeArgs ?? []), '--import', 'tsx', join(root, 'bench', 'child.ts'), ...args],
    {
      cwd: root,
      env: {
        ...process.env,
        TOPIC_PREFIX: cfg.topics.prefix,
        SNAPSHOT_PARTITIONS: String(cfg.topics.snapshotPartitions),
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
        ...opts.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const url = await new Promise<string | null>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`bench child ${args.join(' ')} not ready in time: ${stderr}`)),
      opts.timeoutMs ?? 60_000,
    );
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      for (const line of out.split('\n')) {
        if (!line.startsWith('{"ready"')) continue;
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string | null }).url);
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`bench child ${args.join(' ')} exited with ${code}: ${stderr}`));
    });
  });
  return {
    url,
    pid: proc.pid!,
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}
