// What a replay leaves behind for learning, in bounded memory however long the range: per (station,
// context) group the score statistics of every parameter set the history ran with (by config
// version), a uniform sample of the replayable segments (reservoir sampling, seeded), and a uniform
// sample of snapshots per station for the run's scorecard. Pure.
//
// Context is what the score surface plausibly depends on besides the parameters (issue 6): the
// impairment class the station sees (a `impairment_class` label, or the simulator's `impairments`),
// the codec, and — in a tenant-scoped run — the tenant. A station in a hum-heavy context and one in a
// quiet-talker context want different defaults; pooling them would average two optima into neither.
import type { ParameterConstraint, StationSnapshot } from '../../contracts/generated.ts';
import {
  AUDIO_TAP_LABEL,
  FAR_END_KEY_LABEL,
  INPUT_KEY_LABEL,
  REFERENCE_KEY_LABEL,
  type ReplaySource,
  replaySource,
  SAMPLE_RATE_LABEL,
} from '../../domain/replay.ts';
import { createRng, hashSeed, type ResumableRng } from '../core/random.ts';
import { scoreValue } from '../core/scorecard.ts';

export interface LearningContext {
  readonly stationId: number;
  /** Tenant of a tenant-scoped run; null when the group spans tenants. */
  readonly tenantId: string | null;
  readonly impairment: string;
  readonly codec: string;
  /** Context within the station and tenant, as stored with the observations. */
  readonly key: string;
  /** Unique id of the group in a run. */
  readonly id: string;
}

/**
 * Every label `HistoryCollector.add` reads of a snapshot (contextOf and replaySource): the replay
 * hands it snapshots whose labels hold only these (optimizer/batch/replayDecode.ts).
 */
export const LABELS_READ: readonly string[] = [
  'impairment_class',
  'impairments',
  AUDIO_TAP_LABEL,
  INPUT_KEY_LABEL,
  REFERENCE_KEY_LABEL,
  FAR_END_KEY_LABEL,
  SAMPLE_RATE_LABEL,
];

const LABEL_MAX = 64;
const clean = (v: string | undefined, def: string) =>
  v === undefined || v === '' ? def : v.replace(/[^A-Za-z0-9._,@%+=-]/g, '_').slice(0, LABEL_MAX);

export function contextOf(s: StationSnapshot, tenantScoped: boolean): LearningContext {
  const impairment = clean(s.labels['impairment_class'] ?? s.labels['impairments'], 'unlabelled');
  const codec = clean(s.codec ?? undefined, 'unknown');
  const key = `impairment=${impairment};codec=${codec}`;
  const tenantId = tenantScoped ? s.tenant_id : null;
  return {
    stationId: s.station_id,
    tenantId,
    impairment,
    codec,
    key,
    id: `${s.station_id}|${tenantId ?? '*'}|${key}`,
  };
}

class Moments {
  n = 0;
  mean = 0;
  m2 = 0;
  add(x: number): void {
    this.n++;
    const d = x - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (x - this.mean);
  }
  get sd(): number {
    return this.n > 1 ? Math.sqrt(this.m2 / (this.n - 1)) : 0;
  }
}

/** Uniform sample of at most `size` items of a stream (Vitter's algorithm R). */
class Reservoir<T> {
  readonly items: T[] = [];
  seen = 0;
  constructor(
    private readonly size: number,
    private readonly rng: ResumableRng,
  ) {}
  /** Offers the next item of the stream; `make` is called only when the sample keeps it. */
  offer(make: () => T): void {
    this.seen++;
    if (this.items.length < this.size) this.items.push(make());
    else {
      const j = Math.floor(this.rng.next() * this.seen);
      if (j < this.size) this.items[j] = make();
    }
  }
}

export interface ReplayableSegment {
  readonly snapshot: StationSnapshot;
  readonly source: ReplaySource;
}

export interface VersionStats {
  /** applied_config_version the snapshots ran with; 0 = catalog defaults. */
  readonly version: number;
  readonly n: number;
  readonly mean: number;
  readonly sd: number;
}

export interface GroupHistory {
  readonly context: LearningContext;
  readonly snapshots: number;
  readonly calls: number;
  readonly scoreMean: number;
  readonly scoreSd: number;
  /** Within-parameter-set variance of a segment's score, pooled over the versions (0 if unknown). */
  readonly pooledVar: number;
  readonly versions: VersionStats[];
  readonly replayable: number;
  readonly notReplayable: Record<string, number>;
  /** Uniform sample of the replayable segments. */
  readonly segments: ReplayableSegment[];
  /** Distinct constraints seen on the group's snapshots (the optimizer must respect all of them). */
  readonly constraints: ParameterConstraint[];
}

