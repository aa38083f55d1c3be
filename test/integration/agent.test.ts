// Issue 3, "Done when", against the real stack: a config record published through the one safe path
// is applied by the station agent, acked, and shows in its next snapshot (version and metrics); an
// out-of-bounds or unknown record put on the config topic behind the API's back is rejected with its
// reason and changes nothing; a call-scoped record with a 2 s TTL stops applying after 2 s on the
// agent's own clock; a restarted agent rebuilds the same effective parameters from the compacted topic.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { parameterByName } from '../../catalog/index.ts';
import { callScope, configKey } from '../../config/keys.ts';
import type { ConfigRecord, StationSnapshot } from '../../contracts/generated.ts';
import { startApp } from '../../runtime/app.ts';
import { type ConfigEvent, type StationAgent, startStationAgent } from '../../stations/agent/index.ts';
import type { StationInput } from '../../stations/pipeline.ts';
import { parseImpairments, simulateCall } from '../../stations/sim/index.ts';
import { createProducer } from '../../streams/kafka.ts';
import { cleanupTopics, defer, testSettings, token, uniqueId, waitFor } from '../helpers/runtime.ts';

const STATION = 4;

/** Every record of a topic from the beginning, decoded, for as long as the test runs. */
async function collect<T>(kafka: Kafka, topic: string, decode: (v: Buffer | null) => Promise<T>) {
  const items: T[] = [];
  const consumer = kafka.consumer({ groupId: uniqueId('collect-'), maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      items.push(await decode(message.value));
    },
  });
  return {
    items,
    until: (what: string, pred: (x: T) => boolean, timeoutMs = 15_000) =>
      waitFor(what, async () => items.find(pred), timeoutMs, 20),
    stop: () => consumer.disconnect(),
  };
}

/** One 2 s segment of quiet speech over a faint noise floor: quiet enough that +6 dB never meets the limiter. */
function quietSegment(): StationInput {
  const impairments = parseImpairments({
    name: 'agent-test',
    tenants: ['t'],
    sample_rates: { [STATION]: 16000 },
    stations: { [STATION]: { level_db: -38, noise: { type: 'white', snr_db: 40 } } },
  });
  const call = simulateCall({ impairments, callIndex: 0, seed: 11, segments: 1, segmentMs: 2000 });
  return call.segments[0]!.inputs.get(STATION)!;
}

type Agents = Awaited<ReturnType<typeof startStationAgent>>;

/** What the stages of the scenario share: the roles, the agent, the test's helpers. */
async function setUp(t: TestContext) {
  const cfg = testSettings('agent');
  cleanupTopics(t, cfg);
  const app = await startApp(cfg, ['api', 'relay'], { listen: false });
  defer(t, () => app.stop());
  const tenant = uniqueId('tn');
  const op = token(cfg, 'operator', tenant);
  const acks = await collect(app.rt.kafka, cfg.topics.acks, (v) =>
    app.rt.registry.codec('ConfigAck').decode(v),
  );
  defer(t, () => acks.stop());
  const agentId = uniqueId('agent');
  const sc = {
    t,
    cfg,
    app,
    tenant,
    call1: uniqueId('call'),
    call2: uniqueId('call'),
    acks,
    agentId,
    /** The agent's own clock, which its TTLs run on: real time until the test stops it at a given instant. */
    frozenAt: null as number | null,
    agentOpts: {} as Parameters<typeof startStationAgent>[1],
    agents: undefined as unknown as Agents,
    agent: undefined as unknown as StationAgent,
    events: [] as ConfigEvent[],
    input: quietSegment(),
    index: 0,
    gain: parameterByName('input_gain_db')!,
    async update(scope: object, parameters: Record<string, number>, extra: object = {}) {
      const res = await app.api!.inject({
        method: 'POST',
        url: '/v1/config/update',
        headers: { authorization: op },
        payload: { station_id: STATION, scope, parameters, reason: 'agent test', ...extra },
      });
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as { change_id: string; version: number; expires_at: number | null };
    },
    async run(a: StationAgent, callId: string): Promise<StationSnapshot> {
      const i = sc.index++;
      const res = await a.processSegment(
        { tenantId: tenant, callId, channel: 'A' },
        { index: i, startMs: i * 2000, endMs: i * 2000 + 2000 },
        sc.input,
      );
      return res.snapshot;
    },
    applied: (a: StationAgent, callId: string, version: number) =>
      waitFor(
        `agent to apply version ${version}`,
        async () => a.effective(tenant, callId).version >= version,
      ),
  };
  sc.agentOpts = {
    topics: cfg.topics,
    agentId,
    stations: [STATION],
    clock: () => sc.frozenAt ?? Date.now(),
  };
  sc.agents = await startStationAgent(app.rt, sc.agentOpts);
  defer(t, () => sc.agents.stop());
  sc.agents.feed.onEvent((e) => sc.events.push(e));
  sc.agent = sc.agents.station(STATION);
  return sc;
}

