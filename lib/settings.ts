// The environment is read here and only here (STYLE §5; test/unit/architecture/env.test.ts checks it):
// environment -> validated, defaulted, frozen object, for the program (loadSettings), the local stack
// (readStackEnv), the benches (readBenchEnv), the tests (readTestEnv) and child processes (envWith). Every default points at
// the local stack (`npm run stack:up`), so after it nothing needs configuring.
import { localEndpoints, localS3, type StackEndpoints } from '../stack/endpoints.ts';
import { secretProblem } from './auth.ts';
import { VoiceloopError } from './errors.ts';
import { type KafkaAuth, kafkaAuth } from './kafkaSettings.ts';
import { withFileSecrets } from './secretFiles.ts';

export { type KafkaAuth, type KafkaSasl, kafkaSaslFor } from './kafkaSettings.ts';

export { SECRET_VARS, withFileSecrets } from './secretFiles.ts';

export interface TopicNames {
  snapshots: string;
  results: string;
  changes: string;
  config: string;
  acks: string;
  deadLetters: string;
}

export interface Settings {
  kafka: { brokers: string[]; clientId: string; auth: KafkaAuth };
  schemaRegistry: { url: string };
  database: { url: string; poolMax: number };
  s3: {
    endpoint: string;
    region: string;
    accessKeyId: string;
    secretAccessKey: string;
    bucket: string;
    forcePathStyle: boolean;
    /** Days audio objects are kept (bucket lifecycle where the store supports it, else the sweeper). */
    retentionDays: number;
  };
  topics: TopicNames & {
    prefix: string;
    snapshotPartitions: number;
    /** Snapshot topic retention: long enough to replay for batch optimization. */
    snapshotRetentionMs: number;
    replicationFactor: number;
  };
  api: {
    host: string;
    port: number;
    maxPcmBytes: number;
    tokenSecret: string;
    /** Requests per second one token may make (429 with Retry-After beyond). */
    rateLimitPerSecond: number;
    /** Whole request (headers and body) must arrive within this; slow uploads are cut off (408). */
    requestTimeoutMs: number;
    /** An idle connection is closed after this. */
    connectionTimeoutMs: number;
    /** Snapshots in flight to Kafka at most; beyond, 503 at once. */
    produceQueueMax: number;
    /** A snapshot not on Kafka within this gets 503 (retry with the same snapshot_id). */
    produceTimeoutMs: number;
    /** Event-loop delay beyond which new requests get 503 at once (0: never). */
    maxEventLoopDelayMs: number;
    /** Open connections at most; a connection beyond gets 503 at accept time (0: no cap). */
    maxConnections: number;
  };
  groups: { persister: string; online: string; batch: string };
  /** The maintenance role (maintenance/): what ages out when, and how often it looks. */
  retention: RetentionSettings;
  webhooks: {
    /** Deliver to loopback and private addresses too (a receiver inside one's own network; tests). */
    allowPrivateNetworks: boolean;
    /** A receiver that has not answered within this has failed the attempt. */
    timeoutMs: number;
    /** First retry delay; each further one doubles (with jitter) up to maxBackoffMs. */
    retryBaseMs: number;
    maxBackoffMs: number;
    /** Attempts of one delivery before it is abandoned. */
    maxAttempts: number;
    /** Failed attempts in a row after which a subscription is paused. */
    pauseAfterFailures: number;
    /** Dead letters within one monitor period that raise dead_letters.threshold. */
    deadLetterThreshold: number;
    /** How often dead letters and readiness are checked. */
    monitorMs: number;
  };
  /** ROLES: comma-separated roles this process runs (runtime/app.ts validates the names); null = all. */
  roles: string | null;
  /** OTLP/HTTP collector base URL for traces; null = tracing stays local (context still propagates). */
  otlpEndpoint: string | null;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** True when all four service endpoints come from the environment: the stack starts nothing. */
  externalServices: boolean;
  /** True when LOG_LEVEL was set: the person asked for log lines (the demo then prints them as JSON). */
  logLevelGiven: boolean;
  /** Who runs this process (USER), for the actor of changes a CLI makes. */
  user: string;
  engines: EngineSettings;
}

