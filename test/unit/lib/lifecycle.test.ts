// The one role shape (lib/lifecycle.ts) without I/O: states move forward only, stop() is idempotent and
// releases once, a role that fails on its own ends 'failed' with the reason, and `done` resolves either way.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLifecycle } from '../../../lib/lifecycle.ts';
import { inWords } from '../../../lib/log.ts';
import { kafkaLogLevel } from '../../../streams/kafka.ts';

test('starting -> running -> stopping -> stopped; release runs once; done resolves', async () => {
  let released = 0;
  let releaseNow: () => void = () => {};
  const lc = createLifecycle(
    () =>
      new Promise<void>((r) => {
        released++;
        releaseNow = r;
      }),
  );
  const role = lc.role({ name: 'x' });
  assert.equal(role.state, 'starting');
  lc.running();
  assert.equal(role.state, 'running');
  const first = role.stop();
  const second = role.stop();
  assert.equal(role.state, 'stopping');
  releaseNow();
  await Promise.all([first, second, role.done]);
  assert.equal(role.state, 'stopped');
  assert.equal(released, 1);
  assert.equal(role.failure, undefined);
  assert.equal(role.name, 'x', "the role's own members stay");
});

test('a role that fails on its own ends failed with the reason; a later stop changes nothing', async () => {
  let released = 0;
  const lc = createLifecycle(async () => {
    released++;
  });
  const role = lc.role({});
  lc.running();
  await lc.fail(new Error('consumer crashed'));
  await role.done;
  assert.equal(role.state, 'failed');
  assert.equal(role.failure?.message, 'consumer crashed');
  await role.stop();
  assert.equal(role.state, 'failed');
  assert.equal(released, 1);
});

test('expected Kafka group events go below warning, by their protocol code; other errors stay errors', () => {
  assert.equal(kafkaLogLevel(1, { error: 'The coordinator is not aware of this member' }), 'debug');
  assert.equal(kafkaLogLevel(1, { error: 'The group is rebalancing, so a rejoin is needed' }), 'debug');
  assert.equal(kafkaLogLevel(1, { error: 'Connection timeout' }), 'error');
  assert.equal(kafkaLogLevel(2, {}), 'warn');
  // The relay's and the restore's producers bound their retries on purpose: kafkajs's notice of it is not a fault.
  const bounded = 'Limiting retries for the idempotent producer may invalidate EoS guarantees';
  assert.equal(kafkaLogLevel(2, {}, bounded), 'debug');
  assert.equal(kafkaLogLevel(2, {}, 'Some other producer warning'), 'warn');
});

test('a log line in words names the level, the role and the reason', () => {
  const line = JSON.stringify({ level: 50, role: 'relay', msg: 'outbox relay failed', err: 'broker down' });
  assert.equal(inWords(line), 'error (relay): outbox relay failed: broker down\n');
});

test("a kafkajs entry in words keeps the broker's reason and the group", () => {
  const line = JSON.stringify({
    level: 50,
    msg: 'Response GroupCoordinator(key: 10, version: 2)',
    kafka: { error: 'The coordinator is not available', groupId: 'voiceloop.persister' },
  });
  assert.equal(
    inWords(line),
    'error: Response GroupCoordinator(key: 10, version: 2): The coordinator is not available [group voiceloop.persister]\n',
  );
});
