// streams/roleConsumer.ts: a commit refused because the member left the group's generation reaches
// kafkajs as the coordinator's own answer (kafkajs rejoins on its `type`), however kafkajs's retrier
// wrapped it; any other failure is not taken for one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { membershipLost } from '../../../streams/roleConsumer.ts';

// kafkajs is CommonJS and spreads its error classes into its exports: not named imports.
const { KafkaJSError, KafkaJSNonRetriableError, KafkaJSProtocolError } = kafkajs;
// What kafkajs's retrier throws for a non-retriable error (kafkajs/src/retry/index.js); its typings
// name only the first argument.
const NonRetriable = KafkaJSNonRetriableError as unknown as new (e: Error, o: { cause: Error }) => Error;
const wrap = (e: Error) => new NonRetriable(e, { cause: e });

const answer = (type: string, code: number) =>
  new KafkaJSProtocolError({ type, code, retriable: false, message: `coordinator says ${type}` } as never);

test('a lost membership is found inside the retrier wrapping, as the original answer', () => {
  for (const [type, code] of [
    ['UNKNOWN_MEMBER_ID', 25],
    ['ILLEGAL_GENERATION', 22],
    ['REBALANCE_IN_PROGRESS', 27],
  ] as const) {
    const original = answer(type, code);
    const wrapped = wrap(original);
    assert.equal((wrapped as { type?: string }).type, undefined, 'the wrapper has lost the type');
    assert.equal(membershipLost(wrapped), original, type);
    assert.equal(membershipLost(original), original, `${type} unwrapped`);
  }
});

test('other failures are not a lost membership', () => {
  const other = answer('REQUEST_TIMED_OUT', 7);
  assert.equal(membershipLost(wrap(other)), undefined);
  assert.equal(membershipLost(new KafkaJSError('broker gone')), undefined);
  assert.equal(membershipLost(new TypeError('a bug')), undefined);
  assert.equal(membershipLost('not an error'), undefined);
  // A cause chain that loops ends.
  const a = new Error('a') as Error & { cause?: unknown };
  a.cause = a;
  assert.equal(membershipLost(a), undefined);
});
