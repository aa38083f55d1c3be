// The pure parts of the batch optimizer (optimizer/batch): request checking, the paired statistics
// counterfactual verification decides by, history grouping in bounded memory, the call-wise
// train/verify split, and the search space a station offers. No I/O.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StationSnapshot } from '../../../contracts/generated.ts';
import { audioKey } from '../../../domain/audioKeys.ts';
import { buildSnapshot } from '../../../domain/snapshot.ts';
import {
  compare,
  contextOf,
  HistoryCollector,
  INPUT_KEY_LABEL,
  NOT_REPLAYABLE,
  parseBatchRequest,
  SAMPLE_RATE_LABEL,
  splitByCall,
  toParams,
  tQuantile975,
  tunableSpace,
} from '../../../optimizer/batch/index.ts';
import { snapshotInput } from '../../helpers/fixtures.ts';

function snap(o: {
  tenant?: string;
  call: string;
  station?: number;
  version?: number;
  labels?: Record<string, string>;
  codec?: string | null;
  rms?: number;
}): StationSnapshot {
  const s = buildSnapshot({
    ...snapshotInput({ tenant: o.tenant ?? 'acme', call: o.call, station: o.station ?? 3 }),
    applied_config_version: o.version ?? 0,
    labels: o.labels ?? {},
    codec: o.codec === undefined ? 'pcmu' : o.codec,
  });
  if (o.rms !== undefined) s.metrics.audio.loudness_lufs = o.rms;
  return s;
}

const replayable = (tenant = 'acme') => ({
  [INPUT_KEY_LABEL]: audioKey(tenant, 'b'.repeat(64)),
  [SAMPLE_RATE_LABEL]: '16000',
  impairments: 'noise',
});

test("Student's t 97.5% quantiles match the tables", () => {
  const table: [number, number][] = [
    [1, 12.706],
    [4, 2.776],
    [5, 2.571],
    [7, 2.365],
    [10, 2.228],
    [30, 2.042],
    [120, 1.98],
  ];
  for (const [df, t] of table)
    assert.ok(Math.abs(tQuantile975(df) - t) < 2e-3, `df ${df}: ${tQuantile975(df)} vs ${t}`);
  assert.equal(tQuantile975(0), Number.POSITIVE_INFINITY);
});

test('paired comparison: mean gain, t interval, wins and reference quality', () => {
  const base = [10, 20, 30, 40].map((score, i) => ({ score, ref: i < 3 ? 5 : null }));
  const cand = [11, 22, 33, 44].map((score, i) => ({ score, ref: i < 3 ? 7 : 9 }));
  const c = compare(cand, base);
  assert.equal(c.gain, 2.5);
  const sd = Math.sqrt(((1 - 2.5) ** 2 + (2 - 2.5) ** 2 + (3 - 2.5) ** 2 + (4 - 2.5) ** 2) / 3);
  assert.ok(Math.abs(c.gain_sd - sd) < 1e-12);
  const half = (3.182 * sd) / 2;
  assert.ok(Math.abs(c.gain_ci95[0] - (2.5 - half)) < 1e-3 && Math.abs(c.gain_ci95[1] - (2.5 + half)) < 1e-3);
  assert.equal(c.wins, 4);
  // Reference quality only over the segments where both have it.
  assert.equal(c.ref_segments, 3);
  assert.equal(c.ref_gain_db, 2);
  assert.equal(compare([{ score: 1, ref: null }], [{ score: 0, ref: null }]).ref_gain_db, null);
  assert.throws(() => compare(cand, base.slice(1)), /4 candidate outcomes for 3 baseline/);
});

test('history: scope, contexts, per-version statistics and a bounded sample of replayable segments', () => {
  const h = new HistoryCollector({ tenantId: 'acme', stationIds: [3], segmentsPerGroup: 5, seed: 1 });
  for (let i = 0; i < 40; i++) {
    assert.ok(h.add(snap({ call: `c${i % 8}`, version: i < 30 ? 0 : 7, labels: replayable() })));
  }
  assert.ok(!h.add(snap({ tenant: 'other', call: 'x', labels: replayable('other') })), 'another tenant');
  assert.ok(!h.add(snap({ call: 'y', station: 4 })), 'another station');
  h.add(snap({ call: 'z', labels: { impairments: 'hum' } })); // a second context, output audio only
  assert.equal(h.seen, 43);
  assert.equal(h.matched, 41);
  const groups = h.history();
  assert.equal(groups.length, 2);
  const noise = groups.find((g) => g.context.impairment === 'noise')!;
  assert.equal(noise.snapshots, 40);
  assert.equal(noise.calls, 8);
  assert.deepEqual(
    noise.versions.map((v) => [v.version, v.n]),
    [
      [0, 30],
      [7, 10],
    ],
  );
  assert.equal(noise.replayable, 40);
  assert.equal(noise.segments.length, 5, 'the sample is bounded');
  const hum = groups.find((g) => g.context.impairment === 'hum')!;
  assert.deepEqual(hum.notReplayable, { [NOT_REPLAYABLE.outputOnly]: 1 });
  assert.equal(hum.segments.length, 0);
  assert.equal(h.scorecardSample().length, 41);
});

test('context: impairment class and codec, tenant only in a tenant-scoped run', () => {
  const s = snap({
    call: 'c',
    labels: { impairment_class: 'quiet talker!', impairments: 'noise' },
    codec: null,
  });
  const t = contextOf(s, true);
  assert.equal(t.impairment, 'quiet_talker_');
  assert.equal(t.codec, 'unknown');
  assert.equal(t.key, 'impairment=quiet_talker_;codec=unknown');
  assert.equal(t.tenantId, 'acme');
  assert.equal(contextOf(s, false).tenantId, null);
  assert.equal(contextOf(snap({ call: 'c' }), false).impairment, 'unlabelled');
});

