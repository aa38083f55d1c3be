// The bounded produce queue (producers/sendQueue.ts) as pure logic: coalescing, order, the bound and the
// timeout, with a send function the test controls.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VoiceloopError } from '../../../lib/errors.ts';
import { SendQueue } from '../../../producers/sendQueue.ts';

function controlled() {
  const calls: number[][] = [];
  const pending: { resolve(): void; reject(e: unknown): void }[] = [];
  const send = (items: number[]) =>
    new Promise<void>((resolve, reject) => {
      calls.push(items);
      pending.push({ resolve, reject });
    });
  return { calls, pending, send };
}

test('sendQueue: requests arriving during a send go out together in the next one, in order', async () => {
  const c = controlled();
  const q = new SendQueue<number>({ send: c.send, max: 100, timeoutMs: 10_000 });
  const first = q.push(1);
  const rest = [2, 3, 4].map((n) => q.push(n));
  assert.deepEqual(c.calls, [[1]]);
  c.pending[0]!.resolve();
  await first;
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(c.calls, [[1], [2, 3, 4]]);
  c.pending[1]!.resolve();
  await Promise.all(rest);
  assert.equal(q.size, 0);
});

test('sendQueue: full queue and a send that does not finish are answered with a retriable error', async () => {
  const c = controlled();
  const q = new SendQueue<number>({ send: c.send, max: 2, timeoutMs: 50 });
  const a = q.push(1);
  const b = q.push(2);
  await assert.rejects(
    q.push(3),
    (e: unknown) => e instanceof VoiceloopError && e.canRetry && /overloaded/.test(e.message),
  );
  await assert.rejects(
    a,
    (e: unknown) => e instanceof VoiceloopError && e.canRetry && /did not acknowledge/.test(e.message),
  );
  await assert.rejects(b, /did not acknowledge/);
  // The timed-out items still count until their send settles: the bound holds while the broker is away.
  assert.equal(q.size, 2);
  await assert.rejects(q.push(4), /overloaded/);
  c.pending[0]!.resolve();
  await new Promise((r) => setImmediate(r));
  assert.equal(q.size, 1);
  c.pending[1]!.reject(new Error('broker gone'));
  await new Promise((r) => setImmediate(r));
  assert.equal(q.size, 0);
  const d = q.push(5);
  c.pending[2]!.resolve();
  await d;
});

test('sendQueue: without bounds (the station producer) nothing is refused and a failed send fails only its batch', async () => {
  const c = controlled();
  const q = new SendQueue<number>({ send: c.send });
  const first = q.push(0);
  const many = Array.from({ length: 1000 }, (_, i) => q.push(i + 1));
  assert.equal(q.size, 1001);
  c.pending[0]!.reject(new Error('broker gone'));
  await assert.rejects(first, /broker gone/);
  await new Promise((r) => setImmediate(r));
  assert.equal(c.calls[1]!.length, 500);
  assert.deepEqual(c.calls[1]!.slice(0, 3), [1, 2, 3]);
  c.pending[1]!.resolve();
  await new Promise((r) => setImmediate(r));
  c.pending[2]!.resolve();
  await Promise.all(many);
  assert.equal(q.size, 0);
});

test('sendQueue: groups (sendAll batches) waiting together go out in one send, whole, in order', async () => {
  const c = controlled();
  const q = new SendQueue<number>({ send: c.send, batchMax: 5 });
  const first = q.pushAll([1, 2]);
  const a = q.pushAll([3, 4]);
  const b = q.push(5);
  const big = q.pushAll([6, 7, 8, 9, 10, 11]);
  const d = q.pushAll([12]);
  assert.deepEqual(c.calls, [[1, 2]]);
  assert.equal(q.size, 12);
  c.pending[0]!.resolve();
  await first;
  await new Promise((r) => setImmediate(r));
  // [3, 4] and [5] fit under batchMax; the group of six would not, so it waits for the next send.
  assert.deepEqual(c.calls[1], [3, 4, 5]);
  c.pending[1]!.resolve();
  await Promise.all([a, b]);
  await new Promise((r) => setImmediate(r));
  // A group larger than batchMax goes out alone rather than split; what follows waits.
  assert.deepEqual(c.calls[2], [6, 7, 8, 9, 10, 11]);
  c.pending[2]!.resolve();
  await big;
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(c.calls[3], [12]);
  c.pending[3]!.resolve();
  await d;
  assert.equal(q.size, 0);
});

test('sendQueue: a failed send fails every group in it, and only those', async () => {
  const c = controlled();
  const q = new SendQueue<number>({ send: c.send });
  const first = q.pushAll([1, 2, 3]);
  const x = q.pushAll([4, 5]);
  const y = q.push(6);
  c.pending[0]!.resolve();
  await first;
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(c.calls[1], [4, 5, 6]);
  const z = q.pushAll([7, 8]);
  c.pending[1]!.reject(new Error('broker gone'));
  await assert.rejects(x, /broker gone/);
  await assert.rejects(y, /broker gone/);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(c.calls[2], [7, 8]);
  c.pending[2]!.resolve();
  await z;
  assert.equal(q.size, 0);
  // An empty group is acknowledged at once and sends nothing.
  await q.pushAll([]);
  assert.equal(c.calls.length, 3);
});

test('sendQueue: a bounded queue refuses a group that does not fit, whole', async () => {
  const c = controlled();
  const q = new SendQueue<number>({ send: c.send, max: 4 });
  const a = q.pushAll([1, 2, 3]);
  await assert.rejects(q.pushAll([4, 5]), /overloaded/);
  assert.equal(q.size, 3);
  const b = q.push(4);
  c.pending[0]!.resolve();
  await a;
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(c.calls[1], [4]);
  c.pending[1]!.resolve();
  await b;
});

test('sendQueue: coalescing stops at batchMaxBytes; a group over it alone still goes, whole', async () => {
  const c = controlled();
  const q = new SendQueue<number>({ send: c.send, bytesOf: (n) => n, batchMaxBytes: 10 });
  const first = q.push(1);
  const rest = [q.pushAll([2, 3]), q.push(4), q.pushAll([20]), q.push(1)];
  c.pending[0]!.resolve();
  await first;
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(c.calls[1], [2, 3, 4]);
  c.pending[1]!.resolve();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(c.calls[2], [20]);
  c.pending[2]!.resolve();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(c.calls[3], [1]);
  c.pending[3]!.resolve();
  await Promise.all(rest);
});
