// The A/B experiment role (DESIGN §3, §8): a consumer group of its own on the snapshot topic enrolls
// each new call of a running experiment's station and scope (its arm, and the treatment's call-scoped
// change); a timer scores the enrolled calls from the persisted snapshots and takes the planned looks.
// Several instances may run: enrollment and evaluation are serialised in PostgreSQL.
import type { Kafka } from 'kafkajs';
import type { StationSnapshot } from '../../contracts/generated.ts';
import { canRetry } from '../../lib/errors.ts';
import { createLifecycle, type Role } from '../../lib/lifecycle.ts';
import type { Logger } from '../../lib/log.ts';
import type { Settings } from '../../lib/settings.ts';
import type { Codec } from '../../streams/registry.ts';
import { type ConsumedBatch, runRoleConsumer } from '../../streams/roleConsumer.ts';
import type { EnrollOutcome, EvaluateOutcome, ExperimentService } from './service.ts';
import type { Experiment } from './store.ts';

export interface ExperimentRunnerDeps {
  kafka: Kafka;
  service: ExperimentService;
  codec: Codec<StationSnapshot>;
  log: Logger;
}

export interface ExperimentRunnerOptions {
  topics: Pick<Settings['topics'], 'snapshots'>;
  groupId: string;
  /** How often running experiments are re-read and evaluated. */
  tickMs?: number;
  /** Observers (tests, demo). */
  onEnroll?: (snap: StationSnapshot, experimentId: string, out: EnrollOutcome) => void;
  onEvaluate?: (experimentId: string, out: EvaluateOutcome) => void;
}

export interface ExperimentRunner extends Role {
  /** Re-reads the running experiments now (after a create, so its first calls are not missed). */
  refresh(): Promise<void>;
  /** One evaluation round over every running experiment. */
  tick(): Promise<void>;
}

/** The runner's consumer group, derived from the deployment's prefix like the other roles' groups. */
export function experimentGroupId(cfg: Pick<Settings, 'topics'>): string {
  return `${cfg.topics.prefix}.ab-experiments`;
}

export async function startExperimentRunner(
  deps: ExperimentRunnerDeps,
  opts: ExperimentRunnerOptions,
): Promise<ExperimentRunner> {
  const { service, log } = deps;
  let running: Experiment[] = [];
  const refresh = async () => {
    running = await service.running();
  };
  await refresh();

  const handle = async (batch: ConsumedBatch<StationSnapshot>) => {
    for (const { value: snap } of batch.records) {
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
    }
  };

  let ticking: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let stopConsumer: () => Promise<void> = async () => {};
  const lc = createLifecycle(async () => {
    clearTimeout(timer);
    await ticking.catch(() => {});
    await stopConsumer();
  });
  const consumer = await runRoleConsumer<StationSnapshot>({
    kafka: deps.kafka,
    log,
    groupId: opts.groupId,
    topic: opts.topics.snapshots,
    // Only calls seen from now on: an experiment enrolls live calls, it does not replay history.
    fromBeginning: false,
    codec: deps.codec,
    consumer: { maxWaitTimeInMs: 20 },
    partitionsConsumedConcurrently: 3,
    awaitJoin: true,
    handle,
    onFatal: (err) => void lc.fail(err),
  });
  stopConsumer = consumer.stop;

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
  const loop = () => {
    timer = setTimeout(() => {
      ticking = tick()
        .catch((err) => log.warn({ err: (err as Error).message }, 'experiment tick failed'))
        .finally(() => {
          if (lc.state === 'running') loop();
        });
    }, opts.tickMs ?? 500);
    timer.unref();
  };
  lc.running();
  loop();
  log.info({ group: opts.groupId }, 'experiment runner running');

  return lc.role({
    refresh,
    async tick() {
      await ticking;
      await tick();
    },
  });
}