type Scenario = Awaited<ReturnType<typeof setUp>>;

/** (a) A change through the API: applied, acked, and the next snapshot runs it. */
async function appliesThroughTheApi(sc: Scenario) {
  const { agent, call1, gain } = sc;
  const step = Math.min(6, gain.max_step);
  const before = await sc.run(agent, call1);
  await sc.run(agent, call1); // the same audio again: the level every later segment is compared with
  const baseline = await sc.run(agent, call1);
  assert.equal(baseline.applied_config_version, 0, 'catalog defaults before any record');
  assert.ok(Math.abs(baseline.metrics.audio.rms_dbfs - before.metrics.audio.rms_dbfs) < 0.2);
  const up = await sc.update(
    { level: 'call', tenant_id: sc.tenant, call_id: call1 },
    { input_gain_db: step },
  );
  const key1 = configKey(STATION, callScope(sc.tenant, call1));
  const ack = await sc.acks.until(
    `applied ack of version ${up.version}`,
    (a) => a.config_key === key1 && a.version === up.version,
  );
  assert.deepEqual(
    { agent: ack.agent_id, station: ack.station_id, status: ack.status, change: ack.change_id },
    { agent: sc.agentId, station: STATION, status: 'applied', change: up.change_id },
  );
  await sc.applied(agent, call1, up.version);
  const louder = await sc.run(agent, call1);
  assert.equal(louder.applied_config_version, up.version, 'the snapshot carries the version it ran');
  const rise = louder.metrics.audio.rms_dbfs - baseline.metrics.audio.rms_dbfs;
  assert.ok(Math.abs(rise - step) < 0.5, `+${step} dB of input gain raised the RMS by ${rise.toFixed(2)} dB`);
  const riseLufs = louder.metrics.audio.loudness_lufs - baseline.metrics.audio.loudness_lufs;
  assert.ok(Math.abs(riseLufs - step) < 0.5, `loudness rose ${riseLufs.toFixed(2)} LU`);
  return { step, up, key1, louder };
}

type Applied = Awaited<ReturnType<typeof appliesThroughTheApi>>;

/**
 * (b) Records put on the config topic behind the API's back (valid Avro, invalid meaning): each is
 * rejected with its reason in an ack, and the last known-good record stays in effect.
 */
async function rejectsBadRecords(sc: Scenario, { up, key1, louder }: Applied) {
  const { agent, call1, gain, cfg } = sc;
  const codec = sc.app.rt.registry.codec('ConfigRecord');
  const good = agent.effective(sc.tenant, call1);
  const raw = createProducer(sc.app.rt.kafka);
  await raw.connect();
  defer(sc.t, () => raw.disconnect());
  const bad: { params: Record<string, number>; expect: RegExp }[] = [
    {
      params: { ...good.params, input_gain_db: gain.max + 20 },
      expect: /input_gain_db: .*above the maximum 20/,
    },
    { params: { ...good.params, volume_knob: 3 }, expect: /volume_knob: unknown parameter/ },
  ];
  for (const [i, b] of bad.entries()) {
    const rec: ConfigRecord = {
      schema_version: 1,
      station_id: STATION,
      scope: callScope(sc.tenant, call1),
      version: up.version + 1 + i,
      parameters: b.params,
      issued_at: Date.now(),
      expires_at: null,
      change_id: randomUUID(),
    };
    await raw.send({
      topic: cfg.topics.config,
      acks: -1,
      messages: [{ key: key1, value: codec.encode(rec) }],
    });
    const nack = await sc.acks.until(
      `rejected ack of raw version ${rec.version}`,
      (a) => a.config_key === key1 && a.version === rec.version,
    );
    assert.equal(nack.status, 'rejected');
    assert.match(nack.reason ?? '', b.expect);
  }
  assert.deepEqual(agent.effective(sc.tenant, call1), good, 'effective parameters unchanged');
  const still = await sc.run(agent, call1);
  assert.equal(still.applied_config_version, up.version);
  assert.ok(Math.abs(still.metrics.audio.rms_dbfs - louder.metrics.audio.rms_dbfs) < 0.2);
}

