// Every long-running role has the one shape — startX(deps, options) -> { state, stop(), done } — and
// the one shutdown path: started and stopped twice in this process, each ends 'stopped', `done`
// resolves, a second stop() is harmless, and what the roles held (sockets, timers) is released, so
// this file's process exits on its own.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Role } from '../../lib/lifecycle.ts';
import { ALL_ROLES, startApp } from '../../runtime/app.ts';
import { startStationAgent } from '../../stations/agent/index.ts';
import { cleanupTopics, testSettings, uniqueId, waitFor } from '../helpers/runtime.ts';

/** Open sockets and ref'd timers of this process, by kind. */
function handles(): Map<string, number> {
  const out = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) out.set(kind, (out.get(kind) ?? 0) + 1);
  return out;
}

const HELD = ['TCPSocketWrap', 'TCPServerWrap', 'Timeout'];

test('every role starts and stops twice in one process without a leaked handle', async (t) => {
  const cfg = testSettings('roles', { PORT: '0' });
  cleanupTopics(t, cfg);
  const before = handles();
  for (let round = 1; round <= 2; round++) {
    const app = await startApp(cfg, [...ALL_ROLES], { listen: true });
    const agent = await startStationAgent(app.rt, {
      topics: cfg.topics,
      agentId: uniqueId('agent'),
      stations: [4],
    });
    const roles: [string, Role | undefined][] = [
      ['api', app.apiRole],
      ['persister', app.persister],
      ['relay', app.relay],
      ['expiry sweep', app.expiry],
      ['online optimizer', app.online],
      ['experiment runner', app.experiments],
      ['batch runner', app.batch],
      ['station agent', agent],
      ['app', app],
    ];
    for (const [name, role] of roles) assert.equal(role?.state, 'running', `round ${round}: ${name} running`);
    assert.match(app.url ?? '', /^http:\/\/[^:]+:\d+$/, 'the API listens');

    await agent.stop();
    await app.stop();
    for (const [name, role] of roles) {
      assert.equal(role!.state, 'stopped', `round ${round}: ${name} stopped`);
      await role!.done;
      assert.equal(role!.failure, undefined);
    }
    await app.stop(); // a second stop is a no-op
    assert.equal(app.state, 'stopped');
  }
  // Sockets close asynchronously after their owners have let go: wait for them, with a deadline.
  await waitFor(
    'the roles to release their sockets and timers',
    async () => {
      const now = handles();
      return HELD.every((k) => (now.get(k) ?? 0) <= (before.get(k) ?? 0)) || undefined;
    },
    15_000,
    100,
  ).catch((err) => {
    throw new Error(
      `${(err as Error).message}; before ${JSON.stringify([...before])}, now ${JSON.stringify([...handles()])}`,
    );
  });
});
