// Applies sql/*.sql at start through node-pg-migrate: each file runs once, in order, inside its own
// transaction, recorded in schema_migrations; an advisory lock makes concurrent starts safe.
import { join } from 'node:path';
import { runner } from 'node-pg-migrate';
import type pg from 'pg';
import { parameterCatalog } from '../catalog/index.ts';
import { wrapIo } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';

export const SQL_DIR = join(import.meta.dirname, '..', 'sql');

export async function migrate(databaseUrl: string, log: Logger): Promise<string[]> {
  try {
    const ran = await runner({
      databaseUrl,
      dir: SQL_DIR,
      direction: 'up',
      migrationsTable: 'schema_migrations',
      count: Number.POSITIVE_INFINITY,
      // Each migration touches its own tables, and branches developed in parallel each add one: a
      // database that already ran another branch's file (a shared development database) must still
      // take this branch's. Names stay numbered, so a fresh database runs them in order.
      checkOrder: false,
      advisoryLockMode: 'wait',
      log: (msg: string) => log.debug({ migrate: true }, msg),
    });
    return ran.map((m) => m.name);
  } catch (err) {
    throw wrapIo('DATABASE', 'applying migrations', err, false);
  }
}

/** The parameters table mirrors catalog/parameters.json, the one source of the catalog. */
export async function seedParameters(pool: pg.Pool): Promise<number> {
  const c = parameterCatalog;
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
