// The events a webhook subscription can ask for, and the body every delivery carries. Pure: no I/O.
export const EVENT_TYPES = [
  'change.applied',
  'change.rejected',
  'rollback.automatic',
  'experiment.verdict',
  'dead_letters.threshold',
  'readiness.lost',
  'readiness.restored',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Events of the deployment itself (no tenant): only a '*' subscription (an admin's) receives them. */
export const DEPLOYMENT_EVENTS: readonly EventType[] = [
  'dead_letters.threshold',
  'readiness.lost',
  'readiness.restored',
];

export const ALL_TENANTS = '*';

export interface WebhookEvent {
  /** Unique per event, the same in every delivery of it: receivers de-duplicate on it. */
  id: string;
  type: EventType;
  /** The tenant whose event it is; '*' for the deployment's own events and global-scope changes. */
  tenant_id: string;
  occurred_at: string;
  data: Record<string, unknown>;
}
