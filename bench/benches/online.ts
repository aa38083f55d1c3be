// 7. Online decision latency (issue 4): a snapshot published -> the online optimizer decides (scorecard,
// controller, one transaction through the safe change path + outbox) -> the relay publishes the
// ConfigRecord on the compacted config topic -> the station agent's config feed applies it. Measured
// from the snapshot's scheduled send time to the feed's 'applied' event, open loop at a fixed rate
// (so a slow system cannot slow the load down and hide its own latency). Every snapshot is the first
// of a new call at station 4 with speech 22 LU too quiet, so every one gets a decision that changes a
// parameter (input_gain_db 0 -> 3). The optimizer and relay run in their own process
// (runtime/app.ts roles online,relay), the agent's feed and the load in this one.
// Baseline in the same run at the same rate and batching: a bare kafkajs produce -> consume round trip
// of the same encoded bytes on the same broker.
import { loadavg } from 'node:os';
import type { Message, Producer } from 'kafkajs';
import type { StationSnapshot } from '../../contracts/generated.ts';
import { buildSnapshot } from '../../domain/snapshot.ts';
import { createLogger } from '../../lib/log.ts';
import { createStationProducer, type StationProducer } from '../../producers/stationProducer.ts';
import type { Runtime } from '../../runtime/bootstrap.ts';
import { startConfigFeed } from '../../stations/agent/configFeed.ts';
import { type Child, startChild } from '../lib/child.ts';
import { stackPid, watchCpu } from '../lib/cpu.ts';
import { createTopic, rawKafka, rawProducer } from '../lib/kafka.ts';
import { realisticInput } from '../lib/snapshots.ts';
import { quantile, sleep, waitUntil } from '../lib/stats.ts';
import type { Bench, BenchContext, Figure } from '../lib/types.ts';

const TICK_MS = 10;
const STATION = 4;

interface Shot {
  rate: number;
  sent: number;
  applied: number;
  p50: number;
  p99: number;
  max: number;
  /** Applied per second, from the first scheduled send to the last application. */
  achieved: number;
  /** Cores used while the load ran and drained: the online process, PostgreSQL, Kafka, this bench process, the machine. */
  cpu?: Record<string, number | null>;
}

/**
 * Open-loop load: every TICK_MS, the snapshots due by then go out in one send (not awaited, so a slow
 * send delays nothing but itself). `latencies` gets scheduled-time -> done for each measured one.
 */
async function openLoop(
  rate: number,
  seconds: number,
  warmSeconds: number,
  make: (i: number) => { id: string; send: () => void },
  send: (batch: { id: string; send: () => void }[]) => Promise<unknown>,
  scheduled: Map<string, number>,
): Promise<{ sent: number; measuredIds: Set<string> }> {
  const total = Math.round(rate * (seconds + warmSeconds));
  const warm = Math.round(rate * warmSeconds);
  const measuredIds = new Set<string>();
  const t0 = performance.now();
  let i = 0;
  const pending: Promise<unknown>[] = [];
  while (i < total) {
    const now = performance.now();
    const due = Math.min(total, Math.floor(((now - t0) / 1000) * rate) + 1);
    const batch: { id: string; send: () => void }[] = [];
    for (; i < due; i++) {
      const m = make(i);
      scheduled.set(m.id, t0 + (i / rate) * 1000);
      if (i >= warm) measuredIds.add(m.id);
      batch.push(m);
    }
    if (batch.length) pending.push(send(batch).catch(() => {}));
    await sleep(TICK_MS);
  }
  await Promise.all(pending);
  return { sent: total, measuredIds };
}

function summarize(
  rate: number,
  lat: Map<string, number>,
  ids: Set<string>,
  scheduled: Map<string, number>,
): Shot {
  const xs = [...ids].map((id) => lat.get(id)).filter((x): x is number => x !== undefined);
  const missing = ids.size - xs.length;
  // A snapshot never applied counts as worse than any measured one (it is not dropped from the tail).
  const all = [...xs, ...Array.from({ length: missing }, () => Number.POSITIVE_INFINITY)];
  // Throughput achieved: applied per second from the first scheduled send to the last application.
  let first = Number.POSITIVE_INFINITY;
  let lastDone = 0;
  for (const id of ids) {
    const t = scheduled.get(id)!;
    first = Math.min(first, t);
    const l = lat.get(id);
    if (l !== undefined) lastDone = Math.max(lastDone, t + l);
  }
  return {
    rate,
    sent: ids.size,
    applied: xs.length,
    p50: quantile(all, 0.5),
    p99: missing > ids.size * 0.01 ? Number.POSITIVE_INFINITY : quantile(xs, 0.99),
    max: xs.length ? Math.max(...xs) : Number.NaN,
    achieved: xs.length ? (xs.length * 1000) / (lastDone - first) : 0,
  };
}