/**
 * The speech engines behind the stations (issue 14): local ones by default, a vendor one variable
 * away. The URL overrides exist for a gateway in between (and for the tests' local protocol servers).
 */
export interface EngineSettings {
  /** STT_PROVIDER: pocketsphinx (local, Debian) or deepgram (live streaming; needs DEEPGRAM_API_KEY). */
  stt: { provider: 'pocketsphinx' | 'deepgram'; deepgram: { apiKey: string | null; url: string | null } };
  /** EMOTION_PROVIDER: model (labelled as such) or hume (streaming expression measurement; HUME_API_KEY). */
  emotion: { provider: 'model' | 'hume'; hume: { apiKey: string | null; url: string | null } };
  /** Asterisk ARI (ARI_URL, ARI_USER, ARI_PASSWORD, ARI_APP, ARI_EXTERNAL_HOST); null = no Asterisk adapter. */
  ari: { url: string; user: string; password: string; app: string; externalHost: string } | null;
}

/**
 * Retention of what the program stores (issue 13). Snapshot rows follow SNAPSHOT_RETENTION_DAYS and PCM
 * objects AUDIO_RETENTION_DAYS (both above); a tenant's own retention (tenant_retention) may be shorter.
 */
export interface RetentionSettings {
  /** OUTBOX_RETENTION_DAYS: published outbox rows are kept this long (for inspection), then deleted. */
  outboxDays: number;
  /** CONFIG_STATE_RETENTION_DAYS: a call-scoped config key tombstoned this long ago is forgotten. */
  configStateDays: number;
  /** RUN_RETENTION_DAYS: finished optimizer runs no change or experiment refers to. */
  runDays: number;
  /** OBSERVATION_RETENTION_DAYS: batch observations (the batch optimizer's learning history). */
  observationDays: number;
  /**
   * WEBHOOK_RETENTION_DAYS: webhook deliveries delivered or abandoned this long ago, with their attempts
   * (the delivery log); pending ones always stay.
   */
  webhookDays: number;
  /** MAINTENANCE_INTERVAL_MINUTES: how often the maintenance role sweeps. */
  intervalMs: number;
}

type Env = Record<string, string | undefined>;

/** A variable's value, or undefined when unset or empty (an empty value means "not given" everywhere). */
function given(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new VoiceloopError(
      'CONFIG_INVALID',
      `${name}=${raw} is invalid: expected an integer in [${min}, ${max}]`,
    );
  }
  return n;
}

function url(env: Env, name: string, def: string, protocols: string[]): string {
  const raw = given(env, name) ?? def;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new VoiceloopError('CONFIG_INVALID', `${name}=${raw} is not a URL`);
  }
  if (!protocols.includes(u.protocol)) {
    throw new VoiceloopError('CONFIG_INVALID', `${name}=${raw} must use ${protocols.join(' or ')}`);
  }
  return raw.replace(/\/+$/, '');
}

function topicPrefix(raw: string): string {
  if (!/^[a-zA-Z0-9._-]{1,100}$/.test(raw)) {
    throw new VoiceloopError(
      'CONFIG_INVALID',
      `TOPIC_PREFIX=${raw} may hold only letters, digits, '.', '_' and '-'`,
    );
  }
  return raw;
}

export function topicNames(prefix: string): TopicNames {
  return {
    snapshots: `${prefix}.station-snapshots`,
    results: `${prefix}.optimizer-results`,
    changes: `${prefix}.parameter-changes`,
    config: `${prefix}.config`,
    acks: `${prefix}.config-acks`,
    deadLetters: `${prefix}.dead-letters`,
  };
}

