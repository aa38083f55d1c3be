// A private single-node Kafka (KRaft) for fault tests: the stack's jars (stack/services/kafka.ts fetches
// them, cached), its own data directory and ports, so a test can stop the broker for a minute while
// everyone else keeps using the shared one. Stopped with SIGKILL: a crash, not a controlled shutdown.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SASLOptions } from 'kafkajs';
import { topicNames } from '../../lib/settings.ts';
import {
  type Credentials,
  ensureCredentials,
  type Principal,
  roleAcls,
  scramFormatArgs,
  writeCredentials,
} from '../../stack/kafkaAuth.ts';
import type { KafkaTool } from '../../stack/kafkaUsers.ts';
import { stateDir } from '../../stack/layout.ts';
import { grantAcls, kafkaReady } from '../../stack/probes.ts';
import { run } from '../../stack/proc.ts';
import { javaFor } from '../../stack/services/java.ts';
import {
  clusterIdArg,
  kafka as kafkaService,
  newClusterId,
  redactScram,
  serverProperties,
} from '../../stack/services/kafka.ts';
import { freePort, type PrivateServer, startPrivateServer } from './privateProcess.ts';

export interface PrivateKafka extends PrivateServer {
  broker: string;
  /** Secured brokers: the credentials file (`KAFKA_CREDENTIALS_FILE` for the program's settings). */
  credentialsFile?: string;
  /** Secured brokers: the super-user's SASL settings. */
  adminSasl?: SASLOptions;
  /** Kafka's own tools from the stack's jars (stack/kafkaUsers.ts). */
  tool: KafkaTool;
}

/**
 * `secured`: as the local stack runs it since issue 13 (SASL/SCRAM users, the standard authorizer,
 * the ACLs of topic prefix `prefix`, default voiceloop), credentials in the broker's own folder.
 * `principals`: only these have a SCRAM user and a line in the credentials file (a stack made before
 * the others existed); default every principal.
 */
export async function startPrivateKafka(
  log: (s: string) => void = () => {},
  opts: { secured?: boolean; prefix?: string; principals?: readonly Principal[] } = {},
): Promise<PrivateKafka> {
  await kafkaService.fetch!(log);
  const java = (await javaFor(17)).bin;
  const classpath = `${join(stateDir, 'kafka', 'libs')}/*`;
  const dir = mkdtempSync(join(tmpdir(), 'voiceloop-kafka-'));
  const data = join(dir, 'data');
  mkdirSync(data);
  const [port, controller] = [await freePort(), await freePort()];
  const config = join(dir, 'server.properties');
  const credentialsFile = join(dir, 'credentials');
  let creds: Credentials | undefined = opts.secured ? ensureCredentials(credentialsFile) : undefined;
  if (creds && opts.principals) {
    const only = opts.principals;
    creds = Object.fromEntries(
      Object.entries(creds).filter(([p]) => only.includes(p as Principal)),
    ) as Credentials;
    writeCredentials(credentialsFile, creds);
  }
  writeFileSync(
    config,
    serverProperties({
      host: '127.0.0.1',
      port,
      controller,
      dataDir: data,
      ...(creds ? { adminPassword: creds.admin } : {}),
    }),
  );
  const log4j = join(dir, 'log4j2.xml');
  writeFileSync(
    log4j,
    '<?xml version="1.0" encoding="UTF-8"?><Configuration status="WARN"><Appenders><Console name="o" target="SYSTEM_OUT"><ThresholdFilter level="ERROR"/><PatternLayout pattern="%m%n"/></Console></Appenders><Loggers><Root level="WARN"><AppenderRef ref="o"/></Root></Loggers></Configuration>',
  );
  const jvm = [`-Dlog4j2.configurationFile=${log4j}`, '-Xms128m', '-Xmx512m', '-cp', classpath];
  const id = newClusterId();
  const scram = creds ? scramFormatArgs(creds) : [];
  // A failure's message lists the command: the SCRAM passwords are redacted from it, as the stack does.
  await run(java, [...jvm, 'kafka.tools.StorageTool', 'format', clusterIdArg(id), '-c', config, ...scram], {
    cwd: dir,
  }).catch((err: unknown) => {
    throw redactScram(err);
  });
  const broker = `127.0.0.1:${port}`;
  const adminSasl: SASLOptions | undefined = creds && {
    mechanism: 'plain',
    username: 'admin',
    password: creds.admin,
  };
  const server = await startPrivateServer({
    name: 'private Kafka',
    dir,
    spawn: () => spawn(java, [...jvm, 'kafka.Kafka', config], { cwd: dir, stdio: 'ignore' }),
    ready: () => kafkaReady([broker], adminSasl),
    timeoutMs: 120_000,
  });
  const tool = { java, classpath, workDir: dir };
  if (!adminSasl) return { ...server, broker, tool };
  try {
    const prefix = opts.prefix ?? 'voiceloop';
    await grantAcls([broker], adminSasl, roleAcls(prefix, topicNames(prefix)));
  } catch (err) {
    await server.destroy();
    throw err;
  }
  return { ...server, broker, credentialsFile, adminSasl, tool };
}
