-- Up Migration
-- API tokens issued by `npm run token` (issue 9). Only a SHA-256 of the token is kept: a copy of this
-- table does not let anyone call the API. Revocation sets revoked_at; the API polls the revoked ids.

CREATE TABLE api_tokens (
  token_id     text PRIMARY KEY,
  name         text NOT NULL,
  tenant_id    text NOT NULL,
  role         text NOT NULL CHECK (role IN ('station', 'operator', 'viewer', 'admin')),
  token_sha256 text NOT NULL UNIQUE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  revoked_at   timestamptz,
  CHECK ((tenant_id = '*') <= (role = 'admin'))
);
CREATE INDEX api_tokens_revoked_idx ON api_tokens (revoked_at) WHERE revoked_at IS NOT NULL;
