// Issue 12 point 4 against a real Prometheus (Debian `prometheus`, started on a free port with a
// generated config): the API process's /metrics and a station agent's own /metrics are scraped, and
// every series the README lists is queried through Prometheus's HTTP API with the values the run made:
// station scores and decision latency from the online optimizer, changes by outcome and actor kind,
// consumer lag per group and partition, the outbox backlog, dead letters by code, and the agent's
// applied version, apply latency and TTL expiries. No label carries a call id.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAgentMetrics } from '../../lib/metrics.ts';
import { serveMetrics } from '../../lib/metricsServer.ts';
import { startApp } from '../../runtime/app.ts';
import { type PrivatePrometheus, startPrometheus } from '../../stack/prometheus.ts';
import { startStationAgent } from '../../stations/agent/index.ts';
import { parseImpairments, simulateCall } from '../../stations/sim/index.ts';
import { createProducer } from '../../streams/kafka.ts';
import { cleanupTopics, defer, testSettings, token, uniqueId, waitFor } from '../helpers/runtime.ts';

const STATION = 4;

function quietCall(segments: number) {
  const impairments = parseImpairments({
    name: 'metrics-test',
    tenants: ['t'],
    sample_rates: { [STATION]: 16000 },
    stations: { [STATION]: { level_db: -38, noise: { type: 'white', snr_db: 40 } } },
  });
  return simulateCall({ impairments, callIndex: 0, seed: 5, segments, segmentMs: 1000 }).segments.map(
    (s) => s.inputs.get(STATION)!,
  );
}

const hostPort = (url: string) => new URL(url).host;

/** Every documented series, queried through Prometheus with the values the run made. */
async function expectSeries(
  prom: PrivatePrometheus,
  run: { persisterGroup: string; snapshots: string; segments: number; lastVersion: number },
) {
  const value = async (q: string, pred: (v: number) => boolean = (v) => v > 0) =>
    waitFor(
      `Prometheus to answer ${q}`,
      async () => {
        const r = await prom.query(q);
        const v = r.length ? Number(r[0]!.value[1]) : Number.NaN;
        return r.length && pred(v) ? v : undefined;
      },
      60_000,
      500,
    );
  const s = `station="${STATION}"`;
  await value(`voiceloop_station_score_count{${s}}`);
  const meanScore = await value(`voiceloop_station_score_sum{${s}} / voiceloop_station_score_count{${s}}`);
  assert.ok(meanScore > 0 && meanScore <= 100, `mean score ${meanScore}`);
  await value(`voiceloop_decision_seconds_count{${s}}`, (v) => v >= run.segments);
  await value(`voiceloop_changes_total{outcome="applied",actor_kind="operator",${s}}`, (v) => v >= 3);
  await value(`voiceloop_changes_total{outcome="rejected",actor_kind="operator",${s}}`, (v) => v === 1);
  await value(`voiceloop_changes_total{outcome="rolled_back",actor_kind="operator",${s}}`, (v) => v === 1);
  await value(`voiceloop_dead_letters_total{code!=""}`, (v) => v >= 1);
  const lag = await waitFor('consumer lag of the persister group', async () => {
    const r = await prom.query(`voiceloop_consumer_lag{group="${run.persisterGroup}"}`);
    return r.length > 0 ? r : undefined;
  });
  assert.ok(lag.every((r) => r.metric.partition !== undefined && r.metric.topic === run.snapshots));
  await value('voiceloop_outbox_pending', (v) => v >= 0);
  await value('voiceloop_outbox_oldest_pending_age_seconds', (v) => v >= 0);
  // The agent's own endpoint.
  const version = await value(`voiceloop_agent_applied_config_version{${s}}`, (v) => v >= run.lastVersion);
  assert.ok(version >= run.lastVersion);
  await value(`voiceloop_agent_apply_seconds_count{${s}}`, (v) => v >= 2);
  await value(`voiceloop_agent_ttl_expiries_total{${s}}`, (v) => v >= 1);
}

