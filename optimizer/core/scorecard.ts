// The scorecard (DESIGN §8): one 0..100 score per station from the metrics a live station can
// measure, with the components that produced it. Pure. `reference_seg_snr_db` is deliberately never
// read: only a simulator knows the clean signal, and a score a live station cannot compute would make
// the optimizer tune toward something production never sees.
//
// Station score = 100 × (weighted mean of the component scores) × (guard factor). The guard factor
// is why the score cannot be gamed by crushing the signal: a gated-away or squashed signal can look
// clean on every other metric (high SNR, no clipping, no hum), so the worse of the two guards scales
// the whole station score down toward GUARD_FLOOR once it falls below GUARD_KNEE.
import { mean } from 'simple-statistics';
import type { ScoreComponent, Scorecard, StationScore, StationSnapshot } from '../../contracts/generated.ts';
import { clamp, fmt, linear, pct, ramp } from './curves.ts';
import * as input from './inputNoise.ts';
import {
  latencyDetail,
  latencyScore,
  lineDetail,
  listeningMos,
  mosScore,
  networkDetail,
  networkMos,
} from './line.ts';
import { SETTINGS_WEIGHTS, settingsComponents } from './settings.ts';
import { heldLevel, speechLevel } from './speechLevel.ts';

/**
 * Component weights. They need not sum to 1: a station's score is normalised over the components
 * that apply to it, so a network station is not penalised for lacking an STT confidence.
 */
export const WEIGHTS = Object.freeze({
  // Level is what a listener notices first and what every downstream stage (STT, Hume) is tuned for.
  level: 0.2,
  // Noise masks speech and costs STT accuracy; second only to level among the audio metrics.
  noise: 0.15,
  // The floor in the pauses is heard as hiss between words; the SNR already carries most of it.
  noise_floor: 0.05,
  // Clipping is audible from ~0.1% of samples and cannot be undone downstream.
  clipping: 0.15,
  // Mains hum is annoying but narrow-band; a high-pass removes most of it.
  hum: 0.08,
  // DC only wastes headroom and clicks at gate/AGC transitions; rarely audible on its own.
  dc_offset: 0.02,
  // Echo of the far end left in the output: another talker over the speech, worse than noise of the
  // same level; as heavy as the level (an echo as loud as the talker is what a listener hears first).
  echo: 0.2,
  // Guards (also scale the whole score, see GUARD_*): they count in the mean like the rest.
  dynamics: 0.05,
  speech_presence: 0.05,
  // Speech the chain cut away: not in the mean but a factor on the whole score, like the settings
  // guards, taking at most this share off (down to GUARD_FLOOR at its worst). Outside the mean, a
  // station whose chain loses no speech scores exactly as it did before the metric existed.
  speech_loss: 0.7,
  // On a network station the E-model MOS is the transmission quality itself: the heaviest component.
  network: 0.25,
  // Mouth-to-ear delay beyond the budget breaks turn-taking; the MOS already includes some of it.
  latency: 0.1,
  // TTS latency adds to the caller's wait for an answer.
  tts_latency: 0.05,
  // STT confidence is the outcome the caller-side chain exists for (station 4).
  stt_confidence: 0.2,
  // The recognizer's word error rate, where the words said are known (simulation, or a test line):
  // the outcome itself, as heavy as the level, so a level fix that costs words does not pay.
  stt_wer: 0.2,
  // Emotion confidence is a softer outcome: Hume's confidence also depends on the talker.
  emotion_confidence: 0.1,
  // The noise the input held (inputNoise.ts): a factor on the score the scorecard reports, taking at most
  // this share off, and left out of the score the controller tunes and judges by.
  input_noise: 0.8,
  // The line's E-model MOS again, without its delay (line.ts listeningMos): a factor on the reported
  // score only, like the input's noise.
  line: 0.7,
  // What arrived clipped upstream (inputNoise.ts): a factor on the reported score only, like the above.
  input_clipping: 0.5,
});
export type ComponentName = keyof typeof WEIGHTS;
/** Components that scale the whole score (their weight is the most they take off) instead of joining the mean. */
export const FACTOR_COMPONENTS: ReadonlySet<string> = new Set<ComponentName>(['speech_loss']);
/** Factors on what the station's input held, which no parameter moves: only in the reported score. */
export const INPUT_COMPONENTS: ReadonlySet<string> = new Set<ComponentName>([
  'input_noise',
  'line',
  'input_clipping',
]);

