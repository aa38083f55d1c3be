// The main job (issue 4): every role in one process, the simulated stations with their impairments,
// and the loop closing call by call — each segment is one iteration: the stations process and publish,
// the online optimizer decides, the change goes out on the config topic, the agents apply it before
// the next segment. Ends with the summary against the offline best and the ground truth.
import { hostname } from 'node:os';
import { stationById } from '../catalog/index.ts';
import type { StationSnapshot } from '../contracts/generated.ts';
import { createStageEngines } from '../engines/index.ts';
import type { StageEngine } from '../engines/stage.ts';
import type { Logger } from '../lib/log.ts';
import type { Settings } from '../lib/settings.ts';
import type { QualityJudge } from '../quality/index.ts';
import { type App, type RoleName, type StartOptions, startApp } from '../runtime/app.ts';
import { stationPrincipal } from '../stack/kafkaAuth.ts';
import { type StationAgentRole, startStationAgent } from '../stations/agent/index.ts';
import { loadImpairments } from '../stations/sim/index.ts';
import type { DemoArgs } from './args.ts';
import { decisionWaiter, runLiveCalls } from './live.ts';
import type { Progress } from './progress.ts';
import { legFigures } from './rtpLegs.ts';
import { summarize } from './summarize.ts';
import type { DemoSummary } from './types.ts';

export type { DemoSummary, StationSummary } from './types.ts';

export async function runDemo(
  cfg: Readonly<Settings>,
  args: DemoArgs,
  progress: Progress,
  judge: QualityJudge,
  log?: Logger,
  /** Given the roles instead of stopping them, when the caller keeps them serving (--serve). */
  hold?: (app: App) => void,
): Promise<DemoSummary> {
  const impairments = loadImpairments(args.impairments);
  const stations = impairments.stations
    .map((p) => p.stationId)
    .filter((s) => stationById(s))
    .sort((a, b) => a - b);
  const tenant = `demo-${Date.now().toString(36)}`;
  const decisions = decisionWaiter();

  progress.step('starting roles: API, persister, outbox relay, online optimizer');
  const app: App = await startListening(withRunGroups(cfg, tenant), {
    ...(log ? { log } : {}),
    online: { explore: true, onDecision: decisions.onDecision },
  });
  try {
    progress.step(`starting station agents ${stations.join(', ')}`);
    const engines = createStageEngines(cfg.engines);
    const agentRoles = await startAgents(app, cfg, stations, engines.forStation);
    const agents = new Map(stations.map((s, i) => [s, agentRoles[i]!.station(s)]));
    const record = await runLiveCalls({
      tenant,
      stations,
      agents,
      impairments,
      args,
      decisions,
      progress,
      warn: (m) => app.rt.log.warn(m),
    });
    const summary = await summarize({ stations, args, record, judge, engines, progress });
    await engines.close();
    await Promise.all(agentRoles.map((r) => r.stop()));
    return {
      started_at: new Date().toISOString(),
      machine: { host: hostname(), node: process.version },
      args: {
        impairments: args.impairments,
        calls: args.calls,
        segments: args.segments,
        seed: args.seed,
        json: args.json,
        searchBudget: args.searchBudget,
      },
      tenant_id: tenant,
      console_url: app.url ? `${app.url}/console/` : null,
      stations: summary.stations,
      mean: summary.mean,
      bounds_violations: record.boundsViolations,
      max_step_violations: record.stepViolations,
      per_iteration: record.perIteration,
      rtp: [...record.rtpCodec].map(([s, codec]) => legFigures(s, codec, record.rtpCalls.get(s) ?? [])),
    };
  } finally {
    // With --serve the roles go on serving the console; the caller stops them.
    if (hold) hold(app);
    else await app.stop();
  }
}

/**
 * One agent per station, each acting as its own station on the broker (stack/kafkaAuth.ts:
 * `station-<id>`, confined to its station's agent groups), not as the API's process. A failed start
 * stops the ones that started.
 */
async function startAgents(
  app: App,
  cfg: Readonly<Settings>,
  stations: readonly number[],
  stageFor: (stationId: number) => StageEngine | undefined,
): Promise<StationAgentRole[]> {
  const started = await Promise.allSettled(
    stations.map((s) =>
      startStationAgent(
        { ...app.rt, kafka: app.rt.kafkaAs(stationPrincipal(s)) },
        {
          topics: cfg.topics,
          agentId: `demo-${hostname()}-${s}`,
          stations: [s],
          keepReplayAudio: true,
          stageFor,
        },
      ),
    ),
  );
  const failed = started.find((r) => r.status === 'rejected');
  const roles = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  if (failed) {
    await Promise.all(roles.map((r) => r.stop()));
    throw failed.reason;
  }
  return roles;
}

/**
 * The run's own online-optimizer group: two demos on one stack in one group would split the snapshot
 * partitions, each deciding for the other's calls (whose decisions it never sees) and rebalancing the
 * other at every start and stop. The persister keeps the shared group: any process may persist any
 * snapshot, and a fresh group would replay the whole topic from its beginning.
 */
export function withRunGroups(cfg: Readonly<Settings>, run: string): Readonly<Settings> {
  return { ...cfg, groups: { ...cfg.groups, online: `${cfg.groups.online}.${run}` } };
}

/** The API on its configured port (another demo may hold it: then on any free port), every role in process. */
async function startListening(cfg: Readonly<Settings>, opts: StartOptions): Promise<App> {
  const roles: RoleName[] = ['api', 'persister', 'relay', 'online'];
  try {
    return await startApp(cfg, roles, { ...opts, listen: true });
  } catch (err) {
    if ((err as { code?: string }).code !== 'EADDRINUSE') throw err;
    return startApp({ ...cfg, api: { ...cfg.api, port: 0 } }, roles, { ...opts, listen: true });
  }
}

export type { StationSnapshot };
