// `npm run agent -- --station 4`: ONE station agent process (DESIGN §3, issue 3). It follows the
// compacted config topic from the beginning, simulates calls for its station from an impairment
// profile (or, with --rtp-listen, takes real calls as RTP: stations/agent/rtpTransport.ts), runs each
// segment through the station's DSP chain with the effective parameters, uploads the PCM and publishes the snapshot stamped with the config version it ran. Every config record it
// applies (or rejects, or sees expire) is logged. Bad flags exit 2 naming the flag; SIGINT/SIGTERM
// finish the segment in flight and stop cleanly.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadCatalog, stationById } from '../catalog/index.ts';
import { ID_RE } from '../domain/snapshot.ts';
import { type AriBridge, startAriBridge } from '../engines/asterisk/ari.ts';
import { ensureSpeechAndEngines } from '../engines/debian.ts';
import { createStageEngines } from '../engines/index.ts';
import { ArgError, intFlag, parseFlags } from '../lib/cli.ts';
import { createLogger } from '../lib/log.ts';
import { createAgentMetrics } from '../lib/metrics.ts';
import { serveMetrics } from '../lib/metricsServer.ts';
import { loadSettings } from '../lib/settings.ts';
import { startTracing } from '../lib/tracing.ts';
import { bootstrapStation } from '../runtime/bootstrap.ts';
import { ensureStack } from '../stack/index.ts';
import { stationPrincipal } from '../stack/kafkaAuth.ts';
import { stateDir } from '../stack/layout.ts';
import { startStationAgent } from '../stations/agent/index.ts';
import { parseRtpArgs, RTP_FLAGS, RTP_USAGE, type RtpAgentArgs } from '../stations/agent/rtpArgs.ts';
import { runRtpAgent } from '../stations/agent/rtpRun.ts';
import {
  bundledImpairmentsPath,
  ImpairmentError,
  type ImpairmentSet,
  loadImpairments,
  profileFor,
  selectStations,
  simulateCall,
} from '../stations/sim/index.ts';

const USAGE = `usage: npm run agent -- --station ID [--tenant T] [--calls N] [--segments N] [--impairments FILE] [--seed S] [--speed X] [--agent-id ID]
       npm run agent -- --station ID --rtp-listen H:P [--rtp-send H:P] [--codec C] [--tenant T] [--calls N]
  --station ID         the station this process is (${loadCatalog()
    .stations.map((s) => s.id)
    .join(', ')})
  --tenant T           tenant of every simulated call (default: the profile's tenants, call i -> tenants[i % n])
  --calls N            simulated calls, then exit; 1..100000 (default: until stopped)
  --segments N         segments per call, 1..3600 (default 8)
  --impairments FILE   impairment profiles (JSON, see stations/impairments/README.md); default: the bundled default
  --seed S             integer seed for speech and impairments (default 7)
  --speed X            how much faster than real time segments are produced, 0.1..1000, or "max" (default 1)
  --agent-id ID        id acks are keyed by (default: station-<ID>.<host>)
  --metrics-port N     serve this agent's /metrics on 127.0.0.1:N (default 9400+ID; 0: any free port)
${RTP_USAGE}`;

interface AgentArgs {
  station: number;
  tenant: string | null;
  calls: number | null;
  segments: number;
  impairments: ImpairmentSet;
  impairmentsPath: string;
  seed: number;
  /** Real-time factor; null = no pacing. */
  speed: number | null;
  agentId: string;
  /** Port of the agent's own /metrics on loopback. */
  metricsPort: number;
  /** Real media instead of the simulator. */
  rtp: RtpAgentArgs | null;
}

// The flags that only mean something for simulated calls.
const SIMULATOR_FLAGS = ['segments', 'impairments', 'seed', 'speed'];

