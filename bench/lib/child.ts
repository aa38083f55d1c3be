// Starts bench/child.ts in its own process and waits for its ready line; stop() ends that process
// (only it: by its own pid). An IPC channel carries the child's progress count and memory samples.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { envWith, readBenchEnv, type Settings } from '../../lib/settings.ts';

export interface ChildMemory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  /** V8 heap pages actually touched (heapTotal is what V8 has committed). */
  heapPhysical: number;
  /** V8's own malloc (compiler zones and such), outside the heap. */
  v8Malloced: number;
  external: number;
  arrayBuffers: number;
}

/** The child's answer to a memory request (bench/child.ts memorySample). */
export interface ChildMemoryReply {
  /** After a full GC. */
  memory: ChildMemory;
  /** Per V8 heap space, after that GC: [committed bytes, live bytes]. */
  spaces: Record<string, [number, number]>;
  gc: boolean;
  count: number;
}

export interface Child {
  url: string | null;
  pid: number;
  /** The child's latest count (snapshots persisted, or online decisions), pushed over IPC. */
  count(): number;
  /** process.memoryUsage() in the child, after a full GC when it runs with --expose-gc. */
  memory(timeoutMs?: number): Promise<ChildMemoryReply>;
  /** The last few thousand characters the child wrote (its logs at LOG_LEVEL, errors). */
  output(): string;
  stop(): Promise<void>;
}

export async function startChild(
  cfg: Readonly<Settings>,
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number; nodeArgs?: string[] } = {},
): Promise<Child> {
  const root = join(import.meta.dirname, '..', '..');
  // BENCH_CHILD_CPU_PROF=DIR profiles the system under test too (written when the child stops).
  const prof = readBenchEnv().childCpuProfile;
  const profArgs = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [];
  const proc: ChildProcess = spawn(
    process.execPath,
    [...profArgs, ...(opts.nodeArgs ?? []), '--import', 'tsx', join(root, 'bench', 'child.ts'), ...args],
    {
      cwd: root,
      env: envWith({
        TOPIC_PREFIX: cfg.topics.prefix,
        SNAPSHOT_PARTITIONS: String(cfg.topics.snapshotPartitions),
        LOG_LEVEL: cfg.logLevel,
        KAFKA_PRINCIPAL: cfg.kafka.auth.principal ?? '',
        ...opts.env,
      }),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    },
  );
  let stderr = '';
  let stdout = '';
  proc.stdout?.on('data', (d: Buffer) => {
    stdout = (stdout + d.toString()).slice(-4000);
  });
  let latest = 0;
  const waiting: ((m: ChildMemoryReply) => void)[] = [];
  proc.on('message', (m: { count?: number; memory?: ChildMemory; gc?: boolean }) => {
    if (typeof m?.count === 'number') latest = Math.max(latest, m.count);
    if (m?.memory) waiting.shift()?.(m as ChildMemoryReply);
  });
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
    count: () => latest,
    output: () => `${stdout.replace(/^\{"ready".*\n/m, '')}${stderr}`.slice(-4000),
    memory(timeoutMs = 30_000) {
      return new Promise<ChildMemoryReply>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('bench child: no memory reply')), timeoutMs);
        waiting.push((m) => {
          clearTimeout(t);
          resolve(m);
        });
        proc.send({ type: 'memory' });
      });
    },
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
