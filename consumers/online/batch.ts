// A Kafka batch of one partition's snapshots decided at once (issue 11). Decisions read the effective
// values from the in-memory view (configView.ts); while none acts, nothing touches the database (a
// converged call costs no round trip). From the first decision that acts, the rest of the batch is
// decided inside one transaction, in rounds (the k-th snapshot of every call in round k, so each
// call's snapshots stay in order), and each round's runs and changes are written with multi-row
// statements through the one change path (ChangeService.applyManyTx: the same plan and safety rules).
// Under the round's key locks the versions each decision was based on are checked against the
// database; a call whose values moved (an operator's change the view had not seen yet) is decided
// again from the fresh state. The transaction also moves the partition's decided offset
// (storage/onlineOffsets.ts) from the one the batch started from: a batch that committed is never
// decided again, and of two owners of a partition (a rebalance) only one commits the same records.
import { randomUUID } from 'node:crypto';
import type { ChangeOutcome } from '../../config/changes.ts';
import { callScope, configKey } from '../../config/keys.ts';
import type { OutboxEntry } from '../../config/outbox.ts';
import { ConfigView } from '../../config/view.ts';
import type { ConfigRecord, StationSnapshot } from '../../contracts/generated.ts';
import {
  contextOfSpan,
  endSpan,
  extractTrace,
  type Span,
  SpanKind,
  startSpan,
  traceparentOf,
} from '../../lib/tracing.ts';
import * as configRepo from '../../storage/configState.ts';
import { inRoleTransaction, type PoolClient } from '../../storage/db.ts';
import { advanceOffset, type OffsetKey } from '../../storage/onlineOffsets.ts';
import * as runs from '../../storage/runs.ts';
import type { DecodedRecord } from '../../streams/roleConsumer.ts';
import { chainKeys, currentOf, type OnlineConfigView } from './configView.ts';
import type { DecisionDeps } from './decisions.ts';
import {
  type CallMemory,
  type Current,
  type DecisionOutcome,
  noteCallChange,
  type Plan,
  type PlanContext,
  planController,
  planExternal,
  settle,
  unknownCallChange,
} from './plan.ts';

/** The one-snapshot path's dependencies, plus the configuration held in memory. */
export interface BatchDeps extends DecisionDeps {
  view: OnlineConfigView;
}

export interface BatchJob {
  /** The partition's records still to decide, in offset order. */
  records: DecodedRecord<StationSnapshot>[];
  /** The controller memory of a (tenant, call, station) before this batch (not changed by it). */
  memory(key: string): CallMemory | undefined;
  /** The partition's decided offset as this batch found it, and where the batch moves it. */
  fence: { key: OffsetKey; expected: bigint | null; next: bigint };
  /** False once the role stops or the partition moved: the batch is given up, nothing written. */
  isActive(): boolean;
}

export interface Decided {
  snap: StationSnapshot;
  out: DecisionOutcome;
  /** The decision's span (ended by the caller, once what it decided has committed). */
  span: Span;
  startedAt: number;
}

export type BatchResult =
  | {
      status: 'done';
      /** True when a transaction committed (the partition's decided offset moved to `fence.next`). */
      committed: boolean;
      decided: Decided[];
      /** The memories after the batch, to keep. */
      memories: Map<string, CallMemory>;
      /** The records the batch's changes put in effect (for the view). */
      records: ConfigRecord[];
    }
  /** Another owner moved the partition's offset first: nothing was written; re-read it and go again. */
  | { status: 'fenced'; spans: Span[] }
  /** The role is stopping or lost the partition: nothing was written (Kafka delivers the batch again). */
  | { status: 'given up'; spans: Span[] };

/** Thrown inside the batch's transaction to roll it back when the batch is given up. */
class GivenUp extends Error {}

export const memoryKey = (s: Pick<StationSnapshot, 'tenant_id' | 'call_id' | 'station_id'>): string =>
  `${s.tenant_id}/${s.call_id}/${s.station_id}`;

const ACTOR = 'optimizer:online';
/** Re-decisions of one call in one round before its plan goes to the change path as it stands. */
const MAX_REDECIDE = 3;

interface Item {
  snap: StationSnapshot;
  mem: CallMemory;
  /** The memory before this decision, restored when the call is decided again from fresh state. */
  saved: CallMemory;
  span: Span;
  startedAt: number;
  plan: Plan;
  based: Current;
}

interface BatchState {
  deps: BatchDeps;
  job: BatchJob;
  work: Map<string, CallMemory>;
  /** Records this transaction put in effect (not committed yet): decisions read them over the view's. */
  overlay: Map<string, ConfigRecord>;
  decided: Decided[];
}

const sameParams = (a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);