// The development secret only works on loopback; anything listening wider must set its own.
const DEV_SECRET = 'voiceloop-local-development-secret';
function secret(env: Env): string {
  const s = env.API_TOKEN_SECRET ?? DEV_SECRET;
  const weak = secretProblem(s);
  if (weak) throw new VoiceloopError('CONFIG_INVALID', `API_TOKEN_SECRET ${weak}`);
  const host = env.HOST ?? '127.0.0.1';
  if (s === DEV_SECRET && !['127.0.0.1', 'localhost', '::1'].includes(host)) {
    throw new VoiceloopError('CONFIG_INVALID', `HOST=${host} listens beyond loopback: set API_TOKEN_SECRET`);
  }
  return s;
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], def: T): T {
  const raw = env[name] || def;
  if (!values.includes(raw as T)) {
    throw new VoiceloopError('CONFIG_INVALID', `${name}=${raw} must be one of ${values.join(', ')}`);
  }
  return raw as T;
}

function engines(env: Env): EngineSettings {
  const stt = oneOf(env, 'STT_PROVIDER', ['pocketsphinx', 'deepgram'] as const, 'pocketsphinx');
  const emotion = oneOf(env, 'EMOTION_PROVIDER', ['model', 'hume'] as const, 'model');
  const key = (name: string, provider: string, chosen: boolean): string | null => {
    const v = env[name] || null;
    if (chosen && v === null) throw new VoiceloopError('CONFIG_INVALID', `${provider} needs ${name}`);
    return v;
  };
  const optionalUrl = (name: string, protocols: string[]) =>
    env[name] ? url(env, name, '', protocols) : null;
  let ari: EngineSettings['ari'] = null;
  if (env.ARI_URL) {
    const user = env.ARI_USER;
    const password = env.ARI_PASSWORD;
    if (!user || !password) {
      throw new VoiceloopError('CONFIG_INVALID', 'ARI_URL is set: ARI_USER and ARI_PASSWORD are needed too');
    }
    const app = env.ARI_APP || 'voiceloop';
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(app)) {
      throw new VoiceloopError(
        'CONFIG_INVALID',
        `ARI_APP=${app} may hold only letters, digits, '.', '_' and '-'`,
      );
    }
    // Where Asterisk sends the snooped audio as RTP: the station 1 agent's listener.
    const externalHost = env.ARI_EXTERNAL_HOST || '127.0.0.1:40000';
    if (!/^[^:\s]+:\d{1,5}$/.test(externalHost)) {
      throw new VoiceloopError('CONFIG_INVALID', `ARI_EXTERNAL_HOST=${externalHost} must be host:port`);
    }
    ari = { url: url(env, 'ARI_URL', '', ['http:', 'https:']), user, password, app, externalHost };
  }
  return {
    stt: {
      provider: stt,
      deepgram: {
        apiKey: key('DEEPGRAM_API_KEY', 'STT_PROVIDER=deepgram', stt === 'deepgram'),
        url: optionalUrl('DEEPGRAM_URL', ['ws:', 'wss:', 'http:', 'https:']),
      },
    },
    emotion: {
      provider: emotion,
      hume: {
        apiKey: key('HUME_API_KEY', 'EMOTION_PROVIDER=hume', emotion === 'hume'),
        url: optionalUrl('HUME_URL', ['ws:', 'wss:', 'http:', 'https:']),
      },
    },
    ari,
  };
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function loadSettings(
  rawEnv: Env = process.env,
  defaults: { logLevel?: Settings['logLevel'] } = {},
): Readonly<Settings> {
  const env = withFileSecrets(rawEnv);
  const stack = localEndpoints(readStackEnv(rawEnv).apicurioPort);
  const brokersRaw = given(env, 'KAFKA_BROKERS') ?? stack.kafkaBrokers.join(',');
  const brokers = brokersRaw
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  for (const b of brokers) {
    if (!/^[^:\s]+:\d{1,5}$/.test(b))
      throw new VoiceloopError('CONFIG_INVALID', `KAFKA_BROKERS entry "${b}" must be host:port`);
  }
  if (brokers.length === 0) throw new VoiceloopError('CONFIG_INVALID', 'KAFKA_BROKERS is empty');

  const logLevel = (given(env, 'LOG_LEVEL') ?? defaults.logLevel ?? 'info') as Settings['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new VoiceloopError(
      'CONFIG_INVALID',
      `LOG_LEVEL=${logLevel} must be one of ${LOG_LEVELS.join(', ')}`,
    );
  }
  const prefix = topicPrefix(env.TOPIC_PREFIX ?? 'voiceloop');

  const cfg: Settings = {
    kafka: { brokers, clientId: env.KAFKA_CLIENT_ID ?? 'voiceloop', auth: kafkaAuth(env) },
    schemaRegistry: { url: url(env, 'SCHEMA_REGISTRY_URL', stack.schemaRegistryUrl, ['http:', 'https:']) },
    database: {
      url: url(env, 'DATABASE_URL', stack.databaseUrl, ['postgres:', 'postgresql:']),
      poolMax: int(env, 'DATABASE_POOL_MAX', 10, 1, 200),
    },
    s3: {
      endpoint: url(env, 'S3_ENDPOINT', stack.s3.endpoint, ['http:', 'https:']),
      region: given(env, 'S3_REGION') ?? stack.s3.region,
      accessKeyId: given(env, 'S3_ACCESS_KEY_ID') ?? stack.s3.accessKeyId,
      secretAccessKey: given(env, 'S3_SECRET_ACCESS_KEY') ?? stack.s3.secretAccessKey,
      bucket: given(env, 'S3_BUCKET') ?? stack.s3.bucket,
      forcePathStyle: (env.S3_FORCE_PATH_STYLE ?? 'true') !== 'false',
      retentionDays: int(env, 'AUDIO_RETENTION_DAYS', 30, 1, 3650),
    },
    topics: {
      ...topicNames(prefix),
      prefix,
      snapshotPartitions: int(env, 'SNAPSHOT_PARTITIONS', 6, 1, 1000),
      snapshotRetentionMs: int(env, 'SNAPSHOT_RETENTION_DAYS', 14, 1, 3650) * 86_400_000,
      replicationFactor: int(env, 'KAFKA_REPLICATION_FACTOR', 1, 1, 5),
    },
    api: {
      host: env.HOST ?? '127.0.0.1',
      port: int(env, 'PORT', 3021, 0, 65535),
      maxPcmBytes: int(env, 'MAX_PCM_BYTES', 4 * 1024 * 1024, 1024, 64 * 1024 * 1024),
      tokenSecret: secret(env),
      rateLimitPerSecond: int(env, 'RATE_LIMIT_PER_SECOND', 500, 1, 1_000_000),
      requestTimeoutMs: int(env, 'REQUEST_TIMEOUT_MS', 15_000, 100, 600_000),
      connectionTimeoutMs: int(env, 'CONNECTION_TIMEOUT_MS', 30_000, 100, 600_000),
      produceQueueMax: int(env, 'PRODUCE_QUEUE_MAX', 512, 1, 100_000),
      produceTimeoutMs: int(env, 'PRODUCE_TIMEOUT_MS', 1_000, 50, 120_000),
      maxEventLoopDelayMs: int(env, 'MAX_EVENT_LOOP_DELAY_MS', 200, 0, 60_000),
      maxConnections: int(env, 'API_MAX_CONNECTIONS', 256, 0, 1_000_000),
    },
    groups: {
      persister: `${prefix}.persister`,
      online: `${prefix}.online-optimizer`,
      batch: `${prefix}.batch-optimizer`,
    },
    retention: {
      outboxDays: int(env, 'OUTBOX_RETENTION_DAYS', 7, 1, 3650),
      configStateDays: int(env, 'CONFIG_STATE_RETENTION_DAYS', 7, 1, 3650),
      runDays: int(env, 'RUN_RETENTION_DAYS', 90, 1, 3650),
      observationDays: int(env, 'OBSERVATION_RETENTION_DAYS', 365, 1, 3650),
      webhookDays: int(env, 'WEBHOOK_RETENTION_DAYS', 30, 1, 3650),
      intervalMs: int(env, 'MAINTENANCE_INTERVAL_MINUTES', 60, 1, 7 * 24 * 60) * 60_000,
    },
    webhooks: {
      allowPrivateNetworks: env.WEBHOOK_ALLOW_PRIVATE_NETWORKS === 'true',
      timeoutMs: int(env, 'WEBHOOK_TIMEOUT_MS', 5_000, 100, 60_000),
      retryBaseMs: int(env, 'WEBHOOK_RETRY_BASE_MS', 1_000, 10, 3_600_000),
      maxBackoffMs: int(env, 'WEBHOOK_MAX_BACKOFF_MS', 300_000, 10, 86_400_000),
      maxAttempts: int(env, 'WEBHOOK_MAX_ATTEMPTS', 12, 1, 100),
      pauseAfterFailures: int(env, 'WEBHOOK_PAUSE_AFTER_FAILURES', 10, 1, 1000),
      deadLetterThreshold: int(env, 'WEBHOOK_DEAD_LETTER_THRESHOLD', 10, 1, 1_000_000),
      monitorMs: int(env, 'WEBHOOK_MONITOR_MS', 30_000, 50, 3_600_000),
    },
    roles: env.ROLES ?? null,
    otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT
      ? url(env, 'OTEL_EXPORTER_OTLP_ENDPOINT', '', ['http:', 'https:'])
      : null,
    logLevel,
    externalServices: Boolean(
      env.KAFKA_BROKERS && env.SCHEMA_REGISTRY_URL && env.DATABASE_URL && env.S3_ENDPOINT,
    ),
    logLevelGiven: given(env, 'LOG_LEVEL') !== undefined,
    user: given(env, 'USER') ?? 'cli',
    engines: engines(env),
  };
  return deepFreeze(cfg);
}

