// What the fault tests share: a station's stream of snapshot requests to an app in this process, with
// every answer counted (which snapshots were acknowledged, how many of each status), and the final check
// that every acknowledged snapshot is stored exactly once.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LightMyRequestResponse as InjectResponse } from 'fastify';
import type { App } from '../../runtime/app.ts';
import type { Pool } from '../../storage/db.ts';
import { snapshotInput } from './fixtures.ts';
import { waitFor } from './runtime.ts';

export interface SnapshotTraffic {
  /** Acknowledged (202) snapshot ids, each with its answer. */
  readonly acked: Map<string, InjectResponse>;
  /** How many answers of each status code. */
  readonly statuses: Map<number, number>;
  /** One request: the answer, the snapshot id it sent and how long the answer took. */
  post(): Promise<{ res: InjectResponse; id: string; ms: number }>;
  /** Requests one after another, `pauseMs` apart, until `stop()`. */
  start(pauseMs?: number): void;
  stop(): Promise<void>;
}

/**
 * Snapshot requests of one tenant's station through `app`'s API (`fastify.inject`), the n-th for call
 * `calls` modulo n; `payload` may add to each (audio, for instance).
 */
export function snapshotTraffic(
  app: App,
  auth: string,
  tenant: string,
  opts: { calls?: number; payload?: (n: number) => Record<string, unknown> } = {},
): SnapshotTraffic {
  const acked = new Map<string, InjectResponse>();
  const statuses = new Map<number, number>();
  let n = 0;
  let running: Promise<void> | undefined;
  let loading = false;
  const self: SnapshotTraffic = {
    acked,
    statuses,
    async post() {
      const id = `${tenant}-s${n}`;
      const payload = {
        ...snapshotInput({ tenant, call: `${tenant}-c${n % (opts.calls ?? 5)}`, index: n, snapshotId: id }),
        ...opts.payload?.(n),
      };
      n++;
      const started = performance.now();
      const res = await app.api!.inject({
        method: 'POST',
        url: '/v1/stations/snapshot',
        headers: { authorization: auth },
        payload,
      });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      if (res.statusCode === 202) acked.set(id, res);
      return { res, id, ms: performance.now() - started };
    },
    start(pauseMs = 20) {
      loading = true;
      running = (async () => {
        while (loading) {
          await self.post();
          await sleep(pauseMs);
        }
      })();
    },
    async stop() {
      loading = false;
      await running;
    },
  };
  return self;
}

/** Waits until every id is stored for the tenant and asserts none is stored twice; the rows found. */
export async function storedExactlyOnce(
  pool: Pool,
  tenant: string,
  ids: Iterable<string>,
  timeoutMs = 30_000,
): Promise<{ snapshot_id: string; n: number }[]> {
  const want = [...ids];
  const rows = await waitFor(
    'every acknowledged snapshot stored',
    async () => {
      const { rows } = await pool.query<{ snapshot_id: string; n: number }>(
        'SELECT snapshot_id, count(*)::int AS n FROM station_snapshots WHERE tenant_id = $1 GROUP BY snapshot_id',
        [tenant],
      );
      const have = new Set(rows.map((r) => r.snapshot_id));
      return want.every((id) => have.has(id)) ? rows : undefined;
    },
    timeoutMs,
    250,
  );
  assert.deepEqual(
    rows.filter((r) => r.n !== 1),
    [],
    'no snapshot stored twice',
  );
  return rows;
}
