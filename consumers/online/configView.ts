// The online optimizer's view of the effective configuration, held in memory (issue 11): the live
// records of config_state at start, then every record of the compacted config topic (read from the
// beginning by a group of its own each start, never committed, like a station agent's feed), and the
// records of the role's own committed changes at once. Decisions read it instead of the database.
// It may lag: a snapshot that ran a newer version than the view knows refreshes its call's keys from
// the database, and a decision batch checks the versions it decided on under the keys' locks.
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { callScope, configKey, globalScope, tenantScope } from '../../config/keys.ts';
import { ConfigView, type Effective } from '../../config/view.ts';
import type { ConfigRecord } from '../../contracts/generated.ts';
import type { Logger } from '../../lib/log.ts';
import * as repo from '../../storage/configState.ts';
import type { Pool } from '../../storage/db.ts';
import { createConsumer, type OwnedConsumer } from '../../streams/kafka.ts';
import type { Codec } from '../../streams/registry.ts';
import type { Current } from './plan.ts';

export interface OnlineConfigViewDeps {
  kafka: Kafka;
  pool: Pool;
  codec: Codec<ConfigRecord>;
  log: Logger;
  stream: string;
  topic: string;
  clock: () => number;
}

/** The keys whose records make up a call's effective values at a station, global first. */
export function chainKeys(stationId: number, tenantId: string, callId: string): string[] {
  return [
    configKey(stationId, globalScope()),
    configKey(stationId, tenantScope(tenantId)),
    configKey(stationId, callScope(tenantId, callId)),
  ];
}

/** A view's effective values as a decision needs them. */
export function currentOf(
  view: ConfigView,
  stationId: number,
  tenantId: string,
  callId: string,
  now: number,
  overlay?: ReadonlyMap<string, ConfigRecord>,
): Current & Effective {
  const eff = view.effective(stationId, tenantId, callId, now, overlay);
  const key = configKey(stationId, callScope(tenantId, callId));
  const rec = overlay?.get(key) ?? view.get(key);
  const live = rec && (rec.expires_at === null || rec.expires_at > now) && rec.scope.tenant_id === tenantId;
  return {
    ...eff,
    callChangeId: live ? rec.change_id : null,
    callVersion: live ? rec.version : 0,
  };
}

export class OnlineConfigView {
  readonly view = new ConfigView();
  private owned: OwnedConsumer | null = null;

  constructor(private readonly deps: OnlineConfigViewDeps) {}

  /** Loads config_state's live records, then follows the topic. */
  async start(): Promise<void> {
    this.applyRecords(await repo.allLiveRecords(this.deps.pool, this.deps.stream));
    this.owned = createConsumer(this.deps.kafka, {
      groupId: `${this.deps.stream}.online-view.${randomUUID()}`,
      maxWaitTimeInMs: 50,
    });
    const { consumer } = this.owned;
    await consumer.connect();
    await consumer.subscribe({ topic: this.deps.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      // A batch decoded at once (no promise per record); most records are the role's own changes,
      // already in the view, and are skipped without checking them again (apply would call them stale).
      eachBatch: async ({ batch }) => {
        const live = batch.messages.filter((m) => m.key && m.value !== null);
        const values = await this.deps.codec
          .decodeAll(live.map((m) => m.value))
          .catch(() => Promise.all(live.map((m) => this.deps.codec.decode(m.value).catch((e: Error) => e))));
        let i = 0;
        for (const message of batch.messages) {
          const key = message.key?.toString();
          if (!key) continue;
          if (message.value === null) {
            this.tombstone(key);
            continue;
          }
          const rec = values[i++]!;
          if (rec instanceof Error) {
            this.deps.log.warn({ key, err: rec.message }, 'config record not readable; skipped');
            continue;
          }
          const cur = this.view.get(key);
          if (cur && cur.version >= rec.version) continue;
          this.view.apply(key, rec);
        }
      },
    });
  }

  /**
   * A tombstone removes an expired record only: one that arrives after the role has already put a newer
   * record at the key (its own change, committed before the relay published the older tombstone) is
   * for the record before, and leaves the newer one.
   */
  private tombstone(key: string): void {
    const cur = this.view.get(key);
    if (cur && (cur.expires_at === null || cur.expires_at > this.deps.clock())) return;
    this.view.apply(key, null);
  }

  /** Records known to be committed (the database's, the role's own); older versions change nothing. */
  applyRecords(records: readonly ConfigRecord[]): void {
    for (const r of records) this.view.apply(configKey(r.station_id, r.scope), r);
  }

  /** Re-reads a call's keys from the database (a snapshot ran a version the view has not seen). */
  async refresh(stationId: number, tenantId: string, callId: string): Promise<void> {
    this.applyRecords(
      await repo.liveRecords(this.deps.pool, this.deps.stream, chainKeys(stationId, tenantId, callId)),
    );
  }

  async stop(): Promise<void> {
    await this.owned?.stop().catch(() => {});
  }
}
