// A private single-node Kafka (KRaft) for fault tests: the stack's jars (stack/services/kafka.ts fetches
// them, cached), its own data directory and ports, so a test can stop the broker for a minute while
// everyone else keeps using the shared one. Stopped with SIGKILL: a crash, not a controlled shutdown.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stateDir } from '../../stack/layout.ts';
import { kafkaReady } from '../../stack/probes.ts';
import { run } from '../../stack/proc.ts';
import { javaFor } from '../../stack/services/java.ts';
import { kafka as kafkaService, serverProperties } from '../../stack/services/kafka.ts';
import { freePort } from './privatePostgres.ts';
import { sigkill, waitAnswers } from './privateProcess.ts';

export interface PrivateKafka {
  broker: string;
  start(): Promise<void>;
  kill(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startPrivateKafka(log: (s: string) => void = () => {}): Promise<PrivateKafka> {
  await kafkaService.fetch!(log);
  const java = (await javaFor(17)).bin;
  const classpath = `${join(stateDir, 'kafka', 'libs')}/*`;
  const dir = mkdtempSync(join(tmpdir(), 'voiceloop-kafka-'));
  const data = join(dir, 'data');
  mkdirSync(data);
  const [port, controller] = [await freePort(), await freePort()];
  const config = join(dir, 'server.properties');
  writeFileSync(config, serverProperties({ host: '127.0.0.1', port, controller, dataDir: data }));
  const log4j = join(dir, 'log4j2.xml');
  writeFileSync(
    log4j,
    '<?xml version="1.0" encoding="UTF-8"?><Configuration status="WARN"><Appenders><Console name="o" target="SYSTEM_OUT"><ThresholdFilter level="ERROR"/><PatternLayout pattern="%m%n"/></Console></Appenders><Loggers><Root level="WARN"><AppenderRef ref="o"/></Root></Loggers></Configuration>',
  );
  const jvm = [`-Dlog4j2.configurationFile=${log4j}`, '-Xms128m', '-Xmx512m', '-cp', classpath];
  const id = randomBytes(16).toString('base64url');
  await run(java, [...jvm, 'kafka.tools.StorageTool', 'format', '-t', id, '-c', config], { cwd: dir });
  const broker = `127.0.0.1:${port}`;
  let proc: ChildProcess | undefined;

  const self: PrivateKafka = {
    broker,
    async start() {
      proc = spawn(java, [...jvm, 'kafka.Kafka', config], { cwd: dir, stdio: 'ignore' });
      await waitAnswers('private Kafka', proc, () => kafkaReady([broker]), 120_000);
    },
    async kill() {
      await sigkill(proc);
    },
    async destroy() {
      await self.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await self.start();
  return self;
}
