// The A/B experiment role (DESIGN §3, §8): a consumer group of its own on the snapshot topic enrolls
// each new call of a running experiment's station and scope (its arm, and the treatment's call-scoped
// change); a timer scores the enrolled calls from the persisted snapshots and takes the planned looks.
// Several instances may run: enrollment and evaluation are serialised in PostgreSQL.
import type { Consumer, Kafka } from 'kafkajs';
import type { StationSnapshot } from '../../contracts/generated.ts';
import type { Config } from '../../lib/config.ts';
import { canRetry } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import type { Codec } from '../../streams/registry.ts';
import type { EnrollOutcome, EvaluateOutcome, ExperimentService } from './service.ts';
import type { Experiment } from './store.ts';

export interface ExperimentRunnerDeps {
  kafka: Kafka;
  service: ExperimentService;
  codec: Codec<StationSnapshot>;
  log: Logger;
}

export interface ExperimentRunnerOptions {
  topics: Pick<Config['topics'], 'snapshots'>;
  groupId: string;
  /** How often running experiments are re-read and evaluated. */
  tickMs?: number;
  /** Observers (tests, demo). */
  onEnroll?: (snap: StationSnapshot, experimentId: string, out: EnrollOutcome) => void;
  onEvaluate?: (experimentId: string, out: EvaluateOutcome) => void;
}

export type ExperimentRunnerState = 'starting' | 'running' | 'stopping' | 'stopped';

export interface ExperimentRunner {
  readonly state: ExperimentRunnerState;
  /** Re-reads the running experiments now (after a create, so its first calls are not missed). */
  refresh(): Promise<void>;
  /** One evaluation round over every running experiment. */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

/** The runner's consumer group, derived from the deployment's prefix like the other roles' groups. */
export function experimentGroupId(cfg: Pick<Config, 'topics'>): string {
  return `${cfg.topics.prefix}.ab-experiments`;
}

export async function startExperimentRunner(
  deps: ExperimentRunnerDeps,
  opts: ExperimentRunnerOptions,
): Promise<ExperimentRunner> {
  const { service, log } = deps;
  let state: ExperimentRunnerState = 'starting';
  let running: Experiment[] = [];
  const refresh = async () => {
    running = await service.running();
  };
  await refresh();

  const consumer: Consumer = deps.kafka.consumer({
    groupId: opts.groupId,
    maxWaitTimeInMs: 20,
    sessionTimeout: 30_000,
  });
  const joined = new Promise<void>((resolve) => {
    const off = consumer.on(consumer.events.GROUP_JOIN, () => {
      off();
      resolve();
    });
  });
  await consumer.connect();
  // Only calls seen from now on: an experiment enrolls live calls, it does not replay history.
  await consumer.subscribe({ topic: opts.topics.snapshots, fromBeginning: false });
  await consumer.run({
    partitionsConsumedConcurrently: 3,
    eachMessage: async ({ message, partition }) => {
      if (running.length === 0) return;
      let snap: StationSnapshot;
      try {
        snap = await deps.codec.decode(message.value);
      } catch (err) {
        if (canRetry(err)) throw err;
        log.debug({ partition, offset: message.offset }, 'undecodable snapshot skipped');
        return;
      }
      for (const exp of running) {
        if (exp.stationId !== snap.station_id) continue;
        try {
          const out = await service.enroll(exp, snap);
          opts.onEnroll?.(snap, exp.id, out);
        } catch (err) {
          if (canRetry(err)) throw err;
          log.warn(
            { err: (err as Error).message, experiment: exp.id, call: snap.call_id },
            'enrollment failed',
          );
        }
      }
    },
  });
  await Promise.race([joined, new Promise((r) => setTimeout(r, 30_000).unref())]);

  let ticking: Promise<void> = Promise.resolve();
  const tick = async () => {
    await refresh();
    for (const exp of running) {
      try {
        const out = await service.evaluate(exp.id);
        opts.onEvaluate?.(exp.id, out);
      } catch (err) {
        log.warn({ err: (err as Error).message, experiment: exp.id }, 'experiment evaluation failed');
      }
    }
    await refresh();
  };
  let timer: NodeJS.Timeout | undefined;
  const loop = () => {
    timer = setTimeout(() => {
      ticking = tick()
        .catch((err) => log.warn({ err: (err as Error).message }, 'experiment tick failed'))
        .finally(() => {
          if (state === 'running') loop();
        });
    }, opts.tickMs ?? 500);
    timer.unref();
  };
  state = 'running';
  loop();
  log.info({ group: opts.groupId }, 'experiment runner running');

  return {
    get state() {
      return state;
    },
    refresh,
    async tick() {
      await ticking;
      await tick();
    },
    async stop() {
      if (state === 'stopping' || state === 'stopped') return;
      state = 'stopping';
      clearTimeout(timer);
      await ticking.catch(() => {});
      await consumer.disconnect().catch(() => {});
      state = 'stopped';
    },
  };
}