/** A copy with another topic prefix (and its groups): how tests and benchmarks isolate themselves. */
export function withPrefix(cfg: Readonly<Settings>, prefix: string): Readonly<Settings> {
  const p = topicPrefix(prefix);
  return deepFreeze({
    ...structuredClone(cfg),
    topics: { ...cfg.topics, ...topicNames(p), prefix: p },
    groups: { persister: `${p}.persister`, online: `${p}.online-optimizer`, batch: `${p}.batch-optimizer` },
  });
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** What the local stack takes from the environment; everything else about it is fixed (stack/endpoints.ts). */
export interface StackEnv {
  /** VOICELOOP_APICURIO_PORT (and _MANAGEMENT_PORT): a second registry beside a running stack. */
  apicurioPort: number;
  apicurioManagementPort: number;
  /** VOICELOOP_APICURIO_VERSION: 2 forces the Java 17 line, 3 insists on 3.x; undefined picks by Java. */
  apicurioLine: 2 | 3 | undefined;
  /** VOICELOOP_STACK_DIR: where the stack writes data, logs and pid files (default: .stack). */
  stateDir: string | undefined;
  /** TOPIC_PREFIX: the deployment whose ACLs the stack's broker grants (default voiceloop). */
  topicPrefix: string;
  /** JAVA_HOME: a JDK to consider when `java` on PATH is too old for a server. */
  javaHome: string | undefined;
  /** The four service endpoints, when all are given: the stack then starts nothing. */
  external: StackEndpoints | undefined;
  /** Names of the endpoint variables set when not all four are (for a warning). */
  partialExternalVars: readonly string[];
}

const EXTERNAL_VARS = ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'DATABASE_URL', 'S3_ENDPOINT'] as const;

