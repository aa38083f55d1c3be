// Dependencies of a role from a process runtime: what runtime/app.ts and the CLIs hand each role.
import type { ChangeService } from '../config/changes.ts';
import type { Settings } from '../lib/settings.ts';
import type { BatchDeps } from '../optimizer/batch/run.ts';
import type { Runtime } from './bootstrap.ts';

export function batchDepsFor(
  rt: Runtime,
  changes: ChangeService,
  cfg: Readonly<Settings> = rt.cfg,
): BatchDeps {
  return {
    kafka: rt.kafka,
    snapshotCodec: rt.registry.codec('StationSnapshot'),
    resultCodec: rt.registry.codec('OptimizerResult'),
    audio: rt.audio,
    pool: rt.pool,
    changes,
    topics: { snapshots: cfg.topics.snapshots },
    groupPrefix: cfg.groups.batch,
    log: rt.log.child({ role: 'batch' }),
  };
}
