// Apache Kafka in KRaft mode: one process that is both broker and controller, from the Maven
// Central jars (no distribution tarball there). Data persists under the state folder.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SASLOptions } from 'kafkajs';
import { topicNames } from '../../lib/settings.ts';
import {
  credentialsFile,
  ensureCredentials,
  missingPrincipals,
  type Principal,
  readCredentialsFound,
  roleAcls,
  scramFormatArgs,
  securityProperties,
} from '../kafkaAuth.ts';
import { addMissingPrincipals } from '../kafkaUsers.ts';
import { host, ports, stackTopicPrefix, stateDir, versions } from '../layout.ts';
import { copyProfileDependencies, hasMarker } from '../maven.ts';
import { grantAcls, kafkaAnswers, kafkaReady, kafkaWantsSasl } from '../probes.ts';
import { run } from '../proc.ts';
import { logsDir, once, type Service, timed } from '../service.ts';
import { javaFor } from './java.ts';

const baseDir = join(stateDir, 'kafka');
const libsDir = join(baseDir, 'libs');
const dataDir = join(baseDir, 'data');
const configFile = join(baseDir, 'server.properties');
const log4jFile = join(baseDir, 'log4j2.xml');
const clusterIdFile = join(baseDir, 'cluster-id');
const serverLog = join(logsDir, 'kafka-server.log');
const classpath = `${libsDir}/*`;
const nodeId = 1;
const credsFile = credentialsFile(stateDir);

/**
 * Whether the local stack's broker starts with SASL/SCRAM and ACLs (issue 13). A data folder formatted
 * before (no credentials file beside it) is moved aside and formatted anew with the users; see README.
 */
export const SECURED = true;
/** The java binary chosen in prepare(); see java.ts. */
let java = 'java';

// A single node can hold only one replica, so every internal topic needs RF 1 (the defaults of 3
// would leave them uncreatable and groups, transactions and share groups unusable).
// Exported for the fault tests' private brokers, which differ only in ports and data dir.
// With `adminPassword`, both listeners are SASL_PLAINTEXT and the authorizer is on (kafkaAuth.ts).
export function serverProperties(
  at: { host: string; port: number; controller: number; dataDir: string; adminPassword?: string } = {
    host,
    port: ports.kafka,
    controller: ports.kafkaController,
    dataDir,
  },
): string {
  const secured = at.adminPassword !== undefined;
  const client = secured ? 'BROKER' : 'PLAINTEXT';
  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': nodeId,
    'controller.quorum.voters': `${nodeId}@${at.host}:${at.controller}`,
    listeners: `${client}://${at.host}:${at.port},CONTROLLER://${at.host}:${at.controller}`,
    'advertised.listeners': `${client}://${at.host}:${at.port}`,
    'listener.security.protocol.map': secured
      ? 'BROKER:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT'
      : 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': client,
    ...(secured ? securityProperties(at.adminPassword!) : {}),
    'log.dirs': at.dataDir,
    'num.partitions': 1,
    'default.replication.factor': 1,
    'min.insync.replicas': 1,
    'offsets.topic.replication.factor': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    // Consumers in tests and the demo join at once; the default 3 s delay only slows them.
    'group.initial.rebalance.delay.ms': 0,
    // Topics are created explicitly with their intended partitions and cleanup policy (DESIGN).
    'auto.create.topics.enable': false,
  };
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

// Kafka 4 logs with log4j2. The server's own log goes to a rolling file; stdout (captured in
// kafka.log) keeps only warnings, so a start failure is readable there.
function log4jConfig(): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <Console name="stdout" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
      <ThresholdFilter level="WARN"/>
    </Console>
    <RollingFile name="server" fileName="${serverLog}" filePattern="${serverLog}.%i">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
      <SizeBasedTriggeringPolicy size="20MB"/>
      <DefaultRolloverStrategy max="3"/>
    </RollingFile>
  </Appenders>
  <Loggers>
    <Root level="INFO">
      <AppenderRef ref="stdout"/>
      <AppenderRef ref="server"/>
    </Root>
    <Logger name="org.apache.kafka.clients" level="WARN"/>
  </Loggers>
