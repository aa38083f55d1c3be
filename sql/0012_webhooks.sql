-- Up Migration
-- Webhooks (issue 12): per-tenant subscriptions, and the deliveries owed to them, written in the same
-- transaction as the fact they announce (a change, a rollback, a verdict): nothing is announced that
-- was not recorded, and nothing recorded is forgotten. The delivery worker (webhooks/worker.ts)
-- claims due rows, POSTs them signed, and keeps every attempt.
CREATE TABLE IF NOT EXISTS webhook_subscriptions (
  id                   uuid PRIMARY KEY,
  stream               text NOT NULL,                 -- the deployment (topic prefix) whose events these are
  tenant_id            text NOT NULL,                 -- '*': the deployment's own events (admin)
  url                  text NOT NULL,
  secret               text NOT NULL,
  event_types          text[] NOT NULL,
  state                text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'paused')),
  consecutive_failures integer NOT NULL DEFAULT 0,
  paused_at            timestamptz,
  paused_reason        text,
  created_by           text NOT NULL,
  created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS webhook_subscriptions_tenant_idx ON webhook_subscriptions (stream, tenant_id) WHERE state = 'active';

CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id              bigserial PRIMARY KEY,
  event_id        uuid NOT NULL,                      -- the same for every subscription: receivers de-duplicate on it
  subscription_id uuid NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
  stream          text NOT NULL,
  event_type      text NOT NULL,
  payload         jsonb NOT NULL,                     -- the body as sent: {id, type, tenant_id, occurred_at, data}
  created_at      timestamptz NOT NULL DEFAULT now(),
  state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'abandoned')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_status     integer,
  last_error      text,
  delivered_at    timestamptz,
  UNIQUE (subscription_id, event_id)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due_idx ON webhook_deliveries (stream, next_attempt_at) WHERE state = 'pending';

CREATE TABLE IF NOT EXISTS webhook_attempts (
  delivery_id bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempt     integer NOT NULL,
  at          timestamptz NOT NULL DEFAULT now(),
  status      integer,                                -- HTTP status; null when no answer came
  error       text,
  duration_ms integer NOT NULL,
  PRIMARY KEY (delivery_id, attempt)
);

-- Down Migration
DROP TABLE IF EXISTS webhook_attempts;
DROP TABLE IF EXISTS webhook_deliveries;
DROP TABLE IF EXISTS webhook_subscriptions;
