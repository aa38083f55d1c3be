// Applies sql/*.sql at start through node-pg-migrate: each file runs once, in order, inside its own
// transaction, recorded in schema_migrations; an advisory lock makes concurrent starts safe.
//
// Order is checked here, not by node-pg-migrate's checkOrder: that one also demands the recorded
// history be in file order, which databases that took files from parallel branches do not have (and
// need not: each file touches its own tables). What must hold is that no file waits to run before one
// the database already applied, and that no two files share a number; either is refused by name.
// A file renamed after databases applied it is listed in RENAMED: it is recorded under its new name
// first, so it is never run twice.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PG_MIGRATE_LOCK_ID, runner } from 'node-pg-migrate';
import pg from 'pg';
import { loadCatalog } from '../catalog/index.ts';
import { VoiceloopError, wrapIo } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';

export const SQL_DIR = join(import.meta.dirname, '..', 'sql');
const TABLE = 'schema_migrations';

/**
 * Migrations renamed after databases applied them, old name -> new name. Never remove an entry: a
 * database last started before the rename still carries the old name.
 */
export const RENAMED: Readonly<Record<string, string>> = {
  // 0006_learned_regions and 0006_tenant_keys shared a number (two branches each took the next
  // free one); the later of the two moved to the next free number.
  '0006_learned_regions': '0008_learned_regions',
  // 0008_retention landed first; 0008_learned_regions was renamed onto the same number after it, so
  // the retention tables moved to the next free number.
  '0008_retention': '0010_retention',
};

/** Migration names (file names without .sql) in the order they run. */
export function migrationNames(dir = SQL_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .map((f) => f.slice(0, -4))
    .sort((a, b) => prefix(a) - prefix(b) || a.localeCompare(b));
}

function prefix(name: string): number {
  const m = /^(\d+)_/.exec(name);
  return m ? Number(m[1]) : Number.NaN;
}

/** What is wrong with running `files` (in order) on a database that applied `applied`; empty when sound. */
export function orderProblems(files: readonly string[], applied: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const seen = new Map<number, string>();
  for (const f of files) {
    const n = prefix(f);
    if (Number.isNaN(n)) out.push(`migration ${f} has no number: name it NNNN_what.sql`);
    else if (seen.has(n))
      out.push(
        `migrations ${seen.get(n)} and ${f} share the number ${n}: give the newer one the next free number`,
      );
    else seen.set(n, f);
  }
  const lastApplied = files.reduce((last, f, i) => (applied.has(f) ? i : last), -1);
  for (const f of files.slice(0, Math.max(0, lastApplied))) {
    if (!applied.has(f))
      out.push(
        `migration ${f} is numbered before ${files[lastApplied]}, which this database already applied: give ${f} the next free number`,
      );
  }
  return out;
}

export async function migrate(databaseUrl: string, log: Logger, dir = SQL_DIR): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  // A server restart while migrating surfaces as the failed query below, never as an unhandled event.
  client.on('error', (err) => log.warn({ err: err.message }, 'migration connection failed'));
  try {
    await client.connect();
    // node-pg-migrate's own lock id: a process of an older version, migrating meanwhile, waits too.
    await client.query('SELECT pg_advisory_lock($1)', [PG_MIGRATE_LOCK_ID]);
    try {
      await renameApplied(client, log);
      const problems = orderProblems(migrationNames(dir), await appliedNames(client));
      if (problems.length)
        throw new VoiceloopError('VALIDATION', `migrations in ${dir}: ${problems.join('; ')}`);
      const ran = await runner({
        dbClient: client,
        dir,
        direction: 'up',
        migrationsTable: TABLE,
        count: Number.POSITIVE_INFINITY,
        checkOrder: false, // checked above
        noLock: true, // held above
        log: (msg: string) => log.debug({ migrate: true }, msg),
      });
      return ran.map((m) => m.name);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [PG_MIGRATE_LOCK_ID]).catch(() => {});
    }
  } catch (err) {
    if (err instanceof VoiceloopError) throw err;
    throw wrapIo('DATABASE', 'applying migrations', err, false);
  } finally {
    await client.end().catch(() => {});
  }
}

async function hasTable(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [TABLE]);
  return rows[0]?.t != null;
}

async function appliedNames(client: pg.Client): Promise<Set<string>> {
  if (!(await hasTable(client))) return new Set();
  const { rows } = await client.query<{ name: string }>(`SELECT name FROM ${TABLE}`);
  return new Set(rows.map((r) => r.name));
}

/**
 * Records each renamed migration under its new name too, with its original run time. The old row
 * stays: a process still running the old file set (an older deployment, a branch not yet rebased on a
 * shared development database) must also see its file as applied, not run it a second time.
 */
async function renameApplied(client: pg.Client, log: Logger): Promise<void> {
  const pairs = Object.entries(RENAMED);
  if (pairs.length === 0 || !(await hasTable(client))) return;
  const { rows } = await client.query<{ name: string }>(
    `INSERT INTO ${TABLE} (name, run_on)
     SELECT m.new, t.run_on FROM ${TABLE} t JOIN unnest($1::text[], $2::text[]) AS m(old, new) ON t.name = m.old
      WHERE NOT EXISTS (SELECT 1 FROM ${TABLE} x WHERE x.name = m.new)
     RETURNING name`,
    [pairs.map((p) => p[0]), pairs.map((p) => p[1])],
  );
  if (rows.length)
    log.info({ renamed: rows.map((r) => r.name) }, 'recorded renamed migrations under their new names');
}

/** The parameters table mirrors catalog/parameters.json, the one source of the catalog. */
export async function seedParameters(pool: pg.Pool): Promise<number> {
  const c = loadCatalog().parameters;
  await pool.query(
    `INSERT INTO parameters (name, description, unit, min_value, max_value, default_value, max_step, hot, stations)
     SELECT n, d, u, mn, mx, df, st, h, string_to_array(s, ',')::int[]
       FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::bool[], $9::text[])
         AS t(n, d, u, mn, mx, df, st, h, s)
     ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, unit = EXCLUDED.unit,
       min_value = EXCLUDED.min_value, max_value = EXCLUDED.max_value, default_value = EXCLUDED.default_value,
       max_step = EXCLUDED.max_step, hot = EXCLUDED.hot, stations = EXCLUDED.stations, updated_at = now()`,
    [
      c.map((p) => p.name),
      c.map((p) => p.description),
      c.map((p) => p.unit),
      c.map((p) => p.min),
      c.map((p) => p.max),
      c.map((p) => p.default),
      c.map((p) => p.max_step),
      c.map((p) => p.hot),
      c.map((p) => p.stations.join(',')),
    ],
  );
  return c.length;
}
