// The machine the figures were measured on: cores, CPU model, memory, Node, and the versions of the
// services (Kafka and Apicurio as pinned by the stack, PostgreSQL as it answers).
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, hostname, loadavg, totalmem } from 'node:os';
import type { Runtime } from '../../runtime/bootstrap.ts';
import { apicurioLine, versions } from '../../stack/layout.ts';

export interface Machine {
  host: string;
  cores: number;
  cpu: string;
  memory_gib: number;
  node: string;
  platform: string;
  loadavg_at_start: number[];
  kafka: string;
  kafkajs: string;
  apicurio: string;
  postgres: string | null;
  s3proxy: string;
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) return m[1].trim();
  } catch {
    // not Linux: fall back to what Node reports
  }
  return cpus()[0]?.model ?? 'unknown';
}

function packageVersion(name: string): string {
  try {
    const p = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function machineInfo(): Machine {
  return {
    host: hostname(),
    cores: availableParallelism(),
    cpu: cpuModel(),
    memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadavg_at_start: loadavg().map((x) => Math.round(x * 100) / 100),
    kafka: versions.kafka,
    kafkajs: packageVersion('kafkajs'),
    apicurio: apicurioLine === 2 ? versions.apicurio2 : versions.apicurio,
    postgres: null,
    s3proxy: versions.s3proxy,
  };
}

export async function addServiceVersions(m: Machine, rt: Runtime): Promise<void> {
  // Apicurio says which line runs (3.x, or the 2.x fallback on Java 17) on its system endpoint.
  const base = rt.cfg.schemaRegistry.url.replace(/\/apis\/ccompat\/v\d+$/, '');
  for (const api of ['v3', 'v2']) {
    try {
      const res = await fetch(`${base}/apis/registry/${api}/system/info`);
      if (res.ok) {
        m.apicurio = ((await res.json()) as { version: string }).version;
        break;
      }
    } catch {
      // keep the pinned version
    }
  }
  try {
    const { rows } = await rt.pool.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    m.postgres = rows[0]?.v ?? null;
  } catch {
    m.postgres = null;
  }
}
