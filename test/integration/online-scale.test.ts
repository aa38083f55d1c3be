// Issue 11, point 2: the online role scales out. Two online instances (each its own process, as in
// production) share the snapshot topic's 6 partitions; one is SIGKILLed mid-stream. Every snapshot is
// the first of a new call at station 4 with speech far too quiet, so each one's decision changes a
// parameter: after the survivor has taken the dead one's partitions, every snapshot produced has
// exactly one online run (none lost, none decided twice) and every call exactly one change.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildSnapshot } from '../../domain/snapshot.ts';
import { envWith } from '../../lib/settings.ts';
import { snapshotInput } from '../helpers/fixtures.ts';
import { sigkill } from '../helpers/privateProcess.ts';
import { defer, producingRuntime, testSettings, waitFor } from '../helpers/runtime.ts';

const root = join(import.meta.dirname, '..', '..');
const PARTITIONS = 6;
const N = 480;
const BATCH = 40;

interface Online {
  proc: ChildProcess;
  /** The last of what the process wrote (its warnings and errors), for a failure's message. */
  output(): string;
}

function startOnline(prefix: string): Online {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'bin/start.ts'], {
    cwd: root,
    env: envWith({
      ROLES: 'online',
      TOPIC_PREFIX: prefix,
      LOG_LEVEL: 'warn',
      SNAPSHOT_PARTITIONS: String(PARTITIONS),
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-3000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  return { proc, output: () => out };
}

/** The first snapshot of a call at station 4, speech 20 LU below target: the optimizer raises the gain. */
function quietSnapshot(tenant: string, call: string) {
  const input = snapshotInput({ tenant, call, index: 0, station: 4 });
  input.applied_config_version = 0;
  const a = input.metrics.audio;
  a.loudness_lufs = -45;
  a.active_speech_level_dbov = -44;
  a.rms_dbfs = -46;
  return buildSnapshot(input);
}

test('two online instances on 6 partitions, one SIGKILLed mid-stream: every snapshot decided exactly once', async (t) => {
  const cfg = testSettings('oscale', { SNAPSHOT_PARTITIONS: String(PARTITIONS) });
  const { rt, tenant, codec, producer } = await producingRuntime(t, cfg);

  const produced: string[] = [];
  const publish = async (batches: number) => {
    for (let b = 0; b < batches && produced.length < N; b++) {
      const messages = [];
      for (let i = 0; i < BATCH && produced.length < N; i++) {
        const snap = quietSnapshot(tenant, `${tenant}-call-${produced.length}`);
        produced.push(snap.snapshot_id);
        messages.push({ key: snap.call_id, value: codec.encode(snap) });
      }
      await producer.send({ topic: cfg.topics.snapshots, acks: -1, messages });
    }
  };
  const runsPerSnapshot = async () => {
    const { rows } = await rt.pool.query<{ snapshot_id: string; n: number }>(
      `SELECT snapshot_id, count(*)::int AS n FROM optimizer_runs
        WHERE stream = $1 AND tenant_id = $2 AND mode = 'online' GROUP BY snapshot_id`,
      [cfg.topics.prefix, tenant],
    );
    return new Map(rows.map((r) => [r.snapshot_id, r.n]));
  };

  const admin = rt.kafka.admin();
  await admin.connect();
  defer(t, () => admin.disconnect());
  const members = async (...procs: Online[]) => {
    for (const p of procs)
      assert.ok(
        p.proc.exitCode === null && p.proc.signalCode === null,
        `an online process ended (${p.proc.exitCode ?? p.proc.signalCode}): ${p.output()}`,
      );
    const [g] = (await admin.describeGroups([cfg.groups.online])).groups;
    return g?.state === 'Stable' ? g.members.length : 0;
  };
  // The role starts a group with no committed offsets at the end of each partition, resolved when the
  // partition is first fetched: a snapshot produced before that (right after a rebalance) would be
  // skipped, not decided. The group starts at offset 0 of the fresh topic instead.
  await admin.setOffsets({
    groupId: cfg.groups.online,
    topic: cfg.topics.snapshots,
    partitions: Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, offset: '0' })),
  });
  // One after the other (each waits for the group), on a shared machine their start may take minutes.
  const a = startOnline(cfg.topics.prefix);
  defer(t, () => sigkill(a.proc));
  await waitFor('the first online process in the group', async () => (await members(a)) === 1, 300_000, 250);
  const b = startOnline(cfg.topics.prefix);
  defer(t, () => sigkill(b.proc));
  await waitFor('two members sharing the partitions', async () => (await members(a, b)) === 2, 300_000, 250);

  await publish(4);
  await waitFor('the first decisions', async () => ((await runsPerSnapshot()).size > 0 ? true : undefined));
  await publish(4);
  await sigkill(a.proc);
  const atKill = (await runsPerSnapshot()).size;
  await publish(Number.POSITIVE_INFINITY);
  assert.equal(produced.length, N);
  assert.ok(atKill < N, `killed mid-stream: ${atKill} of ${N} decided`);

  // The survivor takes the dead member's partitions once its session times out, and goes on.
  const runs = await waitFor(
    `runs for all ${N} snapshots`,
    async () => {
      assert.ok(b.proc.exitCode === null && b.proc.signalCode === null, `the survivor ended: ${b.output()}`);
      const m = await runsPerSnapshot();
      return m.size >= N ? m : undefined;
    },
    180_000,
    500,
  );
  const twice = [...runs].filter(([, n]) => n !== 1);
  assert.deepEqual(twice, [], 'no snapshot decided twice');
  assert.deepEqual(
    produced.filter((id) => !runs.has(id)),
    [],
    'no produced snapshot left undecided',
  );
  assert.equal(runs.size, N, 'no run for a snapshot that was not produced');
  const { rows } = await rt.pool.query<{ call_id: string; n: number; applied: number }>(
    `SELECT call_id, count(*)::int AS n, count(*) FILTER (WHERE status = 'applied')::int AS applied
       FROM parameter_changes WHERE stream = $1 AND tenant_id = $2 GROUP BY call_id`,
    [cfg.topics.prefix, tenant],
  );
  assert.equal(rows.length, N, 'a change at every call');
  assert.deepEqual(
    rows.filter((r) => r.n !== 1 || r.applied !== 1),
    [],
    'exactly one applied change per call',
  );
});