test('a real Prometheus scrapes the API and an agent and finds every documented series', async (t) => {
  const cfg = testSettings('prom', { PORT: '0' });
  cleanupTopics(t, cfg);
  const app = await startApp(cfg, ['api', 'persister', 'relay', 'online'], { listen: true });
  defer(t, () => app.stop());
  const agentMetrics = createAgentMetrics();
  const agents = await startStationAgent(
    { ...app.rt, agentMetrics },
    { topics: cfg.topics, agentId: uniqueId('agent'), stations: [STATION], expiryCheckMs: 50 },
  );
  defer(t, () => agents.stop());
  const agentEndpoint = await serveMetrics(agentMetrics.registry, '127.0.0.1', 0);
  defer(t, () => agentEndpoint.close());
  const agent = agents.station(STATION);

  const tenant = uniqueId('tn');
  const callId = uniqueId('call');
  const op = token(cfg, 'operator', tenant);
  const post = async (url: string, payload: object) => {
    const res = await app.api!.inject({ method: 'POST', url, headers: { authorization: op }, payload });
    return { status: res.statusCode, body: res.json() as { change_id: string; version: number } };
  };

  // Snapshots the online optimizer scores (station score, decision latency).
  const inputs = quietCall(3);
  for (const [i, input] of inputs.entries()) {
    await agent.processSegment(
      { tenantId: tenant, callId, channel: 'A' },
      { index: i, startMs: i * 1000, endMs: (i + 1) * 1000 },
      input,
    );
  }
  // An operator's change (applied), one beyond the max step (rejected), its rollback (rolled_back),
  // and a short-lived one whose TTL ends on the agent.
  const scope = { level: 'call', tenant_id: tenant, call_id: uniqueId('opcall') };
  const ok = await post('/v1/config/update', {
    station_id: STATION,
    scope,
    parameters: { input_gain_db: 3 },
    reason: 'metrics test',
  });
  assert.equal(ok.status, 200);
  const refused = await post('/v1/config/update', {
    station_id: STATION,
    scope: { ...scope, call_id: uniqueId('opcall') },
    parameters: { input_gain_db: 19 },
    reason: 'metrics test: too big a step',
  });
  assert.equal(refused.status, 422);
  await waitFor('the agent to apply the change', async () =>
    agent.effective(tenant, scope.call_id).version >= ok.body.version ? true : undefined,
  );
  const back = await post('/v1/config/rollback', { change_id: ok.body.change_id, reason: 'metrics test' });
  assert.equal(back.status, 200);
  const short = await post('/v1/config/update', {
    station_id: STATION,
    scope: { ...scope, call_id: uniqueId('ttlcall') },
    parameters: { vad_threshold: 0.55 },
    reason: 'metrics test: short TTL',
    ttl_ms: 300,
  });
  assert.equal(short.status, 200);
  // A record that does not decode: the persister dead-letters it.
  const raw = createProducer(app.rt.kafka);
  await raw.connect();
  await raw.send({
    topic: cfg.topics.snapshots,
    messages: [{ key: callId, value: Buffer.from('not avro') }],
  });
  await raw.disconnect();

  const prom = await startPrometheus(
    [
      { job: 'voiceloop', target: hostPort(app.url!) },
      { job: 'voiceloop-agent', target: hostPort(agentEndpoint.url) },
    ],
    (line) => console.log(`[prometheus] ${line}`),
  );
  defer(t, () => prom.stop());
  await expectSeries(prom, {
    persisterGroup: cfg.groups.persister,
    snapshots: cfg.topics.snapshots,
    segments: inputs.length,
    lastVersion: back.body.version,
  });

  // Bounded labels: no series of either job names a call, a change or a tenant.
  const all = await prom.query('{__name__=~"voiceloop_.+"}');
  assert.ok(all.length > 20, `only ${all.length} voiceloop series`);
  for (const r of all) {
    for (const v of Object.values(r.metric)) {
      assert.ok(
        !v.includes(callId) &&
          !v.includes(scope.call_id) &&
          !v.includes(tenant) &&
          !v.includes(ok.body.change_id),
        `series ${JSON.stringify(r.metric)} carries an unbounded label`,
      );
    }
  }
});
