// The online controller's memory for one (call, station): plain JSON, so the online optimizer can keep
// it in a map, a database row or a compacted topic and resume after a restart with identical results.
import type { ParameterSpec } from '../../catalog/index.ts';
import type { StationSnapshot } from '../../contracts/generated.ts';
import { hashSeed } from './random.ts';

/** A flat record of the metrics worth quoting as evidence ("speech_activity 0.62->0.31"). */
export type MetricDigest = Record<string, number>;

export interface ParamChange {
  readonly name: string;
  readonly old: number;
  readonly new: number;
}

export interface KnownGood {
  /** The full parameter set that produced `score`. */
  readonly params: Record<string, number>;
  readonly score: number;
  readonly metrics: MetricDigest;
}

export interface PendingChange {
  /** `change`: a proposal to judge once in effect; `rollback`: a restore to wait for, not judged. */
  readonly kind: 'change' | 'rollback';
  readonly before: Record<string, number>;
  readonly after: Record<string, number>;
  readonly changes: readonly ParamChange[];
  /** Mean score at `before` (the evaluation baseline). */
  readonly score_before: number;
  readonly metrics_before: MetricDigest;
  /** Component scores at `before`, to name what got worse if the change regresses. */
  readonly components_before: Record<string, number>;
  readonly proposed_at: number;
  /** Config version that carries the change; set by `markApplied`, null until then. */
  readonly version: number | null;
  readonly exploratory: boolean;
  /** Which rule proposed it (or 'explore' / 'rollback'). */
  readonly rule: string;
  /** The parameters that rode along from findings other than the lead's (moves.ts choose); absent: none. */
  readonly riders?: readonly string[];
  /** The first second that ran the change held too little speech to judge it by (typical.ts tooLittleSpeech). */
  readonly deferred?: boolean;
  /**
   * The first snapshot that ran the change looked like a regression: its score and attributable
   * drop, waiting for a second snapshot to confirm (one odd second of speech is not a verdict).
   */
  readonly suspect?: {
    readonly score: number;
    readonly attributable: number;
    /** The snapshot's own score, when `score` is compared like with like (judge.ts movedOn). */
    readonly raw?: number;
  } | null;
}

/** What judged steps taught about one parameter in this call (trust.ts). */
export interface StepLesson {
  /** The trust radius: the next step's size as a share of max_step. */
  readonly radius: number;
  /** The direction that last gained when the parameter changed alone; 0: none known. */
  readonly direction: 1 | -1 | 0;
  /** Points gained per max step by that change. */
  readonly slope: number;
  /** The last step of it that was kept (new - old), for a level setter (moves.ts damped); absent: none. */
  readonly kept?: number;
}

/** A move that regressed: not repeated in the same direction for a few iterations. */
export interface TabuEntry {
  readonly name: string;
  readonly direction: 1 | -1;
  readonly until_iteration: number;
  /**
   * An exploratory step that only failed to gain (judge.ts "no clear gain"), not one that regressed:
   * it bars exploration and the model step, not a rule that reads a reason for the move.
   */
  readonly fruitless?: true;
  /**
   * A move that rode along in a step led by another finding's, and the step regressed: the verdict
   * cannot be pinned on it, so, like `fruitless`, it bars exploration and the model step, not a rule
   * that reads a reason for the move (judge.ts, PendingChange.riders).
   */
  readonly rider?: true;
}

export interface ControllerState {
  readonly schema: 1;
  readonly station_id: number;
  readonly call_id: string;
  /** decide() calls so far. */
  readonly iteration: number;
  /** Changes judged so far. */
  readonly judged: number;
  readonly known_good: KnownGood | null;
  readonly best_score: number | null;
  /** Recent scores at the running configuration (the baseline the next change is judged against). */
  readonly window: readonly number[];
  readonly pending: PendingChange | null;
  /** Consecutive judged iterations that did not beat `best_score` by more than the epsilon. */
  readonly stalled: number;
  readonly converged: boolean;
  readonly stop_reason: string | null;
  /** Metrics at the first snapshot seen (e.g. the spectral centroid before any high-pass change). */
  readonly origin: MetricDigest | null;
  readonly tabu: readonly TabuEntry[];
  /** mulberry32 state (random.ts), for deterministic exploration. */
  readonly rng: number;
  /** Config version of the running set as last seen on a snapshot. */
  readonly last_version: number;
  /**
   * Cold parameters published during this call (name -> value): the station queues them for its next
   * call, so this call's metrics cannot show them. Not judged, not proposed again, kept on rollback.
   */
  readonly cold_queued: Record<string, number>;
  /**
   * Cold parameters as the call started: what the station runs all call long, whatever is queued since
   * (the settings guards score these, not a declipper queued for the next call). Absent in states
   * saved before it.
   */
  readonly cold_running?: Record<string, number>;
  /**
   * Directions a rule's standing wish rules out for model and exploratory steps (Finding.wants), until
   * an iteration; absent in states saved before it.
   */
  readonly wishes?: readonly TabuEntry[];
  /** Per hot parameter, what the judged steps taught (trust.ts); absent in states saved before it. */
  readonly lessons?: Record<string, StepLesson>;
}