/** Everything one bench run shares: the processes, the feed's observations, the load's schedule. */
interface OnlineRun {
  ctx: BenchContext;
  rt: Runtime;
  tenant: string;
  /** Config keys of the station's call scope start with this. */
  prefix: string;
  drainMs: number;
  warmSeconds: number;
  roles: Child;
  producer: StationProducer;
  quiet: (callId: string) => StationSnapshot;
  /** Snapshot (call) id -> scheduled send time (performance clock). */
  scheduled: Map<string, number>;
  /** Call id -> scheduled send to applied at the agent, ms. */
  latency: Map<string, number>;
  /** Call id -> wall-clock time the agent applied its change (the last, if several). */
  appliedAt: Map<string, number>;
  rtt: RttBaseline;
}

/** A snapshot that is the first of a new call at the station with speech 22 LU too quiet. */
export function quietSnapshots(ctx: BenchContext, tenant: string): (callId: string) => StationSnapshot {
  let seq = 0;
  return (callId) => {
    const input = realisticInput(ctx.runId, tenant, seq++, STATION);
    input.call_id = callId;
    input.segment = { index: 0, start_ms: 0, end_ms: 1000, utterance_id: null };
    input.applied_config_version = 0;
    input.constraints = [];
    const a = input.metrics.audio;
    a.loudness_lufs = -45;
    a.active_speech_level_dbov = -44;
    a.rms_dbfs = -46;
    a.snr_db = 30;
    a.hum_ratio = 0.01;
    a.clipping_ratio = 0;
    return buildSnapshot(input);
  };
}

interface RttBaseline {
  topic: string;
  producer: Producer;
  seen: Map<string, number>;
  scheduled: Map<string, number>;
}

/** The baseline: bare producer -> bare consumer on a topic of the same partitions. */
async function startRttBaseline(ctx: BenchContext, rt: Runtime): Promise<RttBaseline> {
  const cfg = ctx.cfg;
  const topic = `${cfg.topics.prefix}.bench-rtt`;
  await createTopic(rt.kafka, topic, cfg.topics.snapshotPartitions);
  const kafka = rawKafka(cfg, `${ctx.runId}-rtt`);
  const producer = rawProducer(kafka);
  await producer.connect();
  ctx.defer(() => producer.disconnect());
  const seen = new Map<string, number>();
  const scheduled = new Map<string, number>();
  const consumer = kafka.consumer({ groupId: `${cfg.topics.prefix}.bench-rtt`, maxWaitTimeInMs: 50 });
  const joined = new Promise<void>((r) => consumer.on(consumer.events.GROUP_JOIN, () => r()));
  await consumer.connect();
  ctx.defer(() => consumer.disconnect());
  await consumer.subscribe({ topic, fromBeginning: false });
  await consumer.run({
    partitionsConsumedConcurrently: cfg.topics.snapshotPartitions,
    eachMessage: async ({ message }) => {
      const id = message.key!.toString();
      const t = scheduled.get(id);
      if (t !== undefined) seen.set(id, performance.now() - t);
    },
  });
  await joined;
  return { topic, producer, seen, scheduled };
}

