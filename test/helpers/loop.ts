// The loop as the demo runs it, for the tests that drive it segment by segment (online-loop, traces):
// the roles in this process on a clock the test moves ahead, one station agent, and one step: the agent
// processes a segment and the test waits for the online optimizer's decision on its snapshot.
import type { TestContext } from 'node:test';
import type { DecisionOutcome } from '../../consumers/online/index.ts';
import { type RoleName, startApp } from '../../runtime/app.ts';
import { startStationAgent } from '../../stations/agent/index.ts';
import type { StationInput } from '../../stations/pipeline.ts';
import { cleanupTopics, defer, testSettings, uniqueId, waitFor } from './runtime.ts';

export async function startLoop(t: TestContext, o: { label: string; roles: RoleName[]; station: number }) {
  const cfg = testSettings(o.label);
  cleanupTopics(t, cfg);
  const decisions = new Map<string, DecisionOutcome>();
  let skew = 0; // how far the test has moved the loop's clock ahead of the wall clock
  const app = await startApp(cfg, o.roles, {
    listen: false,
    clock: () => Date.now() + skew,
    online: { onDecision: (snap, out) => decisions.set(snap.snapshot_id, out) },
  });
  defer(t, () => app.stop());
  const agents = await startStationAgent(app.rt, {
    topics: cfg.topics,
    agentId: uniqueId('agent'),
    stations: [o.station],
  });
  defer(t, () => agents.stop());
  const agent = agents.station(o.station);
  const tenant = uniqueId('tn');
  return {
    cfg,
    app,
    agent,
    tenant,
    /** Moves the clock of the change path's cool-downs and TTLs (and the online decisions) ahead. */
    advance(ms: number) {
      skew += ms;
    },
    /** The agent processes segment `index` of the call; resolves with it and the online decision on it. */
    async segment(callId: string, index: number, segmentMs: number, input: StationInput) {
      const res = await agent.processSegment(
        { tenantId: tenant, callId, channel: 'A' },
        { index, startMs: index * segmentMs, endMs: (index + 1) * segmentMs },
        input,
      );
      const out = await waitFor(
        `the online decision on segment ${index} of ${callId}`,
        async () => decisions.get(res.snapshot.snapshot_id),
        15_000,
        5,
      );
      return { res, out };
    },
  };
}