function port(env: Env, name: string, def: number): number {
  return int(env, name, def, 1, 65535);
}

export function readStackEnv(rawEnv: Env = process.env): StackEnv {
  const env = withFileSecrets(rawEnv);
  const line = given(env, 'VOICELOOP_APICURIO_VERSION');
  if (line !== undefined && line !== '2' && line !== '3')
    throw new VoiceloopError(
      'CONFIG_INVALID',
      `VOICELOOP_APICURIO_VERSION=${line}: expected 2 or 3 (or unset)`,
    );
  const set = EXTERNAL_VARS.filter((k) => given(env, k) !== undefined);
  const external: StackEndpoints | undefined =
    set.length === EXTERNAL_VARS.length
      ? Object.freeze({
          kafkaBrokers: env
            .KAFKA_BROKERS!.split(',')
            .map((x) => x.trim())
            .filter(Boolean),
          schemaRegistryUrl: env.SCHEMA_REGISTRY_URL!,
          databaseUrl: env.DATABASE_URL!,
          s3: Object.freeze({
            ...localS3,
            endpoint: env.S3_ENDPOINT!,
            region: given(env, 'S3_REGION') ?? localS3.region,
            accessKeyId: given(env, 'S3_ACCESS_KEY_ID') ?? localS3.accessKeyId,
            secretAccessKey: given(env, 'S3_SECRET_ACCESS_KEY') ?? localS3.secretAccessKey,
            bucket: given(env, 'S3_BUCKET') ?? localS3.bucket,
          }),
        })
      : undefined;
  return Object.freeze({
    apicurioPort: port(env, 'VOICELOOP_APICURIO_PORT', 38081),
    apicurioManagementPort: port(env, 'VOICELOOP_APICURIO_MANAGEMENT_PORT', 38082),
    apicurioLine: line === undefined ? undefined : (Number(line) as 2 | 3),
    stateDir: given(env, 'VOICELOOP_STACK_DIR'),
    topicPrefix: topicPrefix(given(env, 'TOPIC_PREFIX') ?? 'voiceloop'),
    javaHome: given(env, 'JAVA_HOME'),
    external,
    partialExternalVars: set.length > 0 && set.length < EXTERNAL_VARS.length ? set : [],
  });
}