export function initialState(
  snapshot: StationSnapshot,
  seed?: number,
  coldRunning: Record<string, number> = {},
): ControllerState {
  return {
    schema: 1,
    station_id: snapshot.station_id,
    call_id: snapshot.call_id,
    iteration: 0,
    judged: 0,
    known_good: null,
    best_score: null,
    window: [],
    pending: null,
    stalled: 0,
    converged: false,
    stop_reason: null,
    origin: null,
    tabu: [],
    rng: (seed ?? hashSeed(`${snapshot.call_id}/${snapshot.station_id}`)) >>> 0,
    last_version: snapshot.applied_config_version,
    cold_queued: {},
    cold_running: coldRunning,
    lessons: {},
  };
}

/**
 * The caller (the online optimizer, after the safety layer accepted the proposal and published it)
 * reports the config version that carries the pending change or rollback. From then on, a snapshot
 * whose `applied_config_version` is at least that version is judged as running it.
 */
export function markApplied(state: ControllerState, version: number): ControllerState {
  if (state.pending === null) return state;
  return { ...state, pending: { ...state.pending, version } };
}

/**
 * The safety layer refused the pending change (cool-down, scope, operator freeze...). It never ran, so
 * there is nothing to judge: the controller forgets it and decides afresh on the next snapshot. A
 * refused rollback leaves the known-good set as the goal; the next decision will see the difference.
 */
export function markRejected(state: ControllerState): ControllerState {
  if (state.pending === null) return state;
  return { ...state, pending: null };
}

/** The evidence metrics of a snapshot, flattened. */
export function digest(s: StationSnapshot): MetricDigest {
  const a = s.metrics.audio;
  const d: MetricDigest = {
    loudness_lufs: a.loudness_lufs,
    active_speech_level_dbov: a.active_speech_level_dbov,
    peak_dbfs: a.peak_dbfs,
    crest_factor_db: a.crest_factor_db,
    clipping_ratio: a.clipping_ratio,
    noise_floor_dbfs: a.noise_floor_dbfs,
    snr_db: a.snr_db,
    speech_activity: a.speech_activity,
    spectral_centroid_hz: a.spectral_centroid_hz,
    hum_ratio: a.hum_ratio,
    dc_offset: a.dc_offset,
  };
  const n = s.metrics.network;
  if (n) {
    d['packet_loss_ratio'] = n.packet_loss_ratio;
    d['jitter_ms'] = n.jitter_ms;
    d['latency_ms'] = n.latency_ms;
    d['mos'] = n.mos;
  }
  if (s.metrics.stt_confidence !== null) d['stt_confidence'] = s.metrics.stt_confidence;
  const wer = s.metrics.stt_word_error_rate;
  if (wer !== null && wer !== undefined) d['stt_word_error_rate'] = wer;
  const loss = s.metrics.speech_loss_db;
  if (loss !== null && loss !== undefined) d['speech_loss_db'] = loss;
  const hum = s.metrics.input_hum_ratio;
  if (hum !== null && hum !== undefined) d['input_hum_ratio'] = hum;
  const input = s.metrics.input_speech_level_dbov;
  if (input !== null && input !== undefined && Number.isFinite(input)) d['input_speech_level_dbov'] = input;
  const echo = s.metrics.residual_echo_db;
  if (echo !== null && echo !== undefined) d['residual_echo_db'] = echo;
  if (s.metrics.tts_latency_ms !== null) d['tts_latency_ms'] = s.metrics.tts_latency_ms;
  if (s.metrics.emotion_confidence !== null) d['emotion_confidence'] = s.metrics.emotion_confidence;
  return d;
}

/** Every parameter of `specs`: the current value where it is a finite number, else the default. */
export function fullParams(specs: readonly ParameterSpec[], current: Readonly<Record<string, number>>) {
  const out: Record<string, number> = {};
  for (const p of specs) {
    const v = current[p.name];
    out[p.name] = typeof v === 'number' && Number.isFinite(v) ? v : p.default;
  }
  return out;
}

/** Same values on every parameter except those in `ignore` (cold values queued for the next call). */
export function sameParams(
  a: Readonly<Record<string, number>>,
  b: Readonly<Record<string, number>>,
  ignore: Readonly<Record<string, number>>,
): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    if (k in ignore) continue;
    const x = a[k];
    const y = b[k];
    if (x === undefined || y === undefined || Math.abs(x - y) > 1e-9) return false;
  }
  return true;
}