function restore(mem: CallMemory, saved: CallMemory): void {
  for (const k of Object.keys(mem)) if (!(k in saved)) delete mem[k as keyof CallMemory];
  Object.assign(mem, saved);
}

/** Plans one decision against the view (and this batch's own records); reads the database only when the view lags. */
async function plan(st: BatchState, item: Omit<Item, 'plan' | 'based'>, c: PoolClient | null): Promise<Item> {
  const { deps } = st;
  const { snap, mem } = item;
  const now = deps.clock();
  let cur = currentOf(deps.view.view, snap.station_id, snap.tenant_id, snap.call_id, now, st.overlay);
  if (snap.applied_config_version > cur.version) {
    // The agent ran a version the view has not seen: the view lags the topic.
    await deps.view.refresh(snap.station_id, snap.tenant_id, snap.call_id);
    cur = currentOf(deps.view.view, snap.station_id, snap.tenant_id, snap.call_id, now, st.overlay);
  }
  const unknown = unknownCallChange(mem, cur);
  if (unknown) noteCallChange(mem, cur, await configRepo.changeById(c ?? deps.pool, unknown));
  if (mem.prior === undefined)
    mem.prior = deps.priors ? await deps.priors(snap.tenant_id, snap.station_id) : null;
  const ctx: PlanContext = { now, explore: deps.explore, actor: ACTOR, callTtlMs: deps.callTtlMs };
  const runId = randomUUID();
  const p = planExternal(snap, mem, cur, ctx, runId) ?? planController(snap, mem, cur, ctx, runId);
  return { ...item, plan: p, based: cur };
}

function settleItem(st: BatchState, item: Item, change: ChangeOutcome | null): void {
  const out = settle(item.snap, item.mem, item.plan, change, st.deps.clock());
  st.decided.push({ snap: item.snap, out, span: item.span, startedAt: item.startedAt });
}

/** Round `r`: the r-th snapshot of every call. Decisions that do not act are settled; those that do are returned. */
async function planRound(
  st: BatchState,
  queues: DecodedRecord<StationSnapshot>[][],
  r: number,
  c: PoolClient | null,
): Promise<Item[]> {
  const acting: Item[] = [];
  for (const q of queues) {
    const rec = q[r];
    if (!rec) continue;
    if (!st.job.isActive()) throw new GivenUp('the batch was given up');
    const snap = rec.value;
    const key = memoryKey(snap);
    let mem = st.work.get(key);
    if (!mem) {
      const known = st.job.memory(key);
      mem = known ? { ...known } : { state: null, lastChangeId: null };
      st.work.set(key, mem);
    }
    // Child of the snapshot's publish: the change it makes (config/changes.ts) is this span's child.
    const span = startSpan('decide', {
      kind: SpanKind.CONSUMER,
      parent: extractTrace(rec.message.headers),
      attributes: { 'voiceloop.station': snap.station_id, 'voiceloop.snapshot_id': snap.snapshot_id },
    });
    const item = await plan(st, { snap, mem, saved: { ...mem }, span, startedAt: performance.now() }, c);
    if (item.plan.kind === 'none') settleItem(st, item, null);
    else acting.push(item);
  }
  return acting;
}

/**
 * Checks each changing decision against the state read under the keys' locks; a call whose values
 * moved since the view was read is decided again from them. Returns what goes to the change path.
 */
async function checkAgainstFresh(st: BatchState, c: PoolClient, items: Item[]) {
  const { deps } = st;
  const changing = items.filter((i) => i.plan.kind === 'act' && i.plan.req);
  const callKey = (s: StationSnapshot) => configKey(s.station_id, callScope(s.tenant_id, s.call_id));
  const rows = changing.length
    ? await deps.changes.lockAndRead(
        c,
        changing.map((i) => callKey(i.snap)),
        [...new Set(changing.flatMap((i) => chainKeys(i.snap.station_id, i.snap.tenant_id, i.snap.call_id)))],
      )
    : [];
  const fresh = new ConfigView();
  for (const row of rows) if (!row.tombstoned_at) fresh.apply(row.config_key, configRepo.toRecord(row));
  const ours = new Set([...st.overlay.values()].map((r) => r.change_id));
  const lastChange = new Map(rows.map((r) => [r.config_key, r.last_change_at.getTime()]));
  const now = deps.clock();
  const out: { item: Item; before: Record<string, number>; lastChangeAt: number | null }[] = [];
  const remaining: Item[] = [];
  for (const orig of items) {
    if (!(orig.plan.kind === 'act' && orig.plan.req)) {
      remaining.push(orig);
      continue;
    }
    let item = orig;
    const s = item.snap;
    const f = currentOf(fresh, s.station_id, s.tenant_id, s.call_id, now);
    for (let n = 0; n < MAX_REDECIDE && item.plan.kind === 'act'; n++) {
      if (f.version === item.based.version && sameParams(f.params, item.based.params)) break;
      // Someone else's change the view had not seen: take the committed rows in, decide again.
      deps.view.applyRecords(
        rows.filter((r) => !r.tombstoned_at && !ours.has(r.change_id)).map(configRepo.toRecord),
      );
      restore(item.mem, item.saved);
      item = await plan(st, item, c);
    }
    if (item.plan.kind === 'none') {
      settleItem(st, item, null);
      continue;
    }
    remaining.push(item);
    // The values in effect and the cool-down as read under the lock: the safety rules judge these.
    if (item.plan.req)
      out.push({ item, before: { ...f.params }, lastChangeAt: lastChange.get(callKey(s)) ?? null });
  }
  return { changes: out, remaining };
}