function parseAgentArgs(argv: string[]): AgentArgs {
  const v = parseFlags(
    argv,
    {
      station: { type: 'string' },
      tenant: { type: 'string' },
      calls: { type: 'string' },
      segments: { type: 'string' },
      impairments: { type: 'string' },
      seed: { type: 'string' },
      speed: { type: 'string' },
      'agent-id': { type: 'string' },
      'metrics-port': { type: 'string' },
      ...RTP_FLAGS,
    },
    USAGE,
  ) as Record<string, string | boolean | undefined>;
  const str = (name: string) => v[name] as string | undefined;

  if (str('station') === undefined) throw new ArgError(`--station is required\n${USAGE}`);
  const station = intFlag('station', str('station'), 1, 9999)!;
  if (!stationById(station)) {
    throw new ArgError(
      `--station ${station} is not in the station catalog (known: ${loadCatalog()
        .stations.map((s) => s.id)
        .join(', ')})`,
    );
  }
  const tenant = str('tenant') ?? null;
  if (tenant !== null && !ID_RE.test(tenant))
    throw new ArgError(`--tenant "${tenant}" must be 1-64 characters A-Z a-z 0-9 . _ -`);
  const agentId =
    str('agent-id') ?? `station-${station}.${hostname().replace(/[^A-Za-z0-9._-]/g, '-')}`.slice(0, 64);
  if (!ID_RE.test(agentId))
    throw new ArgError(`--agent-id "${agentId}" must be 1-64 characters A-Z a-z 0-9 . _ -`);

  const rtp = parseRtpArgs(v, SIMULATOR_FLAGS);
  const impairmentsPath = str('impairments') ?? bundledImpairmentsPath('default').pathname;
  let impairments: ImpairmentSet;
  try {
    impairments = loadImpairments(impairmentsPath);
  } catch (err) {
    const why = err instanceof ImpairmentError ? err.message : (err as Error).message;
    throw new ArgError(`--impairments ${impairmentsPath}: ${why}`);
  }
  if (!rtp && !profileFor(impairments, station)) {
    throw new ArgError(
      `--impairments ${impairmentsPath} has no profile for station ${station} (it has ${impairments.stations.map((s) => s.stationId).join(', ')})`,
    );
  }

  let speed: number | null = 1;
  const rawSpeed = str('speed');
  if (rawSpeed === 'max') speed = null;
  else if (rawSpeed !== undefined) {
    const x = Number(rawSpeed);
    if (rawSpeed.trim() === '' || !Number.isFinite(x) || x < 0.1 || x > 1000)
      throw new ArgError(`--speed must be a number within [0.1, 1000] or "max", got "${rawSpeed}"`);
    speed = x;
  }
  return {
    station,
    tenant,
    calls: intFlag('calls', str('calls'), 1, 100_000) ?? null,
    segments: intFlag('segments', str('segments'), 1, 3600) ?? 8,
    impairments: rtp ? impairments : selectStations(impairments, [station]),
    impairmentsPath,
    seed: intFlag('seed', str('seed'), -(2 ** 31), 2 ** 31 - 1) ?? 7,
    speed,
    agentId,
    metricsPort: intFlag('metrics-port', str('metrics-port'), 0, 65535) ?? 9400 + station,
    rtp,
  };
}

let args: AgentArgs;
try {
  args = parseAgentArgs(process.argv.slice(2));
} catch (err) {
  if (err instanceof ArgError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}

let cfg = loadSettings();
// Spans of the agent's applies continue the trace of the change (headers); exported with an endpoint.
const stopTracing = startTracing(cfg.otlpEndpoint, 'voiceloop-agent');
const log = createLogger(cfg.logLevel, 'voiceloop-agent').child({
  station: args.station,
  agent: args.agentId,
});
if (!cfg.externalServices) {
  log.info('bringing up the local stack if it is not running');
  await ensureStack({ log: (s) => log.info(s) });
  // Read again: the stack's first start writes the Kafka credentials file the clients sign in with.
  cfg = loadSettings();
}

// Stop on the first SIGINT/SIGTERM after the segment in flight; a second one exits at once.
const stop = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stop.signal.aborted) process.exit(1);
    log.info({ sig }, 'stopping after the segment in flight');
    stop.abort();
  });
}