export interface ScoreOptions {
  /** With the input's own factors (INPUT_COMPONENTS): the reported station score. Default true. */
  readonly input?: boolean;
}

/** The guard factor never goes below this: a crushed signal keeps at most 30% of its score. */
export const GUARD_FLOOR = 0.3;
/** Guard scores at or above this leave the station score untouched (ordinary compression is fine). */
export const GUARD_KNEE = 0.5;
/** Above this speech activity the 10th-percentile "noise floor" frames are speech, so it says nothing. */
const NOISE_FLOOR_MAX_ACTIVITY = 0.85;

interface ComponentDef {
  readonly name: ComponentName;
  readonly guard: boolean;
  /** The measured input, or null when the component does not apply to this snapshot. */
  measure(s: StationSnapshot): number | null;
  score(v: number, s: StationSnapshot): number;
  describe(v: number, s: StationSnapshot): string;
}

// Level: flat within ±1 LU (inaudible), smooth to 0 at 12 LU off (the range AGC and gain can fix).
const LEVEL_TOLERANCE_LU = 1;
const LEVEL_ZERO_LU = 12;
// Noise: 0.8 exactly at the station's minimum SNR, 1 at 6 dB above it, 0 at 20 dB below it. Full
// credit comes early on purpose: past it, a blind SNR keeps rising with suppression that already
// distorts speech (measured against the clean reference in the simulator), so more must not pay.
const SNR_AT_MIN = 0.8;
const SNR_FULL_ABOVE_DB = 6;
const SNR_ZERO_BELOW_DB = 20;
// Noise floor under the speech level: 10 dB is a noisy line, 30 dB is quiet enough (same reason).
const FLOOR_MARGIN_ZERO_DB = 10;
const FLOOR_MARGIN_FULL_DB = 30;
// Clipping: exp(-ratio / 0.1%): 0.01% of samples -> 0.90, 0.1% -> 0.37, 0.5% -> 0.01.
const CLIP_SCALE = 0.001;
// Hum share up to 2% is within what speech harmonics on 100/200/300 Hz leave behind; then exp decay.
const HUM_TOLERANCE = 0.02;
const HUM_SCALE = 0.06;
// DC: 0.002 of full scale (-54 dBFS) is harmless; 0.02 more costs 1/e.
const DC_TOLERANCE = 0.002;
const DC_SCALE = 0.02;
// Crest factor of speech (peak/RMS over a segment) is 12-20 dB; 5 dB is a square wave's neighbourhood.
const CREST_ZERO_DB = 5;
const CREST_FULL_DB = 12;
// Speech activity: a talker fills 20%+ of frames; 2% is a gate or suppressor eating speech.
const ACTIVITY_ZERO = 0.02;
const ACTIVITY_FULL = 0.2;
// Speech loss (the chain's output against its own near end, audio/metrics/speechLoss.ts): up to 3 dB
// is what a suppressor's Wiener gain or a compressor leaves (the suppressors that raise PESQ most in
// the generated profiles lose 1-3 dB), 12 dB is most of the syllables gone. From 3 dB to
// 12 dB, it scales the whole station score down to GUARD_FLOOR, so a chain that chops speech cannot
// score well.
const SPEECH_LOSS_FREE_DB = 3;
const SPEECH_LOSS_ZERO_DB = 12;
// Residual echo (the far end's share of the output, metrics.residual_echo_db): unheard under 30 dB
// down (G.168's residual echo targets are 30 dB and more below the speech), gone to zero credit at 3 dB
// down, where the echo is about as loud as the talker.
const ECHO_FREE_DB = -30;
const ECHO_ZERO_DB = -3;
// Confidence scales: Deepgram transcripts under ~0.5 are mostly wrong, over ~0.95 are clean;
// Hume confidences run lower for the same audio.
const STT_ZERO = 0.5;
const STT_FULL = 0.95;
const EMOTION_ZERO = 0.3;
const EMOTION_FULL = 0.8;

