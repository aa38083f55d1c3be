// The expiry sweep role: tombstones expired (call-scoped and other TTL'd) config records on a timer,
// so the compacted topic forgets them. It runs beside the outbox relay that publishes the tombstones.
import { createLifecycle, type Role } from '../lib/lifecycle.ts';
import type { Logger } from '../lib/log.ts';
import type { ChangeService } from './changes.ts';

export interface ExpirySweepDeps {
  changes: Pick<ChangeService, 'expire'>;
  log: Logger;
}

export interface ExpirySweepOptions {
  everyMs?: number;
}

export type ExpirySweep = Role;

export async function startExpirySweep(
  deps: ExpirySweepDeps,
  opts: ExpirySweepOptions = {},
): Promise<ExpirySweep> {
  let timer: NodeJS.Timeout | undefined;
  let sweeping: Promise<unknown> = Promise.resolve();
  const lc = createLifecycle(async () => {
    clearInterval(timer);
    await sweeping;
  });
  timer = setInterval(() => {
    sweeping = deps.changes
      .expire()
      .catch((err) => deps.log.warn({ err: (err as Error).message }, 'config expiry sweep failed'));
  }, opts.everyMs ?? 1_000);
  timer.unref();
  lc.running();
  return lc.role({});
}
