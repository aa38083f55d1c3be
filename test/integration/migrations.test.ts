// Issue 9, migrations: renumbering a file must not run it again on a database that applied it under
// its old name, and a file numbered before one already applied is refused by name, changing nothing.
// On a private PostgreSQL: the test rewrites schema_migrations as an older deployment left it.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { createLogger } from '../../lib/log.ts';
import { migrate, migrationNames, RENAMED, SQL_DIR } from '../../storage/migrate.ts';
import { startPrivatePostgres } from '../helpers/privatePostgres.ts';
import { defer } from '../helpers/runtime.ts';

test('issue 9: a renamed migration is not run again on a database that applied the old name; one numbered before an applied one is refused', async (t) => {
  const db = await startPrivatePostgres();
  defer(t, () => db.destroy());
  await db.start();
  const log = createLogger('silent');
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  defer(t, () => client.end());
  const names = async () =>
    (await client.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY id')).rows.map(
      (r) => r.name,
    );

  const first = await migrate(db.url, log);
  assert.deepEqual(first, migrationNames());

  // As a database migrated before the renaming has it: the old names only.
  for (const [old, renamed] of Object.entries(RENAMED))
    await client.query('UPDATE schema_migrations SET name = $1 WHERE name = $2', [old, renamed]);
  // Before the fix this ran 0008_learned_regions again: "relation learned_regions already exists".
  assert.deepEqual(await migrate(db.url, log), []);
  const after = await names();
  for (const [old, renamed] of Object.entries(RENAMED)) {
    assert.ok(after.includes(renamed), `${renamed} recorded`);
    assert.ok(after.includes(old), `${old} kept for processes still running the old file set`);
  }
  assert.deepEqual(await migrate(db.url, log), [], 'a second start changes nothing');

  // A file numbered before the last applied one (a branch that kept a stale number) is refused by
  // name before anything runs.
  const dir = mkdtempSync(join(tmpdir(), 'voiceloop-sql-'));
  defer(t, () => rmSync(dir, { recursive: true, force: true }));
  for (const n of migrationNames()) copyFileSync(join(SQL_DIR, `${n}.sql`), join(dir, `${n}.sql`));
  writeFileSync(
    join(dir, '0007_late_one.sql'),
    '-- Up Migration\nCREATE TABLE late_one (x int);\n-- Down Migration\nDROP TABLE late_one;\n',
  );
  await assert.rejects(migrate(db.url, log, dir), (err: Error) => {
    assert.match(err.message, /0007_\w+ and 0007_\w+ share the number 7/);
    return true;
  });
  rmSync(join(dir, '0007_late_one.sql'));
  const last = migrationNames().at(-1)!;
  const gap = Number(last.slice(0, 4)) + 2;
  const pad = (n: number) => String(n).padStart(4, '0');
  // Applied: every file and one numbered after a gap; pending: one in the gap.
  writeFileSync(join(dir, `${pad(gap)}_applied.sql`), '-- Up Migration\nCREATE TABLE mig_applied (x int);\n');
  assert.deepEqual(await migrate(db.url, log, dir), [`${pad(gap)}_applied`]);
  writeFileSync(join(dir, `${pad(gap - 1)}_late.sql`), '-- Up Migration\nCREATE TABLE mig_late (x int);\n');
  await assert.rejects(
    migrate(db.url, log, dir),
    new RegExp(
      `${pad(gap - 1)}_late is numbered before ${pad(gap)}_applied, which this database already applied`,
    ),
  );
  const late = await client.query("SELECT to_regclass('mig_late') AS t");
  assert.equal(late.rows[0].t, null, 'nothing of the refused file ran');
});