</Configuration>
`;
}

/**
 * A new KRaft cluster id: 16 random bytes, URL-safe base64 without padding (as `random-uuid` prints),
 * never starting with '-', as Kafka's own Uuid.randomUuid: the format tool's argument parser takes
 * `-t -qc1H...` for a missing id and a new option (one id in 64 did, and a CI run failed on it,
 * 2026-12-03). The id also goes as `--cluster-id=<id>`, which parses whatever it starts with.
 */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** This stack's cluster id, made once and kept beside its data. */
function clusterId(): string {
  if (!existsSync(clusterIdFile)) writeFileSync(clusterIdFile, `${newClusterId()}\n`);
  return readFileSync(clusterIdFile, 'utf8').trim();
}

/** The format tool's arguments for a cluster id (the `=` form: an id is never read as an option). */
export const clusterIdArg = (id: string): string => `--cluster-id=${id}`;

const brokers = [`${host}:${ports.kafka}`];

/** The super-user's SASL settings when this state folder's stack runs secured. */
function adminSasl(): SASLOptions | undefined {
  const password = readCredentialsFound(credsFile)?.admin;
  return password === undefined ? undefined : { mechanism: 'plain', username: 'admin', password };
}

/**
 * A probe with the state folder's credentials. Without them, a broker that asks for SASL is another
 * checkout's secured stack: say so at once instead of failing the probe until the start times out.
 */
async function probeKafka(check: (b: string[], sasl?: SASLOptions) => Promise<boolean>): Promise<boolean> {
  const sasl = adminSasl();
  if (sasl) return check(brokers, sasl);
  try {
    return await check(brokers);
  } catch (err) {
    if (await kafkaWantsSasl(brokers)) {
      throw new Error(
        `Kafka on ${brokers.join(',')} asks for SASL authentication and ${credsFile} does not exist: it was started by another checkout's stack. Set VOICELOOP_STACK_DIR to that stack's state folder (the one holding kafka/credentials, e.g. VOICELOOP_STACK_DIR=/work/main/.stack)`,
      );
    }
    throw err;
  }
}

/** Redacts the passwords of `--add-scram` arguments from a failed command's message. */
export function redactScram(err: unknown): Error {
  const msg = (err as Error).message.replace(/password=[^\]\s]*/g, 'password=***');
  return new Error(msg);
}

export const kafka: Service = {
  name: 'kafka',
  port: ports.kafka,
  program: 'java',
  marker: `-Dvoiceloop.stack=${configFile}`,
  logFile: join(logsDir, 'kafka.log'),
  startTimeoutMs: 120_000,
  // SIGTERM is Kafka's controlled shutdown: flush logs, write the clean-shutdown marker.
  stopSignal: 'SIGTERM',
  stopTimeoutMs: 60_000,

  fetch: once(async (log) => {
    if (hasMarker(libsDir, versions.kafka)) return;
    await timed(log, `fetched Kafka ${versions.kafka} jars with Maven into ${libsDir}`, () =>
      copyProfileDependencies('kafka', libsDir, versions.kafka),
    );
  }),

  async prepare(log) {
    await kafka.fetch!(log);
    java = (await javaFor(17)).bin;
    const formatted = existsSync(join(dataDir, 'meta.properties'));
    let creds: Partial<Record<Principal, string>> | undefined;
    if (SECURED) {
      if (formatted && !existsSync(credsFile)) {
        // Formatted without SCRAM users (before issue 13): KRaft adds users at format time or through
        // a running broker, which would have to be started unauthenticated first. Its records are
        // kept aside, not deleted.
        const aside = join(baseDir, `data-unauthenticated-${new Date().toISOString().replace(/[:.]/g, '-')}`);
        renameSync(dataDir, aside);
        log(`data folder was formatted without SASL users: moved to ${aside}, formatting anew`);
      }
      // A formatted broker's users exist already: principals the file lacks are added through the
      // running broker by bootstrap(), users first, then the file. A fresh format adds them all.
      creds = existsSync(join(dataDir, 'meta.properties'))
        ? readCredentialsFound(credsFile)
        : ensureCredentials(credsFile);
    }
    mkdirSync(dataDir, { recursive: true });
    // Rewritten every start so a settings change applies to an existing data directory. It holds the
    // super-user's password when secured: owner-only, like the credentials file.
    writeFileSync(
      configFile,
      serverProperties({
        host,
        port: ports.kafka,
        controller: ports.kafkaController,
        dataDir,
        ...(creds?.admin !== undefined ? { adminPassword: creds.admin } : {}),
      }),
      { mode: 0o600 },
    );
    chmodSync(configFile, 0o600); // a file written before issue 13 keeps its old mode otherwise
    writeFileSync(log4jFile, log4jConfig());
    if (existsSync(join(dataDir, 'meta.properties'))) return;
    const id = clusterId();
    await timed(log, `formatted KRaft storage (cluster ${id}${creds ? ', SCRAM users added' : ''})`, () =>
      run(
        java,
        [
          `-Dlog4j2.configurationFile=${log4jFile}`,
          '-cp',
          classpath,
          'kafka.tools.StorageTool',
          'format',
          clusterIdArg(id),
          '-c',
          configFile,
          ...(creds ? scramFormatArgs(ensureCredentials(credsFile)) : []),
        ],
        { cwd: baseDir },
      ).catch((err: unknown) => {
        throw redactScram(err);
      }),
    );
  },

  // Secured: principals the credentials file lacks (a stack made before they existed) added as SCRAM
  // users, then the deployment's ACLs (kafkaAuth.ts), granted by the super-user; granting an existing
  // ACL again changes nothing, so this runs on every `up`, running broker or not.
  async bootstrap(log) {
    const sasl = adminSasl();
    if (!sasl) return;
    const found = readCredentialsFound(credsFile);
    if (found && missingPrincipals(found).length > 0) {
      const tool = { java: (await javaFor(17)).bin, classpath, workDir: baseDir };
      const added = await addMissingPrincipals(tool, brokers[0]!, credsFile);
      log(`SCRAM users added for ${added.join(', ')} (passwords in ${credsFile})`);
    }
    const n = await grantAcls(brokers, sasl, roleAcls(stackTopicPrefix, topicNames(stackTopicPrefix)));
    log(`ACLs of topic prefix ${stackTopicPrefix}: ${n} granted`);
  },

  command() {
    return {
      command: java,
      args: [
        `-Dvoiceloop.stack=${configFile}`,
        '-Xms256m',
        '-Xmx1g',
        '-XX:+UseG1GC',
        '-XX:MaxGCPauseMillis=20',
        '-Djava.awt.headless=true',
        `-Dlog4j2.configurationFile=${log4jFile}`,
        `-Dkafka.logs.dir=${logsDir}`,
        '-cp',
        classpath,
        'kafka.Kafka',
        configFile,
      ],
      cwd: baseDir,
    };
  },

  // Metadata answers as soon as the broker has registered; the group coordinator needs
  // __consumer_offsets, which a fresh cluster creates on the first FindCoordinator.
  answers: () => probeKafka(kafkaAnswers),
  ready: () => probeKafka(kafkaReady),
};