/** The optimizer and relay in their own process; the agent's feed and the load in this one. */
async function setUp(ctx: BenchContext): Promise<OnlineRun> {
  const rt = await ctx.runtime();
  const cfg = ctx.cfg;
  const tenant = ctx.tenant('online');
  const roles = await startChild(cfg, ['app', 'online,relay']);
  const run = { ctx, rt, tenant, prefix: `${STATION}/call/`, roles } as OnlineRun;
  ctx.defer(() => run.roles.stop());
  const feed = await startConfigFeed({
    kafka: rt.kafka,
    registry: rt.registry,
    log: createLogger('error'),
    topics: cfg.topics,
    agentId: `${ctx.runId}-agent`,
    stations: [STATION],
  });
  ctx.defer(() => feed.stop());
  await feed.ready();
  run.producer = await createStationProducer({
    kafka: rt.kafka,
    codec: rt.registry.codec('StationSnapshot'),
    audio: rt.audio,
    topic: cfg.topics.snapshots,
  });
  ctx.defer(() => run.producer.stop());
  run.scheduled = new Map();
  run.latency = new Map();
  run.appliedAt = new Map();
  feed.onEvent((e) => {
    if (e.status !== 'applied' || !e.key.startsWith(run.prefix)) return;
    // Keys are `station/call/tenant/call_id`.
    const call = e.key.slice(run.prefix.length).split('/')[1] ?? '';
    run.appliedAt.set(call, Date.now());
    const t = run.scheduled.get(call);
    if (t !== undefined && !run.latency.has(call)) run.latency.set(call, performance.now() - t);
  });
  run.quiet = quietSnapshots(ctx, tenant);
  run.rtt = await startRttBaseline(ctx, rt);
  return run;
}

/**
 * A run the optimizer could not keep up with leaves a backlog on the snapshot topic; the next run
 * starts from a fresh process whose group skips it (offsets reset to the end), not behind it.
 */
async function restartPastBacklog(run: OnlineRun): Promise<void> {
  const cfg = run.ctx.cfg;
  await run.roles.stop();
  const admin = run.rt.kafka.admin();
  await admin.connect();
  try {
    // A process killed after its stop timed out stays a member until its session ends (30 s).
    await waitUntil(
      async () => {
        const [g] = (await admin.describeGroups([cfg.groups.online])).groups;
        return !g || g.members.length === 0;
      },
      45_000,
      500,
    );
    await admin.resetOffsets({ groupId: cfg.groups.online, topic: cfg.topics.snapshots, earliest: false });
  } finally {
    await admin.disconnect();
  }
  run.roles = await startChild(cfg, ['app', 'online,relay']);
}

/**
 * Where the time goes, per measured snapshot: scheduled -> decided (parameter_changes.created_at, the
 * optimizer's clock) -> published by the relay (outbox.published_at) -> applied at the agent.
 */
async function stages(run: OnlineRun, ids: Set<string>) {
  const { rows } = await run.rt.pool.query<{ call_id: string; decided: number; published: number | null }>(
    `SELECT c.call_id, extract(epoch FROM c.created_at) * 1000 AS decided,
            extract(epoch FROM o.published_at) * 1000 AS published
       FROM parameter_changes c
       LEFT JOIN outbox o ON o.stream = c.stream AND o.topic_role = 'config'
                         AND o.message_key = $3 || c.tenant_id || '/' || c.call_id
      WHERE c.stream = $1 AND c.tenant_id = $2 AND c.call_id = ANY($4::text[])`,
    [run.ctx.cfg.topics.prefix, run.tenant, run.prefix, [...ids]],
  );
  const toDecide: number[] = [];
  const toPublish: number[] = [];
  const toApply: number[] = [];
  for (const r of rows) {
    const sched = run.scheduled.get(r.call_id);
    if (sched === undefined) continue;
    const schedEpoch = performance.timeOrigin + sched;
    toDecide.push(Number(r.decided) - schedEpoch);
    if (r.published !== null) {
      toPublish.push(Number(r.published) - Number(r.decided));
      const applied = run.appliedAt.get(r.call_id);
      if (applied !== undefined) toApply.push(applied - Number(r.published));
    }
  }
  const q = (xs: number[]) => ({ p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), n: xs.length });
  return {
    snapshot_to_decision_ms: q(toDecide),
    decision_to_relay_publish_ms: q(toPublish),
    relay_publish_to_agent_applied_ms: q(toApply),
  };
}