test('split: verification calls are never training calls; one call falls back to verifying on all', () => {
  const segs = Array.from({ length: 36 }, (_, i) => {
    const snapshot = snap({ call: `call-${i % 9}` });
    snapshot.segment = { ...snapshot.segment, index: Math.floor(i / 9) };
    return { snapshot };
  });
  const s = splitByCall(segs, 4);
  assert.ok(s.heldOut);
  const trainCalls = new Set(s.train.map((x) => x.snapshot.call_id));
  const verifyCalls = new Set(s.verify.map((x) => x.snapshot.call_id));
  assert.equal(verifyCalls.size, 3);
  for (const c of verifyCalls) assert.ok(!trainCalls.has(c), `${c} is in both`);
  assert.ok(s.train.length <= 12 && s.verify.length === 12);
  assert.deepEqual(splitByCall(segs, 4), s, 'same seed, same split');
  const arrived = [...segs].reverse();
  assert.deepEqual(splitByCall(arrived, 4), s, 'the same split whatever order the segments arrived in');
  const one = splitByCall(
    Array.from({ length: 5 }, () => ({ snapshot: snap({ call: 'only' }) })),
    4,
  );
  assert.equal(one.heldOut, false);
  assert.equal(one.verify.length, 5);
});

test('search space: what PCM replay cannot judge or constraints freeze is held; values land on the grid', () => {
  const gw = tunableSpace(2, [], { input_gain_db: 2 }, { hasFarEnd: false });
  assert.deepEqual(gw.specs.map((s) => s.name).sort(), ['input_gain_db', 'limiter_ceiling_dbfs']);
  assert.match(gw.fixed['jitter_buffer_ms']!.why, /packet trace/);
  assert.match(gw.fixed['echo_canceller_tail_ms']!.why, /far-end/);
  assert.ok(!('echo_canceller_tail_ms' in tunableSpace(2, [], {}, { hasFarEnd: true }).fixed));

  const s3 = tunableSpace(
    3,
    [
      { parameter: 'vad_threshold', min: null, max: null, frozen: true },
      { parameter: 'input_gain_db', min: -3, max: 6, frozen: false },
    ],
    { vad_threshold: 0.6 },
    { hasFarEnd: false },
  );
  assert.equal(s3.fixed['vad_threshold']!.value, 0.6);
  const gi = s3.specs.findIndex((x) => x.name === 'input_gain_db');
  assert.deepEqual(s3.bounds[gi], { lo: -3, hi: 6 });
  const x = s3.specs.map((spec, i) => (spec.name === 'input_gain_db' ? 5.4321 : s3.bounds[i]!.hi + 100));
  const p = toParams(s3, x);
  assert.equal(p['input_gain_db'], 5.4);
  assert.equal(p['vad_threshold'], 0.6);
  assert.equal(p['highpass_cutoff_hz'], 300, 'clamped into bounds');
  assert.equal(p['compressor_ratio'], 8);
  // A switch is one of its values, never a point between them (it had been 0.42 on the 0.01 grid).
  const rn = s3.specs.findIndex((x) => x.name === 'rnnoise_enabled');
  assert.ok(rn >= 0, 'rnnoise_enabled is tunable at station 3');
  for (const [v, want] of [
    [0.42, 0],
    [0.58, 1],
    [0, 0],
    [1, 1],
  ] as const) {
    const at = toParams(
      s3,
      s3.specs.map((_, i) => (i === rn ? v : s3.bounds[i]!.lo)),
    );
    assert.equal(at['rnnoise_enabled'], want, `${v} -> ${at['rnnoise_enabled']}`);
  }
});

test('batch request: times as ISO or epoch ms, scope inferred, stations deduplicated', () => {
  const now = Date.parse('2025-06-01T00:00:00Z');
  const r = parseBatchRequest(
    {
      mode: 'batch',
      from: '2025-05-31T00:00:00Z',
      to: now + 3_600_000,
      scope: { tenant_id: 'acme', station_ids: [11, 3, 3] },
    },
    now,
  );
  assert.deepEqual(r.scope, { level: 'tenant', tenant_id: 'acme', station_ids: [3, 11] });
  assert.equal(r.to, now + 3_600_000, 'an end in the future is allowed (the run stops at now)');
  assert.equal(r.budget, 24);
  assert.equal(r.margin, 2);
  const g = parseBatchRequest({ from: now - 1000, to: now }, now);
  assert.deepEqual(g.scope, { level: 'global', tenant_id: null, station_ids: null });
  assert.throws(
    () => parseBatchRequest({ from: now + 3_600_000, to: now + 7_200_000 }, now),
    /from 2025-06-01T01:00:00.000Z is in the future/,
  );
  assert.throws(
    () => parseBatchRequest({ from: now - 1000, to: now, scope: { level: 'tenant' } }, now),
    /scope.tenant_id is required for tenant scope/,
  );
  assert.throws(() => parseBatchRequest('x', now), /must be a JSON object/);
  // Every problem at once.
  assert.throws(
    () => parseBatchRequest({ from: 'x', to: 'y', margin: -1 }, now),
    (err: Error & { details?: { field: string }[] }) =>
      err.details?.map((d) => d.field).join(',') === 'from,to,margin',
  );
});
