// Tokens as a product (issue 9): issued with a tenant, role, expiry and name, kept in PostgreSQL as a
// SHA-256 only, listed, and revoked. The API refuses a revoked token within `refreshMs` (default 1 s):
// it polls the small set of revoked, not yet expired ids rather than reading the table per request.
import { createHash } from 'node:crypto';
import { mintToken, newTokenId, type Principal, type Role, verifyToken } from '../lib/auth.ts';
import { VoiceloopError, wrapIo } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { Pool } from '../storage/db.ts';

export interface IssueRequest {
  name: string;
  tenant: string;
  role: Role;
  /** Lifetime in seconds. */
  ttlSeconds: number;
}

export interface TokenInfo {
  token_id: string;
  name: string;
  tenant_id: string;
  role: Role;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export class TokenStore {
  constructor(
    private readonly pool: Pool,
    private readonly secret: string,
  ) {}

  /** Issues a token; the token itself is returned once and never stored. */
  async issue(req: IssueRequest, now = Date.now()): Promise<{ token: string; info: TokenInfo }> {
    if (!/^.{1,100}$/u.test(req.name) || req.name.includes('\u0000'))
      throw new VoiceloopError('VALIDATION', 'name must be 1-100 characters');
    if (!Number.isInteger(req.ttlSeconds) || req.ttlSeconds < 60 || req.ttlSeconds > 5 * 365 * 86_400)
      throw new VoiceloopError('VALIDATION', 'expiry must be between 60 s and 5 years');
    const p: Principal = {
      sub: `token:${req.name}`,
      role: req.role,
      tenant: req.tenant,
      exp: Math.floor(now / 1000) + req.ttlSeconds,
      jti: newTokenId(),
    };
    const token = mintToken(this.secret, p); // checks the claims (tenant "*" only for admin, ...)
    const { rows } = await this.pool
      .query<TokenInfo>(
        `INSERT INTO api_tokens (token_id, name, tenant_id, role, token_sha256, expires_at)
         VALUES ($1, $2, $3, $4, $5, to_timestamp($6)) RETURNING token_id, name, tenant_id, role, created_at, expires_at, revoked_at`,
        [p.jti, req.name, req.tenant, req.role, sha256(token), p.exp],
      )
      .catch((err) => {
        throw wrapIo('DATABASE', 'storing the token', err);
      });
    return { token, info: rows[0]! };
  }

  async list(tenant?: string): Promise<TokenInfo[]> {
    const { rows } = await this.pool.query<TokenInfo>(
      `SELECT token_id, name, tenant_id, role, created_at, expires_at, revoked_at FROM api_tokens
        WHERE $1::text IS NULL OR tenant_id = $1 ORDER BY created_at`,
      [tenant ?? null],
    );
    return rows;
  }

  /** Revokes a token by id; false when no such token exists. Revoking twice keeps the first time. */
  async revoke(tokenId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE token_id = $1',
      [tokenId],
    );
    return (rowCount ?? 0) > 0;
  }

  /**
   * Revokes a token given itself: one minted outside this store (by a deployment script or a test,
   * with the same secret) has an id but no row, so the row is written here, already revoked, and kept
   * until the token expires. Returns the token's id. Refused when the token is not ours.
   */
  async revokeToken(token: string): Promise<string> {
    const p = verifyToken(this.secret, `Bearer ${token}`, 0); // an expired token may still be revoked
    await this.pool
      .query(
        `INSERT INTO api_tokens (token_id, name, tenant_id, role, token_sha256, expires_at, revoked_at)
         VALUES ($1, $2, $3, $4, $5, to_timestamp($6), now())
         ON CONFLICT (token_id) DO UPDATE SET revoked_at = COALESCE(api_tokens.revoked_at, now())`,
        [p.jti, `revoked by value (${p.sub})`.slice(0, 100), p.tenant, p.role, sha256(token), p.exp],
      )
      .catch((err) => {
        throw wrapIo('DATABASE', 'recording the revocation', err);
      });
    return p.jti;
  }

  /** The ids of revoked tokens that have not expired yet (an expired token is refused anyway). */
  async revokedIds(): Promise<Set<string>> {
    const { rows } = await this.pool.query<{ token_id: string }>(
      'SELECT token_id FROM api_tokens WHERE revoked_at IS NOT NULL AND expires_at > now()',
    );
    return new Set(rows.map((r) => r.token_id));
  }
}

/**
 * Keeps the revoked ids fresh. Until the first refresh succeeds every token is refused:
 * failing closed is the safe side when the database cannot say which tokens are revoked.
 */
export function watchRevocations(store: TokenStore, log: Logger, refreshMs = 1_000) {
  let revoked: Set<string> | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    try {
      revoked = await store.revokedIds();
    } catch (err) {
      log.warn(
        { err: (err as Error).message },
        'token revocations could not be refreshed; keeping the last list',
      );
    }
    if (!stopped) timer = setTimeout(tick, refreshMs).unref();
  };
  const ready = tick();
  return {
    ready,
    isRevoked: (jti: string) => revoked === null || revoked.has(jti),
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
