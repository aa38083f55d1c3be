// `npm run eval` flags: the judged stretch of each call (--judged-segments) and its bounds.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { ArgError, parseEvalArgs } from '../../../eval/args.ts';

test('eval args: the yardstick judges the last 5 segments by default (3 left to warm up), --judged-segments N of them when asked', () => {
  assert.equal(parseEvalArgs([]).judgedSegments, 5);
  assert.equal(parseEvalArgs(['--segments', '20']).judgedSegments, 5);
  assert.equal(parseEvalArgs(['--segments', '6']).judgedSegments, 3);
  assert.equal(parseEvalArgs(['--segments', '4']).judgedSegments, 2);
  assert.equal(parseEvalArgs(['--judged-segments', '5']).judgedSegments, 5);
  assert.equal(parseEvalArgs(['--segments', '12', '--judged-segments', '12']).judgedSegments, 12);
});

test('eval args: a judged stretch longer than the call, or not a whole positive number, is refused naming the flag', () => {
  const refused = (argv: string[], why: RegExp) =>
    assert.throws(
      () => parseEvalArgs(argv),
      (e: unknown) => e instanceof ArgError && why.test(e.message),
    );
  refused(['--judged-segments', '9'], /--judged-segments must be at most --segments \(8\), got 9/);
  refused(['--segments', '4', '--judged-segments', '5'], /at most --segments \(4\), got 5/);
  refused(['--judged-segments', '0'], /--judged-segments must be within \[1, 60\], got 0/);
  refused(['--judged-segments', '2.5'], /--judged-segments must be an integer, got "2.5"/);
});

test('eval args: --workers defaults to one per core, takes 1..64, and names itself when refused', () => {
  assert.equal(parseEvalArgs([]).workers, availableParallelism());
  assert.equal(parseEvalArgs(['--workers', '1']).workers, 1);
  assert.equal(parseEvalArgs(['--workers', '3']).workers, 3);
  assert.throws(() => parseEvalArgs(['--workers', '0']), /--workers must be within \[1, 64\], got 0/);
  assert.throws(() => parseEvalArgs(['--workers', 'two']), /--workers must be an integer, got "two"/);
});
