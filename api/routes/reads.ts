// The read side of the API (issue 12) as one plugin: calls, stations, the change log and its live feed,
// snapshots and their audio, the experiment list, and the console that shows them.
import type { FastifyPluginAsync } from 'fastify';
import type { ExperimentService } from '../../optimizer/ab/index.ts';
import type { AudioStore } from '../../storage/audioStore.ts';
import type { Pool } from '../../storage/db.ts';
import { callRoutes } from './calls.ts';
import { changeRoutes } from './changes.ts';
import { consoleRoutes } from './console.ts';
import { experimentListRoutes } from './experimentList.ts';
import { snapshotReadRoutes } from './snapshotReads.ts';
import { stationRoutes } from './stations.ts';

export interface ReadRouteDeps {
  pool: Pool;
  audio: AudioStore;
  /** The deployment's stream (topic prefix): changes and runs of other deployments are not read. */
  stream: string;
  experiments: ExperimentService;
  tokenSecret: string;
}

export const readRoutes: FastifyPluginAsync<ReadRouteDeps> = async (app, d) => {
  const base = { pool: d.pool, tokenSecret: d.tokenSecret };
  await app.register(callRoutes, { ...base, stream: d.stream });
  await app.register(stationRoutes, base);
  await app.register(changeRoutes, { ...base, stream: d.stream });
  await app.register(snapshotReadRoutes, { ...base, audio: d.audio });
  await app.register(experimentListRoutes, { ...base, stream: d.stream, service: d.experiments });
  await app.register(consoleRoutes);
};