function levelDetail(v: number, s: StationSnapshot): string {
  const lv = heldLevel(s);
  const read = speechLevel(s);
  const what =
    read.value !== lv.value
      ? `speech level over ${pct(s.metrics.audio.speech_activity)} speech (the one-second loudness ${fmt(read.value)} reads its pauses)`
      : lv.unit === 'LUFS'
        ? 'loudness'
        : 'active speech level (loudness gated out)';
  const t = s.targets.loudness_lufs;
  if (!lv.present) return `no speech level measurable (${fmt(v)} ${lv.unit}); target ${fmt(t, 0)} LUFS`;
  const e = v - t;
  if (Math.abs(e) <= LEVEL_TOLERANCE_LU) return `${what} ${fmt(v)} ${lv.unit} is on the ${fmt(t, 0)} target`;
  return `${what} ${fmt(v)} ${lv.unit} is ${fmt(Math.abs(e))} LU ${e < 0 ? 'below' : 'above'} the ${fmt(t, 0)} target`;
}

function snrScore(snr: number, min: number): number {
  if (snr >= min) return SNR_AT_MIN + (1 - SNR_AT_MIN) * ramp(snr, min, min + SNR_FULL_ABOVE_DB);
  return SNR_AT_MIN * ramp(snr, min - SNR_ZERO_BELOW_DB, min);
}

function guardFactor(guardScore: number): number {
  return GUARD_FLOOR + (1 - GUARD_FLOOR) * clamp(guardScore / GUARD_KNEE, 0, 1);
}

function guardNote(score: number): string {
  const f = guardFactor(score);
  return f < 1 ? `; scales the station score by ${fmt(f, 2)}` : '';
}