/** One run at a rate: the loop, then the bare round trip at the same rate and batching. */
async function measureRate(run: OnlineRun, rate: number, seconds: number, tag: string) {
  const { ctx, rtt } = run;
  const cpu = watchCpu({
    online: { pid: run.roles.pid },
    postgres: { pid: stackPid('postgres'), children: true },
    kafka: { pid: stackPid('kafka') },
    bench: { pid: process.pid },
  });
  const p = await openLoop(
    rate,
    seconds,
    run.warmSeconds,
    (i) => ({ id: `${ctx.runId}-${tag}-${i}`, send: () => {} }),
    (batch) => run.producer.sendAll(batch.map((b) => run.quiet(b.id))),
    run.scheduled,
  );
  await waitUntil(() => [...p.measuredIds].every((id) => run.latency.has(id)), run.drainMs, 20);
  const shot = { ...summarize(rate, run.latency, p.measuredIds, run.scheduled), cpu: cpu.stop() };
  const st = await stages(run, p.measuredIds);
  ctx.log(
    `online: stages p50: to decision ${st.snapshot_to_decision_ms.p50.toFixed(1)} ms, to relay publish ${st.decision_to_relay_publish_ms.p50.toFixed(1)} ms, to agent ${st.relay_publish_to_agent_applied_ms.p50.toFixed(1)} ms`,
  );
  ctx.log(
    `online: applied ${shot.applied}/${shot.sent}, p50 ${shot.p50.toFixed(1)} ms, p99 ${shot.p99.toFixed(1)} ms, max ${shot.max.toFixed(1)} ms, achieved ${shot.achieved.toFixed(0)}/s; cores ${cpuText(shot.cpu)}; load average ${loadavg()[0]!.toFixed(1)}`,
  );
  if (shot.applied < shot.sent) {
    ctx.log('online: restarting the optimizer process past the backlog');
    await restartPastBacklog(run);
  }
  const bytes = run.rt.registry.codec('StationSnapshot').encode(run.quiet(`${ctx.runId}-proto`));
  const b = await openLoop(
    rate,
    seconds,
    run.warmSeconds,
    (i) => ({ id: `${ctx.runId}-rtt-${tag}-${i}`, send: () => {} }),
    (batch) =>
      rtt.producer.send({
        topic: rtt.topic,
        acks: -1,
        messages: batch.map((x): Message => ({ key: x.id, value: bytes })),
      }),
    rtt.scheduled,
  );
  await waitUntil(() => [...b.measuredIds].every((id) => rtt.seen.has(id)), run.drainMs, 20);
  return { shot, stages: st, baseline: summarize(rate, rtt.seen, b.measuredIds, rtt.scheduled) };
}

/** The unit the decision path is made of: one PostgreSQL round trip from this machine, right now. */
async function pgRoundTrip(rt: Runtime): Promise<number> {
  const rtts: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    await rt.pool.query('SELECT 1');
    rtts.push(performance.now() - t);
  }
  return quantile(rtts, 0.5);
}

/** Capacity: a burst of snapshots all at once; changes applied per second until the last is applied. */
async function burst(run: OnlineRun, n: number) {
  run.ctx.log(`online: capacity, a burst of ${n} snapshots`);
  const ids = Array.from({ length: n }, (_, i) => `${run.ctx.runId}-burst-${i}`);
  const tb = performance.now();
  for (const id of ids) run.scheduled.set(id, tb);
  await run.producer.sendAll(ids.map((id) => run.quiet(id)));
  await waitUntil(() => ids.every((id) => run.latency.has(id)), 60_000, 20);
  const applied = ids.filter((id) => run.latency.has(id));
  const ms = Math.max(...applied.map((id) => run.latency.get(id)!));
  return {
    snapshots: n,
    applied: applied.length,
    ms,
    capacity: (applied.length * 1000) / ms,
    stages: await stages(run, new Set(ids)),
  };
}

function cpuText(cpu: Record<string, number | null> | undefined): string {
  return Object.entries(cpu ?? {})
    .map(([k, v]) => `${k} ${v === null ? '?' : v.toFixed(2)}`)
    .join(', ');
}

