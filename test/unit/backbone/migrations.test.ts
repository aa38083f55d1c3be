// Issue 9, migrations: two files once shared the number 0006 and the order check was off. The order
// rules are pure: no file may wait before one a database already applied, no two files share a number,
// and every renamed file's new name is a file of sql/.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { migrationNames, orderProblems, RENAMED } from '../../../storage/migrate.ts';

test('sql/: numbered, each number once (0006 was used twice), renamed files present under their new names', () => {
  const files = migrationNames();
  assert.deepEqual(orderProblems(files, new Set()), []);
  for (const [old, renamed] of Object.entries(RENAMED)) {
    assert.ok(files.includes(renamed), `${renamed} (was ${old}) is a file of sql/`);
    assert.ok(!files.includes(old), `${old} was renamed`);
  }
});

test('orderProblems: a shared number, a missing number, and a file waiting before an applied one are named', () => {
  assert.deepEqual(orderProblems(['0001_a', '0002_b', '0003_c'], new Set(['0001_a', '0002_b'])), []);
  // Applied in another order (parallel branches) is fine: only what waits matters.
  assert.deepEqual(
    orderProblems(['0001_a', '0002_b', '0003_c'], new Set(['0003_c', '0001_a', '0002_b'])),
    [],
  );
  const shared = orderProblems(['0006_x', '0006_y'], new Set());
  assert.equal(shared.length, 1);
  assert.match(shared[0]!, /0006_x and 0006_y share the number 6/);
  assert.match(orderProblems(['first'], new Set())[0]!, /first has no number/);
  const late = orderProblems(['0001_a', '0002_b', '0003_c'], new Set(['0001_a', '0003_c']));
  assert.deepEqual(late, [
    'migration 0002_b is numbered before 0003_c, which this database already applied: give 0002_b the next free number',
  ]);
  // Names a database applied that no file carries (a renamed file's old name) change nothing.
  assert.deepEqual(orderProblems(['0001_a'], new Set(['0000_gone', '0001_a'])), []);
});