const DEFS: readonly ComponentDef[] = [
  {
    name: 'level',
    guard: false,
    measure: (s) => heldLevel(s).value,
    score: (v, s) =>
      heldLevel(s).present
        ? 1 - ramp(Math.abs(v - s.targets.loudness_lufs), LEVEL_TOLERANCE_LU, LEVEL_ZERO_LU)
        : 0,
    describe: levelDetail,
  },
  {
    name: 'noise',
    guard: false,
    measure: (s) => s.metrics.audio.snr_db,
    score: (v, s) => (input.inputClean(s) ? 1 : snrScore(v, s.targets.min_snr_db)),
    describe: (v, s) => {
      const min = s.targets.min_snr_db;
      if (v < min && input.inputClean(s))
        return `blind SNR ${fmt(v)} dB, but the input holds no noise (its floor ${fmt(s.metrics.input_noise_margin_db ?? 0)} dB under its peaks): the speech's own quiet stretch`;
      return v >= min
        ? `blind SNR ${fmt(v)} dB meets the ${fmt(min, 0)} dB minimum`
        : `blind SNR ${fmt(v)} dB is ${fmt(min - v)} dB under the ${fmt(min, 0)} dB minimum`;
    },
  },
  {
    name: 'noise_floor',
    guard: false,
    measure: (s) =>
      speechLevel(s).present && s.metrics.audio.speech_activity <= NOISE_FLOOR_MAX_ACTIVITY
        ? s.metrics.audio.noise_floor_dbfs
        : null,
    score: (v, s) =>
      input.inputClean(s) ? 1 : ramp(speechLevel(s).value - v, FLOOR_MARGIN_ZERO_DB, FLOOR_MARGIN_FULL_DB),
    describe: (v, s) =>
      `noise floor ${fmt(v)} dBFS sits ${fmt(speechLevel(s).value - v)} dB under the speech level`,
  },
  {
    name: 'clipping',
    guard: false,
    measure: (s) => s.metrics.audio.clipping_ratio,
    score: (v) => Math.exp(-Math.max(0, v) / CLIP_SCALE),
    describe: (v) =>
      v <= 0
        ? 'no clipped samples'
        : `${pct(v, 3)} of samples at full scale${v >= CLIP_SCALE ? ' (audible from about 0.1%)' : ''}`,
  },
  {
    name: 'hum',
    guard: false,
    measure: (s) => s.metrics.audio.hum_ratio,
    score: (v) => Math.exp(-Math.max(0, v - HUM_TOLERANCE) / HUM_SCALE),
    describe: (v) =>
      v <= HUM_TOLERANCE ? `no hum to speak of (${pct(v)})` : `hum holds ${pct(v)} of the energy`,
  },
  {
    name: 'dc_offset',
    guard: false,
    measure: (s) => s.metrics.audio.dc_offset,
    score: (v) => Math.exp(-Math.max(0, Math.abs(v) - DC_TOLERANCE) / DC_SCALE),
    describe: (v) =>
      `DC offset ${fmt(v, 4)} of full scale${Math.abs(v) > DC_TOLERANCE ? ' wastes headroom' : ''}`,
  },
  {
    name: 'echo',
    guard: false,
    measure: (s) => s.metrics.residual_echo_db ?? null,
    score: (v) => 1 - ramp(v, ECHO_FREE_DB, ECHO_ZERO_DB),
    describe: (v, s) => {
      const at = s.metrics.echo_delay_ms;
      return v <= ECHO_FREE_DB
        ? `no echo of the far end to speak of (${fmt(v)} dB)`
        : `echo of the far end holds ${fmt(v)} dB of the output${at !== null && at !== undefined ? `, ${fmt(at, 0)} ms behind it` : ''}`;
    },
  },
  {
    name: 'dynamics',
    guard: true,
    measure: (s) => (speechLevel(s).present ? s.metrics.audio.crest_factor_db : null),
    score: (v) => ramp(v, CREST_ZERO_DB, CREST_FULL_DB),
    describe: (v) => {
      const base = `crest factor ${fmt(v)} dB`;
      const sc = ramp(v, CREST_ZERO_DB, CREST_FULL_DB);
      if (sc >= 1) return `${base}: natural speech dynamics`;
      return `${base}: dynamics squashed (natural speech is ${CREST_FULL_DB} dB or more)${guardNote(sc)}`;
    },
  },
  {
    name: 'speech_presence',
    guard: true,
    measure: (s) => (input.heldNoSpeech(s) ? null : s.metrics.audio.speech_activity),
    score: (v) => ramp(v, ACTIVITY_ZERO, ACTIVITY_FULL),
    describe: (v) => {
      const sc = ramp(v, ACTIVITY_ZERO, ACTIVITY_FULL);
      const base = `speech in ${pct(v, 0)} of frames`;
      return sc >= 1 ? base : `${base}: little or no speech survives (gate or suppressor?)${guardNote(sc)}`;
    },
  },
  {
    name: 'speech_loss',
    guard: false,
    measure: (s) => s.metrics.speech_loss_db ?? null,
    score: (v) => 1 - ramp(v, SPEECH_LOSS_FREE_DB, SPEECH_LOSS_ZERO_DB),
    describe: (v) => {
      const sc = 1 - ramp(v, SPEECH_LOSS_FREE_DB, SPEECH_LOSS_ZERO_DB);
      const base = `the DSP chain removes ${fmt(v)} dB of the speech it is given`;
      const f = 1 - WEIGHTS.speech_loss * (1 - sc);
      return sc >= 1
        ? base
        : `${base}: it is cutting into the words; scales the station score by ${fmt(f, 2)}`;
    },
  },
  {
    name: 'network',
    guard: false,
    measure: networkMos,
    score: mosScore,
    describe: networkDetail,
  },
  {
    name: 'latency',
    guard: false,
    measure: (s) => s.metrics.network?.latency_ms ?? null,
    score: (v, s) => latencyScore(v, s.targets.max_latency_ms),
    describe: (v, s) => latencyDetail('mouth-to-ear latency', v, s.targets.max_latency_ms),
  },
  {
    name: 'tts_latency',
    guard: false,
    measure: (s) => s.metrics.tts_latency_ms,
    score: (v, s) => latencyScore(v, s.targets.max_latency_ms),
    describe: (v, s) => latencyDetail('TTS latency', v, s.targets.max_latency_ms),
  },
  {
    name: 'stt_confidence',
    guard: false,
    measure: (s) => s.metrics.stt_confidence,
    score: (v) => linear(v, STT_ZERO, STT_FULL),
    describe: (v) => `STT confidence ${fmt(v, 2)} (clean transcripts score ${STT_FULL} or more)`,
  },
  {
    name: 'stt_wer',
    guard: false,
    measure: (s) => s.metrics.stt_word_error_rate ?? null,
    score: (v) => 1 - clamp(v, 0, 1),
    describe: (v) =>
      `the recognizer got ${pct(Math.min(1, Math.max(0, v)), 0)} of the words wrong (WER ${fmt(v, 2)})`,
  },
  {
    name: 'emotion_confidence',
    guard: false,
    measure: (s) => s.metrics.emotion_confidence,
    score: (v) => linear(v, EMOTION_ZERO, EMOTION_FULL),
    describe: (v) => `emotion confidence ${fmt(v, 2)} (full credit from ${EMOTION_FULL})`,
  },
  {
    name: 'input_noise',
    guard: false,
    measure: input.inputNoiseMargin,
    score: input.inputNoiseScore,
    describe: (v) => input.inputNoiseDetail(v, 1 - WEIGHTS.input_noise * (1 - input.inputNoiseScore(v))),
  },
  {
    name: 'line',
    guard: false,
    measure: listeningMos,
    score: mosScore,
    describe: (v) => lineDetail(v, 1 - WEIGHTS.line * (1 - mosScore(v))),
  },
  {
    name: 'input_clipping',
    guard: false,
    measure: (s) => s.metrics.input_clipping_ratio ?? null,
    score: input.inputClipScore,
    describe: (v) => input.inputClipDetail(v, 1 - WEIGHTS.input_clipping * (1 - input.inputClipScore(v))),
  },
];
const DEF_BY_NAME = new Map(DEFS.map((d) => [d.name, d]));
/** The definitions the chain's score is made of: every one but the input's factors. */
const CHAIN_DEFS = DEFS.filter((d) => !INPUT_COMPONENTS.has(d.name));
const defsFor = (opts: ScoreOptions) => (opts.input === false ? CHAIN_DEFS : DEFS);
/** Whether a component scales the whole score (a factor) instead of joining the weighted mean. */
const isFactor = (name: string) => FACTOR_COMPONENTS.has(name) || INPUT_COMPONENTS.has(name);

