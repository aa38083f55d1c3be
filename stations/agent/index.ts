// The station agent role in one call: the config feed (compacted config topic -> effective parameters,
// acks), the snapshot producer (PCM to S3, then the snapshot) and one StationAgent per station served.
// The CLI (`npm run agent`), the demo and the integration tests all start agents through this.
import type { Kafka } from 'kafkajs';
import type { StageEngine } from '../../engines/stage.ts';
import { VoiceloopError } from '../../lib/errors.ts';
import { createLifecycle, type Role } from '../../lib/lifecycle.ts';
import type { Logger } from '../../lib/log.ts';
import type { AgentMetrics, Metrics } from '../../lib/metrics.ts';
import type { Settings } from '../../lib/settings.ts';
import { createSpoolingProducer } from '../../producers/spool.ts';
import { createStationProducer } from '../../producers/stationProducer.ts';
import type { AudioStore } from '../../storage/audioStore.ts';
import type { Registry } from '../../streams/registry.ts';
import { StationAgent } from './agent.ts';
import { type ConfigFeed, startConfigFeed } from './configFeed.ts';

export { type CallInfo, type ProcessedSegment, type SegmentInfo, StationAgent } from './agent.ts';
export type { ConfigEvent, ConfigFeed } from './configFeed.ts';

export interface StationAgentDeps {
  kafka: Kafka;
  registry: Registry;
  audio: AudioStore;
  log: Logger;
  metrics?: Metrics;
  /** The agent's own metrics, served on its own /metrics (lib/metricsServer.ts). */
  agentMetrics?: AgentMetrics;
}

export interface StationAgentRoleOptions {
  topics: Pick<Settings['topics'], 'config' | 'acks' | 'prefix' | 'snapshots'>;
  /** Stable id of this agent process (the ack key). */
  agentId: string;
  /** Stations served by this process. */
  stations: readonly number[];
  /** Keep each segment's input in the audio store for counterfactual replay (the simulator's agents). */
  keepReplayAudio?: boolean;
  /** Upload each segment's processed PCM (off only for latency benchmarks). */
  uploadAudio?: boolean;
  maxPcmBytes?: number;
  clock?: () => number;
  /** How often TTLs are checked on the agent's clock. */
  expiryCheckMs?: number;
  /** How long to wait for the config topic to be read up to its end at start. */
  readyTimeoutMs?: number;
  /** Each station's stage engine (recognizer at 4, emotion analyzer at 11); the caller closes them. */
  stageFor?: (stationId: number) => StageEngine | undefined;
  /**
   * Snapshots measured while Kafka or S3 is unreachable wait in a bounded spool in this directory
   * (producers/spool.ts) and are sent in order once they answer; a restarted agent sends it first.
   */
  spoolDir?: string;
}

export interface StationAgentRole extends Role {
  readonly feed: ConfigFeed;
  /** The agent of one station served here. */
  station(stationId: number): StationAgent;
}

export async function startStationAgent(
  deps: StationAgentDeps,
  opts: StationAgentRoleOptions,
): Promise<StationAgentRole> {
  const log = deps.log.child({ role: 'agent', agent: opts.agentId });
  const feed = await startConfigFeed({
    kafka: deps.kafka,
    registry: deps.registry,
    log: log.child({ part: 'config-feed' }),
    topics: opts.topics,
    agentId: opts.agentId,
    stations: opts.stations,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.expiryCheckMs ? { expiryCheckMs: opts.expiryCheckMs } : {}),
    ...(deps.agentMetrics ? { metrics: deps.agentMetrics } : {}),
  });
  try {
    await feed.ready(opts.readyTimeoutMs);
  } catch (err) {
    await feed.stop();
    throw err;
  }
  const producer = await createStationProducer({
    kafka: deps.kafka,
    codec: deps.registry.codec('StationSnapshot'),
    audio: deps.audio,
    topic: opts.topics.snapshots,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    ...(opts.maxPcmBytes ? { maxPcmBytes: opts.maxPcmBytes } : {}),
    source: 'agent',
  }).catch(async (err) => {
    await feed.stop();
    throw err;
  });
  const spool = opts.spoolDir
    ? createSpoolingProducer(producer, { dir: opts.spoolDir, log: log.child({ part: 'spool' }) })
    : undefined;
  const agents = new Map(
    opts.stations.map((stationId) => {
      const stage = opts.stageFor?.(stationId);
      return [
        stationId,
        new StationAgent({
          ...(stage ? { stage } : {}),
          stationId,
          feed,
          producer: spool ?? producer,
          log,
          ...(opts.keepReplayAudio ? { replayAudio: deps.audio } : {}),
          ...(opts.uploadAudio === false ? { uploadAudio: false } : {}),
          ...(opts.clock ? { clock: opts.clock } : {}),
        }),
      ] as const;
    }),
  );
  const lc = createLifecycle(async () => {
    await spool?.stop().catch(() => {});
    await producer.stop().catch(() => {});
    await feed.stop().catch(() => {});
  });
  lc.running();
  return lc.role<Omit<StationAgentRole, keyof Role>>({
    feed,
    station(stationId) {
      const agent = agents.get(stationId);
      if (!agent)
        throw new VoiceloopError('VALIDATION', `station ${stationId} is not served by agent ${opts.agentId}`);
      return agent;
    },
  });
}