interface GroupState {
  context: LearningContext;
  all: Moments;
  versions: Map<number, Moments>;
  calls: Set<string>;
  notReplayable: Record<string, number>;
  segments: Reservoir<ReplayableSegment>;
  constraints: Map<string, ParameterConstraint>;
}

export interface CollectorOptions {
  readonly tenantId: string | null;
  readonly stationIds: readonly number[] | null;
  /** Replayable segments kept per group (default 64). */
  readonly segmentsPerGroup?: number;
  /** Snapshots kept per station for the run's scorecard (default 400). */
  readonly scorecardSample?: number;
  readonly seed: number;
}

// Counting distinct calls is for the report; beyond this many the count says "at least".
const MAX_CALLS_TRACKED = 100_000;
const MAX_CONSTRAINTS = 50;

export class HistoryCollector {
  /** Snapshots offered, and those inside the run's scope. */
  seen = 0;
  matched = 0;
  private readonly groups = new Map<string, GroupState>();
  private readonly cards = new Map<number, Reservoir<StationSnapshot>>();

  constructor(private readonly o: CollectorOptions) {}

  /**
   * Takes one replayed snapshot; false when it is outside the run's scope. Of `s.labels` only the
   * LABELS_READ keys are read; `whole` gives the snapshot with all of them, for the samples kept.
   */
  add(s: StationSnapshot, whole: () => StationSnapshot = () => s): boolean {
    this.seen++;
    if (this.o.tenantId !== null && s.tenant_id !== this.o.tenantId) return false;
    if (this.o.stationIds !== null && !this.o.stationIds.includes(s.station_id)) return false;
    this.matched++;
    const ctx = contextOf(s, this.o.tenantId !== null);
    let g = this.groups.get(ctx.id);
    if (!g) {
      g = {
        context: ctx,
        all: new Moments(),
        versions: new Map(),
        calls: new Set(),
        notReplayable: {},
        segments: new Reservoir(
          this.o.segmentsPerGroup ?? 64,
          createRng(hashSeed(`${this.o.seed}|${ctx.id}`)),
        ),
        constraints: new Map(),
      };
      this.groups.set(ctx.id, g);
    }
    // The chain's score: what the caller's line brought in (the input's factors) is no config's doing.
    const score = scoreValue(s, undefined, { input: false });
    g.all.add(score);
    let v = g.versions.get(s.applied_config_version);
    if (!v) {
      v = new Moments();
      g.versions.set(s.applied_config_version, v);
    }
    v.add(score);
    if (g.calls.size < MAX_CALLS_TRACKED) g.calls.add(s.call_id);
    for (const c of s.constraints) {
      if (g.constraints.size >= MAX_CONSTRAINTS) break;
      g.constraints.set(JSON.stringify(c), c);
    }
    const src = replaySource(s);
    if (src.ok) {
      const source = src.source;
      g.segments.offer(() => ({ snapshot: whole(), source }));
    } else g.notReplayable[src.reason] = (g.notReplayable[src.reason] ?? 0) + 1;

    let card = this.cards.get(s.station_id);
    if (!card) {
      card = new Reservoir(
        this.o.scorecardSample ?? 400,
        createRng(hashSeed(`${this.o.seed}|card|${s.station_id}`)),
      );
      this.cards.set(s.station_id, card);
    }
    card.offer(whole);
    return true;
  }

  history(): GroupHistory[] {
    return [...this.groups.values()]
      .map((g) => {
        let m2 = 0;
        let dof = 0;
        for (const v of g.versions.values()) {
          m2 += v.m2;
          dof += Math.max(0, v.n - 1);
        }
        return {
          context: g.context,
          snapshots: g.all.n,
          calls: g.calls.size,
          scoreMean: g.all.mean,
          scoreSd: g.all.sd,
          pooledVar: dof > 0 ? m2 / dof : 0,
          versions: [...g.versions.entries()]
            .map(([version, m]) => ({ version, n: m.n, mean: m.mean, sd: m.sd }))
            .sort((a, b) => a.version - b.version),
          replayable: g.segments.seen,
          notReplayable: { ...g.notReplayable },
          segments: [...g.segments.items],
          constraints: [...g.constraints.values()],
        };
      })
      .sort((a, b) => a.context.stationId - b.context.stationId || b.snapshots - a.snapshots);
  }

  /** The sampled snapshots for the scorecard, in capture order per station. */
  scorecardSample(): StationSnapshot[] {
    return [...this.cards.values()].flatMap((r) =>
      [...r.items].sort((a, b) => a.captured_at - b.captured_at),
    );
  }
}