/**
 * (c) A call-scoped record with a TTL over a tenant record: it applies, then on the agent's own clock
 * it stops applying and the tenant value is back (the relay's tombstone, a minute away, is not
 * waited for). The agent's clock is set to either side of the expiry instead of sleeping to it.
 */
async function honoursTtl(sc: Scenario) {
  const { agent, call2, gain, tenant } = sc;
  const tenantRec = await sc.update({ level: 'tenant', tenant_id: tenant }, { input_gain_db: 2 });
  await sc.applied(agent, call2, tenantRec.version);
  const callRec = await sc.update(
    { level: 'call', tenant_id: tenant, call_id: call2 },
    { input_gain_db: 2 + Math.min(3, gain.max_step) },
    { ttl_ms: 60_000 },
  );
  assert.ok(callRec.expires_at !== null);
  const expiresAt = callRec.expires_at!;
  await sc.applied(agent, call2, callRec.version);
  sc.frozenAt = expiresAt - 1;
  const during = agent.effective(tenant, call2);
  assert.equal(during.params.input_gain_db, 2 + Math.min(3, gain.max_step));
  assert.equal(during.sources.input_gain_db?.level, 'call');
  const duringSnap = await sc.run(agent, call2);
  assert.equal(duringSnap.applied_config_version, callRec.version);
  assert.equal(agent.effective(tenant, call2).params.input_gain_db, during.params.input_gain_db);
  sc.frozenAt = expiresAt;
  await waitFor(
    'the call record to stop applying at its TTL',
    async () => agent.effective(tenant, call2).params.input_gain_db === 2,
    6_000,
    20,
  );
  const after = agent.effective(tenant, call2);
  assert.equal(after.sources.input_gain_db?.level, 'tenant');
  assert.equal(after.version, tenantRec.version);
  const key2 = configKey(STATION, callScope(tenant, call2));
  const expired = await sc.acks.until('expired ack', (a) => a.config_key === key2 && a.status === 'expired');
  assert.equal(expired.version, callRec.version);
  assert.match(expired.reason ?? '', /TTL ended/);
  const afterSnap = await sc.run(agent, call2);
  assert.equal(afterSnap.applied_config_version, tenantRec.version);
  const drop = duringSnap.metrics.audio.rms_dbfs - afterSnap.metrics.audio.rms_dbfs;
  assert.ok(Math.abs(drop - Math.min(3, gain.max_step)) < 0.5, `level fell ${drop.toFixed(2)} dB at expiry`);
  assert.ok(
    sc.events.some((e) => e.key === key2 && e.status === 'expired'),
    'the agent announced the expiry itself',
  );
}

/** (d) A restarted agent (a new feed on the same topics) rebuilds the same effective parameters. */
async function restartsToTheSameState(sc: Scenario, { step, louder }: Applied) {
  const { tenant, call1, call2 } = sc;
  const probes = [call1, call2, uniqueId('call')];
  const state = probes.map((c) => sc.agent.effective(tenant, c));
  await sc.agents.stop();
  const agents2 = await startStationAgent(sc.app.rt, sc.agentOpts);
  defer(sc.t, () => agents2.stop());
  const agent2 = agents2.station(STATION);
  assert.deepEqual(
    probes.map((c) => agent2.effective(tenant, c)),
    state,
    'same parameters, versions and sources after the restart',
  );
  const resumed = await sc.run(agent2, call1);
  // The stamp is the highest version in effect: the tenant record published in (c) now counts too.
  assert.equal(resumed.applied_config_version, state[0]!.version);
  assert.equal(state[0]!.params.input_gain_db, step, 'the call record still wins over the tenant record');
  assert.ok(
    Math.abs(resumed.metrics.audio.rms_dbfs - louder.metrics.audio.rms_dbfs) < 0.5,
    'the restarted agent runs the same gain',
  );
}

test('station agent: applies, acks and stamps config; rejects bad records; honours TTL; restarts to the same state', async (t) => {
  const sc = await setUp(t);
  let applied: Applied | undefined;
  await t.test('(a) a change through the API is applied, acked and runs in the next snapshot', async () => {
    applied = await appliesThroughTheApi(sc);
  });
  await t.test('(b) bad records behind the API are rejected with their reason; the known-good stays', () =>
    rejectsBadRecords(sc, applied!),
  );
  await t.test('(c) a call record stops applying at its TTL on the agent clock', () => honoursTtl(sc));
  await t.test('(d) a restarted agent rebuilds the same effective parameters', () =>
    restartsToTheSameState(sc, applied!),
  );
});