function rateFigures(rate: number, p: Shot[], b: Shot[], drainMs: number): Figure[] {
  const label = `online loop @${rate}/s${rate < 1000 ? ' (below the 1,000/s goal rate)' : ''}`;
  return [
    {
      bench: 'online',
      name: `${label} p50`,
      metric: 'ms',
      higherIsBetter: false,
      samples: p.map((s) => s.p50),
      baseline: { name: 'raw produce->consume', samples: b.map((s) => s.p50) },
    },
    {
      bench: 'online',
      name: `${label} p99`,
      metric: 'ms',
      higherIsBetter: false,
      samples: p.map((s) => s.p99),
      baseline: { name: 'raw produce->consume', samples: b.map((s) => s.p99) },
      ...(rate >= 1000
        ? { goal: { kind: 'max' as const, value: 50, on: 'value' as const, text: 'p99 < 50 ms' } }
        : {}),
      note: `applied ${p.map((s) => `${s.applied}/${s.sent}`).join(', ')} per run (inf = more than 1% never applied within ${drainMs / 1000} s); achieved ${p.map((s) => s.achieved.toFixed(0)).join(', ')} changes/s; max ${p.map((s) => s.max.toFixed(0)).join(', ')} ms; cores used per run (the online process with the relay, PostgreSQL with its backends, Kafka, the bench process with the load and the agent's feed, the whole machine of 2): ${p.map((s) => cpuText(s.cpu)).join(' | ')}`,
    },
  ];
}

export const onlineBench: Bench = {
  name: 'online',
  title: 'Online loop: snapshot published -> config applied at the agent',
  stack: true,
  async run(ctx) {
    // The quick run cannot afford the 1,000/s run's backlog on a shared 2-core machine: it measures
    // at a lower rate and says so in the row name.
    // The goal rate runs 60 s in the full run (a sustained rate, not a burst), 5 s in the quick one.
    const rates = ctx.quick ? [50, 1000] : [50, 200, 1000];
    const secondsAt = (rate: number) => (rate >= 1000 ? (ctx.quick ? 5 : 60) : ctx.quick ? 4 : 5);
    const runsAt = (rate: number) => (rate >= 1000 ? 1 : ctx.quick ? 2 : 3);
    const run = await setUp(ctx);
    run.drainMs = ctx.quick ? 8_000 : 20_000;
    run.warmSeconds = 1;

    // Warm-up of the whole loop (JIT in both processes, partitions, schema ids).
    ctx.log('online: warm-up');
    await openLoop(
      50,
      1,
      0,
      (i) => ({ id: `${ctx.runId}-w${i}`, send: () => {} }),
      (batch) => run.producer.sendAll(batch.map((b) => run.quiet(b.id))),
      run.scheduled,
    );
    await waitUntil(() => run.latency.size >= 45, 15_000, 20);

    const stageRuns: Record<string, unknown>[] = [];
    const pipe = new Map<number, Shot[]>();
    const base = new Map<number, Shot[]>();
    for (const rate of rates) {
      const runs = runsAt(rate);
      for (let k = 0; k < runs; k++) {
        ctx.log(`online: ${rate} snapshots/s for ${secondsAt(rate)} s, run ${k + 1}/${runs}`);
        const m = await measureRate(run, rate, secondsAt(rate), `${rate}r${k}`);
        stageRuns.push({ rate, run: k + 1, ...m.stages });
        (pipe.get(rate) ?? pipe.set(rate, []).get(rate)!).push(m.shot);
        (base.get(rate) ?? base.set(rate, []).get(rate)!).push(m.baseline);
      }
    }
    const pgRtt = await pgRoundTrip(run.rt);
    const burstN = ctx.quick ? 150 : 600;
    const { capacity, ...burstDetails } = await burst(run, burstN);
    const figures: Figure[] = [
      {
        bench: 'online',
        name: `online loop capacity (burst of ${burstN})`,
        metric: 'changes/s',
        higherIsBetter: true,
        samples: [capacity],
        goal: { kind: 'min', value: 1000, on: 'value', text: '>= 1,000/s' },
        note: `${burstDetails.applied}/${burstN} applied in ${(burstDetails.ms / 1000).toFixed(1)} s, one run; a PostgreSQL round trip (SELECT 1) takes ${pgRtt.toFixed(2)} ms here; a batch of decisions makes about a dozen in one transaction, a decision that changes nothing none`,
      },
      ...rates.flatMap((rate) => rateFigures(rate, pipe.get(rate)!, base.get(rate)!, run.drainMs)),
    ];
    return {
      figures,
      details: {
        station: STATION,
        seconds: Object.fromEntries(rates.map((r) => [r, secondsAt(r)])),
        runs: Object.fromEntries(rates.map((r) => [r, runsAt(r)])),
        pipeline: Object.fromEntries(pipe),
        stages: stageRuns,
        pg_select1_rtt_ms_p50: pgRtt,
        burst: burstDetails,
        baseline: Object.fromEntries(base),
      },
    };
  },
};
