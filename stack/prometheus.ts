// A private Prometheus (Debian `prometheus`, installed by the program when missing) on a free
// loopback port with a generated configuration: what the metrics scrape test runs, and what an
// operator without Docker can start to look at the series. It is not part of the shared stack: each
// caller starts its own and stops it.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { commandNeed, ensureDebianPackages } from './debian.ts';
import type { Log } from './service.ts';

export interface ScrapeTarget {
  job: string;
  /** host:port */
  target: string;
  path?: string;
}

export interface PrivatePrometheus {
  readonly url: string;
  /** An instant query through the HTTP API: the result vector (empty when nothing matches). */
  query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** prometheus.yml for the targets; scrape_interval is short so a test sees series within seconds. */
export function prometheusConfig(targets: readonly ScrapeTarget[], intervalS = 1): string {
  const jobs = targets.map(
    (t) =>
      `  - job_name: ${JSON.stringify(t.job)}\n    metrics_path: ${JSON.stringify(t.path ?? '/metrics')}\n    static_configs:\n      - targets: [${JSON.stringify(t.target)}]`,
  );
  return `global:\n  scrape_interval: ${intervalS}s\n  evaluation_interval: ${intervalS}s\nscrape_configs:\n${jobs.join('\n')}\n`;
}

export async function startPrometheus(
  targets: readonly ScrapeTarget[],
  log: Log,
  opts: { intervalS?: number; readyTimeoutMs?: number } = {},
): Promise<PrivatePrometheus> {
  await ensureDebianPackages([commandNeed('prometheus', 'prometheus', 'the metrics scrape')], log);
  const dir = mkdtempSync(join(tmpdir(), 'voiceloop-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, prometheusConfig(targets, opts.intervalS));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const proc: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  let exited = false;
  const gone = new Promise<void>((r) =>
    proc.once('exit', () => {
      exited = true;
      r();
    }),
  );
  const stop = async () => {
    if (!exited) {
      proc.kill('SIGTERM');
      await Promise.race([gone, sleep(10_000).then(() => proc.kill('SIGKILL'))]);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`prometheus exited before it was ready:\n${output}`);
    }
    const ok = await fetch(`${url}/-/ready`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `prometheus not ready on ${url} within ${opts.readyTimeoutMs ?? 60_000} ms:\n${output}`,
      );
    }
    await sleep(200);
  }
  log(`prometheus ${url} scraping ${targets.map((t) => t.target).join(', ')}`);
  return {
    url,
    async query(promql) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as {
        status: string;
        error?: string;
        data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      if (body.status !== 'success') throw new Error(`prometheus query ${promql}: ${body.error}`);
      return body.data!.result;
    },
    stop,
  };
}