/**
 * The combination rule, in one place for `combine` and `scoreValue`: the audio components' weighted
 * mean, times the guards' factor, times each settings guard's share. A settings guard takes its
 * weight's share off the whole score (at most), rather than joining the mean, where it would dilute
 * every audio component's say.
 */
class ScoreSum {
  private sum = 0;
  private wsum = 0;
  private guard = 1;
  private settings = 1;
  audio(weight: number, score: number, isGuard: boolean): void {
    this.sum += weight * score;
    this.wsum += weight;
    if (isGuard) this.guard = Math.min(this.guard, score);
  }
  setting(c: { weight: number; score: number }): void {
    this.settings *= 1 - c.weight * (1 - c.score);
  }
  total(): number {
    const base = this.wsum > 0 ? this.sum / this.wsum : 0;
    return 100 * base * guardFactor(this.guard) * this.settings;
  }
}

function combine(stationId: number, components: ScoreComponent[]): StationScore {
  const total = new ScoreSum();
  for (const c of components) {
    if (c.name in SETTINGS_WEIGHTS || isFactor(c.name)) total.setting(c);
    else total.audio(c.weight, c.score, DEF_BY_NAME.get(c.name as ComponentName)?.guard === true);
  }
  return { station_id: stationId, score: total.total(), components };
}