/** The benches' own knobs. */
export function readBenchEnv(env: Env = process.env) {
  return Object.freeze({
    /** BENCH_CHILD_CPU_PROF: a directory for CPU profiles of the bench's child processes. */
    childCpuProfile: given(env, 'BENCH_CHILD_CPU_PROF'),
    /** BENCH_CHILD_COUNT_MS: how often a bench child reports its count. */
    childCountMs: int(env, 'BENCH_CHILD_COUNT_MS', 20, 1, 60_000),
  });
}

/** The directories of PATH, where executables are looked for. */
export function executableDirs(env: Env = process.env): string[] {
  return (given(env, 'PATH') ?? '/usr/bin:/bin').split(':').filter(Boolean);
}

/**
 * The AWS SDK warns at its first client, on Node < 22, that its releases after January 2027 will need
 * Node 22. The lockfile pins a release that runs on this Node (README, "Configuration"), so a person
 * starting the demo or a role is not shown that warning unless they set
 * AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED themselves (the SDK's own switch; `false` shows it).
 */
export function quietSdkNodeWarning(env: Env = process.env): void {
  if (given(env, 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED') === undefined)
    env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
}

/** This process's environment with `extra` on top: for a child process, or settings with overrides. */
export function envWith(extra: Env = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...extra };
}

/** The test runner's knobs: TEST_LOG_LEVEL, the log level of the roles a test starts (default warn). */
export function readTestEnv(env: Env = process.env) {
  return Object.freeze({
    logLevel: given(env, 'TEST_LOG_LEVEL') ?? 'warn',
    /** FUZZ_EXAMPLES: schemathesis examples per operation in the contract fuzz test (default 25). */
    fuzzExamples: int(env, 'FUZZ_EXAMPLES', 25, 1, 100_000),
    /** SPOOL_OUTAGE_MS: how long the spool fault test keeps the broker down (default 60 s, as issue 9 asks). */
    spoolOutageMs: int(env, 'SPOOL_OUTAGE_MS', 60_000, 1_000, 3_600_000),
    /** CONSOLE_SCREENSHOTS: where the console's browser test saves its screenshots (default: a temp dir; docs/ for the README's). */
    consoleScreenshots: given(env, 'CONSOLE_SCREENSHOTS') ?? null,
    /** KAFKA_PRINCIPAL for the tests (default test): the broker principal of every client a test makes. */
    kafkaPrincipal: given(env, 'KAFKA_PRINCIPAL') ?? 'test',
    /** VOICELOOP_TEST_LEAK_LOG: where a test file still alive after its tests writes what holds it (set by npm test). */
    leakLog: given(env, 'VOICELOOP_TEST_LEAK_LOG') ?? null,
    /** NODE_TEST_CONTEXT: set by node's test runner in the process of each test file. */
    inTestFile: given(env, 'NODE_TEST_CONTEXT') !== undefined,
  });
}
