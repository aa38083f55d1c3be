// Recording webhook events inside the transaction of the fact they announce (the change path, the
// experiments' verdicts, the worker's monitor): storage/webhooks.ts writes one delivery row per
// subscription that asked for the event, or nothing when none did.
import { randomUUID } from 'node:crypto';
import type { ParameterChange } from '../contracts/generated.ts';
import type { PoolClient } from '../storage/db.ts';
import { enqueueEvent, enqueueEvents } from '../storage/webhooks.ts';
import { ALL_TENANTS, type EventType, type WebhookEvent } from './events.ts';

export function webhookEvent(
  type: EventType,
  tenantId: string | null,
  data: Record<string, unknown>,
): WebhookEvent {
  return {
    id: randomUUID(),
    type,
    tenant_id: tenantId ?? ALL_TENANTS,
    occurred_at: new Date().toISOString(),
    data,
  };
}

export function recordEvent(
  c: PoolClient,
  stream: string,
  type: EventType,
  tenantId: string | null,
  data: Record<string, unknown>,
): Promise<number> {
  return enqueueEvent(c, stream, webhookEvent(type, tenantId, data));
}

/** The events one committed change announces: applied or rejected, and an automatic rollback. */
export function changeEvents(change: ParameterChange, reasons: string[]): WebhookEvent[] {
  const data = {
    change_id: change.change_id,
    station_id: change.station_id,
    scope: change.scope,
    actor: change.actor,
    reason: change.reason,
    before: change.before,
    after: change.after,
    status: change.status,
    config_version: change.config_version,
    rollback_of: change.rollback_of,
    ...(reasons.length ? { reasons } : {}),
  };
  const tenant = change.scope.tenant_id;
  const out = [
    webhookEvent(change.status === 'rejected' ? 'change.rejected' : 'change.applied', tenant, data),
  ];
  if (change.status === 'applied' && change.rollback_of && change.actor.endsWith(':auto-rollback'))
    out.push(webhookEvent('rollback.automatic', tenant, data));
  return out;
}

/** Records the events of one change in the caller's transaction. */
export async function recordChangeEvents(
  c: PoolClient,
  stream: string,
  change: ParameterChange,
  reasons: string[],
): Promise<void> {
  for (const e of changeEvents(change, reasons)) await enqueueEvent(c, stream, e);
}

/** The events of several changes, one statement (a decision batch). */
export async function recordChangeEventsMany(
  c: PoolClient,
  stream: string,
  changes: { change: ParameterChange; reasons: string[] }[],
): Promise<void> {
  await enqueueEvents(
    c,
    stream,
    changes.flatMap((x) => changeEvents(x.change, x.reasons)),
  );
}