/** Writes one round's acting decisions: their runs, then their changes, in the open transaction. */
async function writeRound(st: BatchState, c: PoolClient, acting: Item[]): Promise<void> {
  const { deps } = st;
  const { changes, remaining } = await checkAgainstFresh(st, c, acting);
  const stream = deps.changes.stream;
  const results: OutboxEntry[] = [];
  const runRows = remaining.map((i) => {
    const p = i.plan as Extract<Plan, { kind: 'act' }>;
    results.push({
      role: 'results',
      contract: 'OptimizerResult',
      key: p.run.scope.call_id ?? p.run.scope.tenant_id ?? 'global',
      payload: p.run,
      traceparent: traceparentOf(contextOfSpan(i.span)),
    });
    return {
      run: p.run,
      stationId: i.snap.station_id,
      requestedBy: ACTOR,
      verdict: p.verdict,
      snapshotId: i.snap.snapshot_id,
    };
  });
  await runs.insertOnlineRuns(c, stream, runRows);
  const outcomes = await deps.changes.applyManyTx(
    c,
    changes.map(({ item, before, lastChangeAt }) => {
      const p = item.plan as Extract<Plan, { kind: 'act' }>;
      return {
        req: p.req!,
        rollbackOf: p.rollbackOf,
        before,
        lastChangeAt,
        parent: contextOfSpan(item.span),
      };
    }),
    results,
  );
  const byItem = new Map(changes.map((x, i) => [x.item, outcomes[i]!]));
  for (const item of remaining) {
    const change = byItem.get(item) ?? null;
    if (change?.record)
      st.overlay.set(configKey(change.record.station_id, change.record.scope), change.record);
    settleItem(st, item, change);
  }
}

/** Decides the batch; see the file's head for how. */
export async function decideBatch(deps: BatchDeps, job: BatchJob): Promise<BatchResult> {
  const byCall = new Map<string, DecodedRecord<StationSnapshot>[]>();
  for (const rec of job.records) {
    const k = memoryKey(rec.value);
    const q = byCall.get(k);
    if (q) q.push(rec);
    else byCall.set(k, [rec]);
  }
  const queues = [...byCall.values()];
  const rounds = Math.max(0, ...queues.map((q) => q.length));
  const st: BatchState = { deps, job, work: new Map(), overlay: new Map(), decided: [] };
  let r = 0;
  let acting: Item[] = [];
  const open = () => [...st.decided.map((d) => d.span), ...acting.map((i) => i.span)];
  try {
    // Without a transaction while no decision acts.
    for (; r < rounds && acting.length === 0; r++) acting = await planRound(st, queues, r, null);
  } catch (err) {
    if (err instanceof GivenUp) return { status: 'given up', spans: open() };
    throw err;
  }
  const done = (committed: boolean): BatchResult => ({
    status: 'done',
    committed,
    decided: st.decided,
    memories: st.work,
    records: [...st.overlay.values()],
  });
  if (acting.length === 0) return done(false);
  let fenced = false;
  try {
    await inRoleTransaction(deps.pool, async (c) => {
      if (!(await advanceOffset(c, job.fence.key, job.fence.expected, job.fence.next))) {
        fenced = true;
        return;
      }
      await writeRound(st, c, acting);
      for (; r < rounds; r++) {
        const more = await planRound(st, queues, r, c);
        if (more.length) await writeRound(st, c, more);
      }
    });
  } catch (err) {
    // inRoleTransaction (inTransaction) wraps what it rethrows: the cause says whether the batch was given up.
    if (err instanceof GivenUp || (err as Error).cause instanceof GivenUp)
      return { status: 'given up', spans: open() };
    for (const span of open()) endSpan(span, err);
    throw err;
  }
  if (fenced) return { status: 'fenced', spans: open() };
  deps.changes.kick();
  return done(true);
}
