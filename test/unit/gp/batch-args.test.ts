// The batch CLI's flags (optimizer/batch/args.ts): every bad flag gets an error naming it; good ones
// become the same request the API takes. (The real command's exit code: test/integration/batch.test.ts.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArgError, parseBatchArgs } from '../../../optimizer/batch/args.ts';

test('batch CLI flags: errors name the flag', () => {
  const now = Date.parse('2025-06-01T00:00:00Z');
  const cases: [string[], RegExp][] = [
    [['--to', '2025-05-31T00:00:00Z'], /--from: is required/],
    [['--from', 'yesterday', '--to', '2025-05-31T00:00:00Z'], /--from: "yesterday" is not an ISO 8601 time/],
    [['--from', '2025-05-31T00:00:00Z', '--to', '2025-05-30T00:00:00Z'], /--to: must be after from/],
    [
      ['--from', '2025-05-01T00:00:00Z', '--to', '2025-05-31T00:00:00Z'],
      /--to: the range of 30\.0 days exceeds/,
    ],
    [
      ['--from', '2025-05-30T00:00:00Z', '--to', '2025-05-31T00:00:00Z', '--station', 'x'],
      /--station must be a station id/,
    ],
    [
      ['--from', '2025-05-30T00:00:00Z', '--to', '2025-05-31T00:00:00Z', '--station', '5'],
      /--station: unknown station 5/,
    ],
    [
      ['--from', '2025-05-30T00:00:00Z', '--to', '2025-05-31T00:00:00Z', '--budget', '1.5'],
      /--budget must be an integer/,
    ],
    [
      ['--from', '2025-05-30T00:00:00Z', '--to', '2025-05-31T00:00:00Z', '--tenant', 'a b'],
      /--tenant: must be 1-64 characters/,
    ],
    [
      ['--from', '2025-05-30T00:00:00Z', '--to', '2025-05-31T00:00:00Z', '--colour', 'red'],
      /Unknown option '--colour'/,
    ],
  ];
  for (const [argv, expect] of cases) {
    assert.throws(
      () => parseBatchArgs(argv, now),
      (err: unknown) => err instanceof ArgError && expect.test(err.message),
    );
  }
  const ok = parseBatchArgs(
    ['--from', '2025-05-30T00:00:00Z', '--to', '1748649600000', '--station', '3,11', '--tenant', 'acme'],
    now,
  );
  assert.deepEqual(ok.request.scope, { level: 'tenant', tenant_id: 'acme', station_ids: [3, 11] });
  assert.equal(ok.request.to, Date.parse('2025-05-31T00:00:00Z'));
});