// The station's stage engine (recognizer at 4, emotion at 11) and the packages the local ones need.
await ensureSpeechAndEngines((line) => log.info(line)).catch((err: Error) =>
  log.warn(`running without them: ${err.message}`),
);
const engines = createStageEngines(cfg.engines);
// The agent acts as its own station on the broker (stack/kafkaAuth.ts): `station-<id>`.
const rt = await bootstrapStation(cfg, { log, principal: stationPrincipal(args.station) });
// The agent's own metrics (applied version, apply latency, TTL expiries) on its own /metrics; a port
// already taken is said once and the agent goes on without it (its calls matter more).
const agentMetrics = createAgentMetrics(undefined, true);
const metricsServer = await serveMetrics(agentMetrics.registry, '127.0.0.1', args.metricsPort).catch(
  (err: Error) => {
    log.warn(`no /metrics for this agent: ${err.message}; pass --metrics-port`);
    return undefined;
  },
);
if (metricsServer) log.info({ url: metricsServer.url }, 'agent metrics');
const role = await startStationAgent(
  { ...rt, agentMetrics },
  {
    topics: cfg.topics,
    agentId: args.agentId,
    stations: [args.station],
    maxPcmBytes: cfg.api.maxPcmBytes,
    stageFor: engines.forStation,
    // One spool per agent id: a restarted agent sends what its previous run could not, first.
    spoolDir: join(stateDir, 'spool', args.agentId),
  },
);
role.feed.onEvent((e) => {
  const fields = { key: e.key, version: e.version, ...(e.reason ? { reason: e.reason } : {}) };
  if (e.status === 'applied') log.info(fields, `applied config version ${e.version}`);
  else if (e.status === 'rejected') log.warn(fields, `rejected config version ${e.version}`);
  else if (e.status === 'expired') log.info(fields, `config version ${e.version} expired`);
  else log.info(fields, 'config record removed');
});
const agent = role.station(args.station);
// Station 1 with ARI_URL: Asterisk's calls are snooped and sent as RTP to ARI_EXTERNAL_HOST.
let ari: AriBridge | undefined;
if (cfg.engines.ari && args.station === 1) ari = await startAriBridge({ log }, cfg.engines.ari);
const spec = stationById(args.station)!;
log.info(
  args.rtp
    ? { input: 'rtp', calls: args.calls ?? 'until stopped', tenant: args.tenant ?? 'default' }
    : {
        impairments: args.impairmentsPath,
        calls: args.calls ?? 'until stopped',
        segments: args.segments,
        seed: args.seed,
        speed: args.speed ?? 'max',
      },
  `station ${args.station} (${spec.component}, ${spec.position}) following ${cfg.topics.config}`,
);

const run = Date.now().toString(36);
let exitCode = 0;
try {
  if (args.rtp) {
    await runRtpAgent({ agent, log, signal: stop.signal }, args.rtp, {
      tenantId: args.tenant ?? 'default',
      callPrefix: `st${args.station}-${run}`,
      maxCalls: args.calls,
    });
  }
  for (let c = 0; !args.rtp && (args.calls === null || c < args.calls) && !stop.signal.aborted; c++) {
    const sim = simulateCall({
      impairments: args.impairments,
      callIndex: c,
      seed: args.seed,
      segments: args.segments,
    });
    const tenantId = args.tenant ?? sim.tenantId;
    const callId = `st${args.station}-${run}-${c}`;
    let lastVersion = -1;
    let done = 0;
    for (const seg of sim.segments) {
      if (stop.signal.aborted) break;
      const input = seg.inputs.get(args.station)!;
      const started = Date.now();
      const res = await agent.processSegment(
        { tenantId, callId, channel: spec.leg, codec: spec.network ? 'pcmu' : null, labels: input.labels },
        { index: seg.index, startMs: seg.startMs, endMs: seg.endMs },
        input,
      );
      const v = res.snapshot.applied_config_version;
      if (v !== lastVersion) {
        log.info({ call: callId, segment: seg.index, params: res.params }, `call runs config version ${v}`);
        lastVersion = v;
      }
      done++;
      log.debug(
        {
          call: callId,
          segment: seg.index,
          snapshot: res.snapshot.snapshot_id,
          loudness_lufs: Number(res.snapshot.metrics.audio.loudness_lufs.toFixed(1)),
        },
        'snapshot published',
      );
      if (args.speed !== null) {
        const wait = (seg.endMs - seg.startMs) / args.speed - (Date.now() - started);
        if (wait > 0) await sleep(wait, undefined, { signal: stop.signal }).catch(() => {});
      }
    }
    agent.endCall(tenantId, callId);
    log.info(
      { call: callId, tenant: tenantId, segments: done },
      done === sim.segments.length ? `call ${c + 1} done` : `call ${c + 1} cut short by the stop`,
    );
  }
} catch (err) {
  log.error({ err: (err as Error).message }, 'agent failed');
  exitCode = 1;
} finally {
  await ari?.stop();
  await role.stop();
  await metricsServer?.close();
  await engines.close().catch(() => {});
  await rt.close();
  await stopTracing().catch(() => {});
}
log.info('stopped');
process.exit(exitCode);