/**
 * Score one snapshot. Components that do not apply to it are omitted, not counted as perfect. Given
 * the parameters the snapshot ran with, the settings guards (settings.ts) join: what the blind
 * metrics cannot see of a setting that cuts into the speech.
 */
export function scoreSnapshot(
  s: StationSnapshot,
  params?: Readonly<Record<string, number>>,
  opts: ScoreOptions = {},
): StationScore {
  const components: ScoreComponent[] = [];
  for (const d of defsFor(opts)) {
    const v = d.measure(s);
    if (v === null || !Number.isFinite(v)) continue;
    components.push({
      name: d.name,
      value: v,
      score: clamp(d.score(v, s), 0, 1),
      weight: WEIGHTS[d.name],
      detail: d.describe(v, s),
    });
  }
  if (params) {
    const lv = speechLevel(s);
    components.push(...settingsComponents(s, params, lv.present ? lv.value : null));
  }
  return combine(s.station_id, components);
}

/**
 * Per station, the mean of its snapshot scores (components averaged too, described at their mean
 * value); overall, the mean across the stations present. An empty input scores 0.
 */
export function buildScorecard(snaps: readonly StationSnapshot[], opts: ScoreOptions = {}): Scorecard {
  const byStation = new Map<number, StationSnapshot[]>();
  for (const s of snaps) {
    const list = byStation.get(s.station_id);
    if (list) list.push(s);
    else byStation.set(s.station_id, [s]);
  }
  const stations: StationScore[] = [];
  for (const id of [...byStation.keys()].sort((a, b) => a - b)) {
    const list = byStation.get(id)!;
    const scored = list.map((x) => scoreSnapshot(x, undefined, opts));
    const latest = list[list.length - 1]!;
    const components: ScoreComponent[] = [];
    for (const d of DEFS) {
      const hits = scored.flatMap((st) => st.components.filter((c) => c.name === d.name));
      if (hits.length === 0) continue;
      const value = mean(hits.map((c) => c.value));
      const note = list.length > 1 ? ` (mean of ${hits.length} snapshot${hits.length > 1 ? 's' : ''})` : '';
      components.push({
        name: d.name,
        value,
        score: mean(hits.map((c) => c.score)),
        weight: WEIGHTS[d.name],
        detail: `${d.describe(value, latest)}${note}`,
      });
    }
    stations.push({ station_id: id, score: mean(scored.map((x) => x.score)), components });
  }
  return { overall: stations.length > 0 ? mean(stations.map((x) => x.score)) : 0, stations };
}

/** The weighted loss a component contributes (weight × (1 - score)): how much fixing it is worth. */
export function componentLoss(c: ScoreComponent): number {
  return c.weight * (1 - c.score);
}

/**
 * `scoreSnapshot(s, params).score` without building the components and their descriptions: the same
 * arithmetic in the same order (so the same number to the last bit), for paths that score every
 * replayed snapshot and keep only the score (optimizer/batch/history.ts).
 */
export function scoreValue(
  s: StationSnapshot,
  params?: Readonly<Record<string, number>>,
  opts: ScoreOptions = {},
): number {
  const total = new ScoreSum();
  for (const d of defsFor(opts)) {
    const v = d.measure(s);
    if (v === null || !Number.isFinite(v)) continue;
    const sc = clamp(d.score(v, s), 0, 1);
    if (isFactor(d.name)) total.setting({ weight: WEIGHTS[d.name], score: sc });
    else total.audio(WEIGHTS[d.name], sc, d.guard);
  }
  if (params) {
    const lv = speechLevel(s);
    for (const c of settingsComponents(s, params, lv.present ? lv.value : null)) total.setting(c);
  }
  return total.total();
}
