// Dependencies of a role from a process runtime: what runtime/app.ts and the CLIs hand each role.
import type { ChangeService } from '../config/changes.ts';
import type { Settings } from '../lib/settings.ts';
import type { MaintenanceOptions } from '../maintenance/index.ts';
import type { BatchDeps } from '../optimizer/batch/run.ts';
import { lazyQualityJudge } from '../quality/index.ts';
import type { Runtime } from './bootstrap.ts';

export function batchDepsFor(
  rt: Runtime,
  changes: ChangeService,
  cfg: Readonly<Settings> = rt.cfg,
): BatchDeps {
  return {
    kafka: rt.kafkaAs('api'),
    snapshotCodec: rt.registry.codec('StationSnapshot'),
    resultCodec: rt.registry.codec('OptimizerResult'),
    audio: rt.audio,
    pool: rt.pool,
    changes,
    topics: { snapshots: cfg.topics.snapshots },
    groupPrefix: cfg.groups.batch,
    log: rt.log.child({ role: 'batch' }),
    // Opened (and on a fresh machine installed) only when a run meets stored clean speech.
    quality: lazyQualityJudge(),
  };
}

/** The maintenance role's settings from the configuration (the role in runtime/app.ts, bin/maintenance.ts). */
export function maintenanceOptionsFor(cfg: Readonly<Settings>): MaintenanceOptions {
  return {
    everyMs: cfg.retention.intervalMs,
    snapshotRetentionMs: cfg.topics.snapshotRetentionMs,
    audioRetentionDays: cfg.s3.retentionDays,
    outboxDays: cfg.retention.outboxDays,
    configStateDays: cfg.retention.configStateDays,
    runDays: cfg.retention.runDays,
    observationDays: cfg.retention.observationDays,
    webhookDays: cfg.retention.webhookDays,
  };
}
