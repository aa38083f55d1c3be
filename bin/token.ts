// `npm run token -- create --tenant T --role R --name N [--expires 30d]`, `list [--tenant T]`,
// `revoke --id ID | --token TOKEN`: API tokens as a product (issue 9). Every token carries an id, so any
// token signed with the secret can be revoked: by id when this command created it, by value otherwise. A created token is printed once on stdout (its
// details on stderr) and kept only as a SHA-256; a revoked token is refused by the API within seconds.
// Bad flags get a message naming the flag and exit code 2.
import { TokenStore } from '../api/tokens.ts';
import { ROLES, type Role } from '../lib/auth.ts';
import { ArgError, parseFlags, runMain } from '../lib/cli.ts';
import { createLogger } from '../lib/log.ts';
import { loadSettings } from '../lib/settings.ts';
import { createPool } from '../storage/db.ts';
import { migrate } from '../storage/migrate.ts';

const USAGE = `usage: npm run token -- <command> [flags]
  create --tenant T --role ${ROLES.join('|')} --name NAME [--expires 30d]   (tenant "*" needs role admin;
         expiry as <n>s, <n>m, <n>h or <n>d, from 60 s to 5 years)
  list   [--tenant T]
  revoke --id TOKEN_ID | --token TOKEN   (--token revokes one minted elsewhere with the same secret)`;

const UNIT_S: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

export function parseExpiry(raw: string): number {
  const m = /^(\d{1,6})([smhd])$/.exec(raw);
  if (!m) throw new ArgError(`--expires must look like 30d, 12h, 90m or 3600s, got "${raw}"`);
  return Number(m[1]) * UNIT_S[m[2]!]!;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const flags = {
    create: {
      tenant: { type: 'string' },
      role: { type: 'string' },
      name: { type: 'string' },
      expires: { type: 'string' },
    },
    list: { tenant: { type: 'string' } },
    revoke: { id: { type: 'string' }, token: { type: 'string' } },
  } as const;
  if (!command || !(command in flags)) throw new ArgError(`unknown command "${command ?? ''}"\n${USAGE}`);
  const v = parseFlags(rest, flags[command as keyof typeof flags], USAGE);
  const need = (name: string) => {
    const x = v[name];
    if (typeof x !== 'string' || x === '') throw new ArgError(`--${name} is required\n${USAGE}`);
    return x;
  };
  let req: Parameters<TokenStore['issue']>[0] | undefined;
  if (command === 'create') {
    const role = need('role');
    if (!(ROLES as readonly string[]).includes(role))
      throw new ArgError(`--role must be one of ${ROLES.join(', ')}, got "${role}"`);
    req = {
      tenant: need('tenant'),
      role: role as Role,
      name: need('name'),
      ttlSeconds: parseExpiry(typeof v.expires === 'string' ? v.expires : '30d'),
    };
  }
  let id: string | undefined;
  let byValue: string | undefined;
  if (command === 'revoke') {
    if (typeof v.token === 'string' && v.token !== '') {
      if (typeof v.id === 'string') throw new ArgError(`give --id or --token, not both\n${USAGE}`);
      byValue = v.token.replace(/^Bearer\s+/, '');
    } else id = need('id');
  }

  const cfg = loadSettings(undefined, { logLevel: 'error' });
  const log = createLogger(cfg.logLevel);
  await migrate(cfg.database.url, log);
  const pool = createPool(cfg, log, 2);
  try {
    const store = new TokenStore(pool, cfg.api.tokenSecret);
    if (req) {
      const { token, info } = await store.issue(req);
      console.error(
        `token ${info.token_id} "${info.name}": role ${info.role}, tenant ${info.tenant_id}, expires ${info.expires_at.toISOString()}`,
      );
      console.log(token);
    } else if (byValue) {
      const jti = await store.revokeToken(byValue);
      console.error(`token ${jti} revoked; the API refuses it within a few seconds`);
    } else if (id) {
      if (!(await store.revoke(id))) {
        console.error(`no token with id ${id}`);
        return 1;
      }
      console.error(`token ${id} revoked; the API refuses it within a few seconds`);
    } else {
      const rows = await store.list(typeof v.tenant === 'string' ? v.tenant : undefined);
      for (const r of rows) {
        const state = r.revoked_at
          ? `revoked ${r.revoked_at.toISOString()}`
          : r.expires_at.getTime() < Date.now()
            ? 'expired'
            : 'active';
        console.log(
          [
            r.token_id,
            r.tenant_id,
            r.role,
            r.name,
            r.created_at.toISOString(),
            r.expires_at.toISOString(),
            state,
          ].join('\t'),
        );
      }
    }
    return 0;
  } finally {
    await pool.end();
  }
}

runMain(import.meta.url, main, (err) => !err.canRetry);
