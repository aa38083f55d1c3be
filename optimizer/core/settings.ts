// Settings guards (issue 10, "a scorecard that agrees with the listener"): ways of making the blind
// metrics look better while the speech gets worse, which the blind metrics alone cannot see. Measured
// with PESQ on generated profiles (`npm run eval`, `eval/attribute.ts`): a high-pass far into the voice
// band (200-300 Hz) removes hum and rumble and raises the blind SNR, but thins every voice; a gate set
// near the speech level silences the pauses and the quiet ends of syllables; suppression deeper than
// the noise calls for lifts the blind SNR past what the scorecard already rewards in full (kept after
// the suppressor's rewrite 2ca921f: without it, test/integration/batch.test.ts's CLI run's best sets
// for a quiet 40 dB-SNR talker keep 12-30 dB and PESQ refuses all three, 3.48 -> 3.20..3.33; with it
// they go to 0 dB with RNNoise); a limiter ceiling close to the speech level lets more input gain
// through without clipping by flattening every peak (station 4: gain up with the ceiling at -6 dBFS,
// +3.5 points, PESQ -0.08); a jitter buffer shorter than the measured jitter on a lossy line trades
// late discards PESQ hears for latency the score credits; a declipper left off while the input arrives
// clipped leaves PESQ 0.05-0.6 under what it could be (audio/dsp/declipper.ts), and no blind metric of
// the output says so once the AGC has brought the flattened peaks down. Each guard is scored from the parameters in effect together with what the
// snapshot measured, so it applies only where the settings do more than the audio needs.
import type { ScoreComponent, StationSnapshot } from '../../contracts/generated.ts';
import { effectiveBounds } from './bounds.ts';
import { fmt, ramp } from './curves.ts';
import { inputClean, inputNoiseMargin } from './inputNoise.ts';
import type { Finding, Move, RuleContext } from './rules.ts';

/**
 * On narrowband audio (8 kHz, the 300-3400 Hz telephone band) high-pass cutoffs up to here leave the
 * voice alone: the band starts above them (generated profiles, station 1 at 8 kHz: 60 -> 200 Hz moved
 * PESQ by under 0.01)...
 */
const HIGHPASS_FREE_HZ = 150;
/** ...and from here on the cutoff takes away the voice's fundamental and first harmonics. */
const HIGHPASS_ZERO_HZ = 300;
/**
 * Judged again with the edge fade (2026-12-05, the cutoff alone at 60-200 Hz, seeds 1-3): over narrowband
 * input that reads clean (settled noise margin from INPUT_CLEAN_MARGIN_DB) a cutoff above 60 Hz costs
 * PESQ from 90 Hz (gen-2-1 station 3: 90 Hz -0.011, 130 -0.027, 200 -0.078; gen-3-2 station 1: 130
 * -0.041), while over noise it moved PESQ both ways by up to 0.03 and gained up to 0.11 at 200 Hz
 * (gen-2-2 station 3, white noise at 38 dB): free only to 90 Hz there.
 */
const CLEAN_NARROWBAND_HIGHPASS_FREE_HZ = 90;
/**
 * Wideband audio (16 kHz, 50-7000 Hz) keeps the voice's low end, and PESQ hears a cutoff above the
 * default 60 Hz (stations 1, 3 and 11 at 16 kHz, the cutoff alone: 90 Hz -0.02..-0.05, 110-130 Hz
 * -0.05..-0.10, 150 Hz -0.06..-0.19 against 60): free only to 70 Hz, falling slowly to nothing at 400.
 */
const WIDEBAND_HIGHPASS_FREE_HZ = 70;
const WIDEBAND_HIGHPASS_ZERO_HZ = 400;
/** Audio at this rate or above is wideband; a snapshot that does not say is taken as narrowband. */
const WIDEBAND_RATE_HZ = 16000;
// The gate threshold should sit this far under the speech level at the gate: within 15 dB it closes on
// the quiet ends of syllables, from 35 dB it seldom costs anything (generated profiles, the gate alone
// moved from the default -70 dBFS: gen-7-0 station 3, a talker at -35 dBov, -0.18 at 26 dB; the default
// 28 dB under a -42 dBov talker at gen-5-3 station 3 and 26.5 dB under a -43.5 dBov one in babble at
// gen-1-1 station 1 cost nothing against -85). PESQ can hear a gate further down (gen-4-0 station 3,
// -17 dBov: -0.18 at 41 dB, over mains hum the gate switched on and off), so the noise rule keeps its
// gate gateRuleMargin under the speech; a guard free only from 50 dB took the default's score down
// by up to 19 points under quiet talkers where PESQ did not move, and cost the loop convergence (eval
// seeds 1-5: within 5% by iteration 5 121 -> 118 of 140, the same mean PESQ). Those were narrowband
// and noisy talkers, and the judge before its edge fade.
const GATE_ZERO_MARGIN_DB = 15;
const GATE_FREE_MARGIN_DB = 35;
// Wideband audio keeps the quiet ends of syllables that the telephone band loses, and PESQ hears a gate
// much further under the speech. Judged again with the fade (2026-12-05: the gate alone at 60 to 20 dB
// under the input's median active level, every station 1 and 3 of seeds 1-8, 64): at 16 kHz over clean
// input (12 stations) 45 dB cost 0.01-0.05 at five, 40 dB 0.08-0.30 at four (gen-4-0 station 3 -0.30,
// gen-3-0 station 1 -0.10) and 35 dB 0.10-0.30 at the same four, one gained 0.03 at 35-40 dB; over noise
// where the gate met the floor far more (gen-8-0 station 3, pink at 37 dB: -0.17 at 45, -0.41 at 40,
// -1.15 at 35); at 60 dB no station moved by more than 0.011. At 8 kHz the old line holds (clean talkers
// 0.00-0.02 down to 25 dB, but for gen-3-2 station 1: -0.04 at 40, -0.07 at 35), and a gate there can
// gain over noise (gen-2-0 station 1, babble at 30 dB SNR, +0.18 at 25 dB), so it stays. Wideband noise
// mostly keeps the gate open (18 of 21 noisy 16 kHz stations: nothing down to 35 dB; two of the others
// read clean by their margin, 68 dB, the third is gen-8-0 station 3 above), and the wideband
// line there only cost the loop iterations (eval seeds 1-4: within 5% by iteration 5 98 -> 95 of 112,
// gen-1-2 station 3, babble at 24.5 dB, penalised at its defaults' 47 dB for a gate PESQ never heard):
// it applies where the input reads clean (its settled noise margin from INPUT_CLEAN_MARGIN_DB), where
// the gate closes in every pause.
// Zero at 30 rather than 25: at 25-30 the guard would leave a clean talker's default gate 45-48 dB
// under him just over SETTINGS_ACT, costing score the controller never eased off (gen-3-0 station 1,
// 46.5 dB: -0.02 PESQ, and the call short of its best by 5%).
const WIDEBAND_GATE_ZERO_MARGIN_DB = 30;
const WIDEBAND_GATE_FREE_MARGIN_DB = 55;
/**
 * How far under the speech at the gate the noise rule may raise the gate (rules.ts): 50 dB, or on
 * wideband audio the guard's free margin, so the rule's gate never costs score by its guard.
 */
export function gateRuleMargin(s: StationSnapshot): number {
  return wideband(s) ? WIDEBAND_GATE_FREE_MARGIN_DB : 50;
}

function wideband(s: StationSnapshot): boolean {
  return (s.metrics.sample_rate_hz ?? 0) >= WIDEBAND_RATE_HZ;
}
// Limiter ceiling over the speech level: speech peaks run 12-20 dB over it, so from 15 dB up the
// limiter touches only the odd peak; at 6 dB it flattens every syllable.
const LIMITER_FREE_HEADROOM_DB = 15;
const LIMITER_ZERO_HEADROOM_DB = 6;
// Compressor threshold over the speech level: its 10 ms detector's peaks run 6-10 dB over the active
// level, so from 5 dB of headroom it touches only the loudest syllables; from under 3 dB it works on every
// one, and the AGC lifts the level again behind it. The level component can still prefer it (a
// compressed loudness lands nearer the target). Generated profiles, the AGC target alone from the
// default -26 dBFS under the -18 dBFS threshold (PESQ with the judge's edge fade, 2026-12-05): gen-5-1
// station 3, -23 -0.007, -21 -0.014, -20.25 -0.017; gen-8-3 station 3, -23 -0.018, -21 -0.036, -20
// -0.045; with the compressor off +0.000 at every target. (Before the fade these read -0.28 from -21 at
// gen-5-1: the judge's edge, not the compressor.) Small, but never a gain. Ratio 1 compresses nothing.
const COMPRESSOR_FREE_HEADROOM_DB = 5;
const COMPRESSOR_ZERO_HEADROOM_DB = 0;
// The output's level reads the compressor's own cut (1-3 dB at 2:1 from an AGC at -20 dBFS into a -18
// dBFS threshold): an output this close under the AGC's target is the AGC there, and the compressor
// meets the target's level.
const AGC_AT_TARGET_DB = 4;
// Jitter buffer on a lossy line (loss over 1%, the buffer's late discards counted in): a playout
// delay under the measured RFC 3550 jitter (a mean deviation) discards packets routinely, and the
// score can still prefer it, its latency credit outweighing the loss (eval seed 1: 20 ms on lines with
// 38 and 76 ms of jitter, PESQ -0.05 and -0.13). Free from 1.5x the jitter (the loop's own rule grows
// the buffer to 3x, so it runs clear of this guard), zero at half the jitter.
const JITTER_LOSSY = 0.01;
const JITTER_FREE_MULT = 1.5;
const JITTER_ZERO_MULT = 0.5;
// Suppression the measured SNR did not need: up to 6 dB is harmless, 24 dB is pure artefact.
const EXCESS_FREE_DB = 6;
const EXCESS_ZERO_DB = 24;
/**
 * Noise this far under the speech peaks (input_noise_margin_db) is out of the way: suppression that
 * takes the floor further down buys nothing. It was 60 dB, set with the judge before its edge fade
 * (quality/sidecar.py); judged again with the fade (2026-12-05, the suppression alone from 0 to 30 dB
 * on every station of seeds 1-5 that has it, 58 stations), PESQ rose with depth up to 30 dB wherever the
 * margin read under ~75 dB (white, pink and babble; babble at 29.5 dB SNR, margin 68: 3.494 at 6 dB,
 * 3.533 at 30), while the guard took up to 15% off the score from 12 dB; from ~80 dB (clean input) depth
 * did nothing and any suppression cost 0-0.06 against none.
 */
const NS_ENOUGH_MARGIN_DB = 80;
/**
 * RNNoise over an input whose broadband floor (input_noise_margin_db, once settled: inputNoise.ts) sits
 * this far under its speech peaks has nothing of its kind to take out, and what it does then costs the
 * speech. Generated profiles, seeds 1-8, RNNoise alone switched on at the defaults, every station that
 * has it (160), judged with the edge fade (2026-12-05), by the margin read at the defaults: under 80 dB
 * it gained +0.12..+0.40 on average per 10 dB band (babble at 65 dB SNR reads 80.4: +0.097, gen-8-1
 * station 1; a talker over -67 dBFS hum 79.2: +0.615, gen-8-1 station 4); at 80-90 dB (11 stations) it
 * moved PESQ by -0.020 on average, 8 of them down (clean talkers at 84-86: gen-8-0 station 11 -0.056,
 * gen-8-3 station 4 -0.057; over hum, gen-8-2 station 1 -0.092), from 90 dB (39) by -0.001, 6 down to
 * -0.026 and 2 up (a clipped input +0.03). The noise rules switch RNNoise on in the call's first seconds,
 * where a clean talker's margin reads 41-48 dB as noise's does (inputNoise.ts); this guard is what
 * switches it off again once the reading has settled. Free to 80 dB, zero from 90.
 */
const RNNOISE_FREE_MARGIN_DB = 80;
const RNNOISE_ZERO_MARGIN_DB = 90;
/** The scorecard's noise component gives full credit this far above the station's minimum SNR. */
const SNR_FULL_ABOVE_DB = 6;

// A hum family the station's detector follows in the input (metrics.input_hum_ratio, its share of the
// input's energy) with the hum canceller off. Hum a thousandth of the energy hides under the speech in
// every output metric, but sits in the pauses, where PESQ hears it (defaults, canceller off -> on, seeds
// 1-8, every station with hum and a canceller, 57: under 1e-4 of the energy -0.009..0; 1e-4..1e-3 +0.03
// on average; 1e-3..1e-2 +0.22 (2-0 station 11 at 0.6% +0.70, 8-1 station 4 +1.16, the score moving by
// under 0.3 point); over 1e-2 +0.27, where the output's hum reading already sees it). Free under 1e-4
// (the hum rule's own threshold, hum.ts), the whole weight from 0.3%.
const HUM_NEED_FREE_LOG10 = -4;
const HUM_NEED_ZERO_LOG10 = -2.5;

// Input samples on a clip level (metrics.input_clipping_ratio) with the declipper off: a few in 10^4
// are a peak or two per second (PESQ -0.05..-0.2 at 0.04%), from 1% every syllable is flattened
// (-0.35..-0.6 at 0.6-3%). On a log scale between the two.
const CLIP_FREE_LOG10 = -4;
const CLIP_ZERO_LOG10 = -2;

/** A guard scoring under this makes the controller ease its setting off one step (rules.ts). */
export const SETTINGS_ACT = 0.8;

/** The most each guard can take off the station score (a share of it), at its worst. */
export const SETTINGS_WEIGHTS = Object.freeze({
  voice_band: 0.25,
  gate_margin: 0.25,
  suppression_need: 0.15,
  rnnoise_need: 0.1,
  hum_need: 0.1,
  limiter_headroom: 0.25,
  compressor_headroom: 0.15,
  jitter_margin: 0.15,
  declip_need: 0.25,
});
export type SettingsComponent = keyof typeof SETTINGS_WEIGHTS;

type Params = Readonly<Record<string, number>>;

function component(name: SettingsComponent, value: number, score: number, detail: string): ScoreComponent {
  return { name, value, score, weight: SETTINGS_WEIGHTS[name], detail };
}

/**
 * The settings components of a snapshot, from the parameters it ran with; empty for a station
 * without the parameters concerned. `speechLevelDbov` is the output's speech level (scorecard's).
 */
export function settingsComponents(
  s: StationSnapshot,
  params: Params,
  speechLevelDbov: number | null,
): ScoreComponent[] {
  const out: ScoreComponent[] = [];
  const hp = params['highpass_cutoff_hz'];
  if (hp !== undefined) {
    const wide = wideband(s);
    const free = wide
      ? WIDEBAND_HIGHPASS_FREE_HZ
      : inputClean(s)
        ? CLEAN_NARROWBAND_HIGHPASS_FREE_HZ
        : HIGHPASS_FREE_HZ;
    const sc = 1 - ramp(hp, free, wide ? WIDEBAND_HIGHPASS_ZERO_HZ : HIGHPASS_ZERO_HZ);
    const band = wide ? 'wideband' : 'narrowband';
    out.push(
      component(
        'voice_band',
        hp,
        sc,
        sc >= 1
          ? `high-pass at ${fmt(hp, 0)} Hz leaves the ${band} voice alone`
          : `high-pass at ${fmt(hp, 0)} Hz cuts into the ${band} voice (free up to ${free} Hz)`,
      ),
    );
  }
  const gate = params['noise_gate_threshold_dbfs'];
  const atGate = speechAtGate(s, params, speechLevelDbov);
  if (gate !== undefined && atGate !== null) {
    const margin = atGate.level - gate;
    const cleanWide = wideband(s) && inputClean(s);
    const sc = cleanWide
      ? ramp(margin, WIDEBAND_GATE_ZERO_MARGIN_DB, WIDEBAND_GATE_FREE_MARGIN_DB)
      : ramp(margin, GATE_ZERO_MARGIN_DB, GATE_FREE_MARGIN_DB);
    out.push(
      component(
        'gate_margin',
        margin,
        sc,
        `gate at ${fmt(gate)} dBFS sits ${fmt(margin)} dB under the speech level ${atGate.where}${sc < 1 ? ': it closes on quiet syllables' : ''}`,
      ),
    );
  }
  const ns = params['noise_suppression_db'];
  const excess = ns === undefined ? null : suppressionExcess(s, ns);
  if (ns !== undefined && excess !== null) {
    const sc = excessScore(excess);
    out.push(
      component(
        'suppression_need',
        excess,
        sc,
        excess <= EXCESS_FREE_DB
          ? `${fmt(ns, 0)} dB of suppression for what the noise needs`
          : `about ${fmt(excess, 0)} dB of the ${fmt(ns, 0)} dB suppression is more than the noise needs`,
      ),
    );
  }
  const rnnoise = rnnoiseComponent(s, params);
  if (rnnoise) out.push(rnnoise);
  const ceiling = params['limiter_ceiling_dbfs'];
  if (ceiling !== undefined && speechLevelDbov !== null) {
    const headroom = ceiling - speechLevelDbov;
    const sc = ramp(headroom, LIMITER_ZERO_HEADROOM_DB, LIMITER_FREE_HEADROOM_DB);
    out.push(
      component(
        'limiter_headroom',
        headroom,
        sc,
        `limiter ceiling ${fmt(ceiling)} dBFS sits ${fmt(headroom)} dB over the speech level${sc < 1 ? ': it flattens speech peaks' : ''}`,
      ),
    );
  }
  const comp = compressorComponent(params, speechLevelDbov);
  if (comp) out.push(comp);
  const jitter = jitterComponent(s, params);
  if (jitter) out.push(jitter);
  const declip = declipComponent(s, params);
  if (declip) out.push(declip);
  const hum = humComponent(s, params);
  if (hum) out.push(hum);
  return out;
}

/** The RNNoise guard: the network switched on over an input that holds no noise (above). */
function rnnoiseComponent(s: StationSnapshot, params: Params): ScoreComponent | null {
  const on = params['rnnoise_enabled'];
  const margin = inputNoiseMargin(s);
  if (on === undefined || on < 0.5 || margin === null) return null;
  const sc = 1 - ramp(margin, RNNOISE_FREE_MARGIN_DB, RNNOISE_ZERO_MARGIN_DB);
  const seen = `RNNoise is on over an input whose noise floor sits ${fmt(margin)} dB under its speech peaks`;
  return component('rnnoise_need', margin, sc, sc < 1 ? `${seen}: it has no noise to take out` : seen);
}

/** The declipper guard: input that arrives clipped, with the declipper off. */
function declipComponent(s: StationSnapshot, params: Params): ScoreComponent | null {
  const on = params['declip_enabled'];
  const ratio = s.metrics.input_clipping_ratio;
  if (on === undefined || ratio === null || ratio === undefined || !(ratio > 0)) return null;
  const seen = `${fmt(100 * ratio, 3)}% of the input's samples arrive clipped`;
  if (on >= 0.5) return component('declip_need', ratio, 1, `${seen}: the declipper restores them`);
  const sc = 1 - ramp(Math.log10(ratio), CLIP_FREE_LOG10, CLIP_ZERO_LOG10);
  return component('declip_need', ratio, sc, sc < 1 ? `${seen}, the declipper is off` : seen);
}

/** The hum canceller guard: a hum family in the input (HUM_NEED_FREE_LOG10), the canceller off. */
function humComponent(s: StationSnapshot, params: Params): ScoreComponent | null {
  const on = params['hum_canceller_enabled'];
  const ratio = s.metrics.input_hum_ratio;
  if (on === undefined || ratio === null || ratio === undefined || !(ratio > 0)) return null;
  const seen = `a hum family holds ${fmt(100 * ratio, 3)}% of the input's energy`;
  if (on >= 0.5) return component('hum_need', ratio, 1, `${seen}: the hum canceller notches it`);
  const sc = 1 - ramp(Math.log10(ratio), HUM_NEED_FREE_LOG10, HUM_NEED_ZERO_LOG10);
  return component('hum_need', ratio, sc, sc < 1 ? `${seen}, the hum canceller is off` : seen);
}

/**
 * The speech level where the gate is: the input's (metrics.input_speech_level_dbov) plus the input
 * gain, which is what the gate, before the AGC, meets. The output's level reads the AGC's lift too: a
 * talker 35 dB down put the gate 23 dB under his speech while the output's level said 35 (generated
 * profile gen-7-0 station 3: PESQ 4.51 -> 4.32 for the gate alone at -58.6 dBFS, with the guard
 * silent). Snapshots without the input's level fall back to the output's.
 */
export function speechAtGate(
  s: StationSnapshot,
  params: Params,
  outputLevelDbov: number | null,
): { level: number; where: string } | null {
  const input = s.metrics.input_speech_level_dbov;
  if (input !== null && input !== undefined && Number.isFinite(input)) {
    return { level: input + (params['input_gain_db'] ?? 0), where: 'at its input' };
  }
  return outputLevelDbov === null ? null : { level: outputLevelDbov, where: 'at the output' };
}

/**
 * Whether `ns` dB of spectral suppression would leave its guard at or over SETTINGS_ACT: the noise rule
 * does not raise the suppression past that, or it and the guard's easing would take turns (seen on the
 * generated profiles: 12 -> 18 -> 12 -> 18 dB where the blind SNR read hum as noise and the input's
 * margin read no noise at all).
 */
export function suppressionWelcome(s: StationSnapshot, ns: number): boolean {
  const excess = suppressionExcess(s, ns);
  return excess === null || excessScore(excess) >= SETTINGS_ACT;
}

/** The suppression guard's score for `excess` dB of suppression the noise had no use for. */
function excessScore(excess: number): number {
  return 1 - ramp(excess, EXCESS_FREE_DB, EXCESS_ZERO_DB);
}

/**
 * How much of `ns` dB of spectral suppression the noise had no use for. From the input's noise margin
 * where the snapshot has it: the suppression that brings the input's floor down to
 * NS_ENOUGH_MARGIN_DB under its speech peaks is used, the rest is excess (clean input: all of it).
 * Without it (an agent of before the metric), from the output's SNR above full credit, which reads the
 * suppression's own work as headroom: on the TTS leg's 26-46 dB-SNR noise the default 12 dB read as
 * pure excess while PESQ preferred it to 4.5 dB by 0.1-0.4 (generated profiles, seeds 1-5).
 */
function suppressionExcess(s: StationSnapshot, ns: number): number | null {
  const margin = s.metrics.input_noise_margin_db;
  if (margin !== null && margin !== undefined && Number.isFinite(margin)) {
    return Math.max(0, ns - Math.max(0, NS_ENOUGH_MARGIN_DB - margin));
  }
  const snr = s.metrics.audio.snr_db;
  if (!Number.isFinite(snr)) return null;
  return Math.min(ns, Math.max(0, snr - (s.targets.min_snr_db + SNR_FULL_ABOVE_DB)));
}

/** The compressor guard: a threshold close to the speech level compresses every syllable. */
function compressorComponent(params: Params, speechLevelDbov: number | null): ScoreComponent | null {
  const threshold = params['compressor_threshold_dbfs'];
  const ratio = params['compressor_ratio'];
  if (threshold === undefined || ratio === undefined || speechLevelDbov === null) return null;
  const target = params['agc_target_dbfs'];
  const agcThere =
    target !== undefined && target > speechLevelDbov && target - speechLevelDbov <= AGC_AT_TARGET_DB;
  const headroom = threshold - (agcThere ? target : speechLevelDbov);
  const line = `compressor threshold ${fmt(threshold)} dBFS sits ${fmt(headroom)} dB over the speech level`;
  if (ratio <= 1) return component('compressor_headroom', headroom, 1, `${line}, at ratio 1 (off)`);
  const sc = ramp(headroom, COMPRESSOR_ZERO_HEADROOM_DB, COMPRESSOR_FREE_HEADROOM_DB);
  return component(
    'compressor_headroom',
    headroom,
    sc,
    sc < 1 ? `${line}: it compresses every syllable` : line,
  );
}

/** The jitter-buffer guard: a buffer short of the measured jitter on a line that loses packets. */
function jitterComponent(s: StationSnapshot, params: Params): ScoreComponent | null {
  const jb = params['jitter_buffer_ms'];
  const n = s.metrics.network;
  if (jb === undefined || !n || !(n.packet_loss_ratio > JITTER_LOSSY) || !(n.jitter_ms > 0)) return null;
  const mult = jb / n.jitter_ms;
  const sc = ramp(mult, JITTER_ZERO_MULT, JITTER_FREE_MULT);
  const line = `jitter buffer ${fmt(jb, 0)} ms is ${fmt(mult, 1)}x the ${fmt(n.jitter_ms)} ms jitter on a line losing ${fmt(100 * n.packet_loss_ratio, 1)}%`;
  return component('jitter_margin', mult, sc, sc < 1 ? `${line}: late packets are discarded` : line);
}

/** Per guard, the parameter that eases it and the way (-1 down, +1 up), and how far the rule goes. */
const GENTLER: Readonly<Record<string, { param: string; why: string; dir: 1 | -1; until?: number }>> = {
  voice_band: { param: 'highpass_cutoff_hz', why: 'lowering the high-pass', dir: -1 },
  gate_margin: { param: 'noise_gate_threshold_dbfs', why: 'lowering the gate', dir: -1 },
  suppression_need: { param: 'noise_suppression_db', why: 'easing the suppression', dir: -1 },
  rnnoise_need: { param: 'rnnoise_enabled', why: 'switching RNNoise off', dir: -1 },
  // Not past -1 dBFS: that is where the clipping rule puts a ceiling that peaks press against.
  limiter_headroom: { param: 'limiter_ceiling_dbfs', why: 'raising the limiter ceiling', dir: 1, until: -1 },
  compressor_headroom: {
    param: 'compressor_threshold_dbfs',
    why: 'raising the compressor threshold',
    dir: 1,
  },
  // Cold: the declipper joins the chain at the station's next call.
  declip_need: { param: 'declip_enabled', why: 'switching the declipper on for the next call', dir: 1 },
};

/**
 * The controller's rule for the guards: a setting whose guard scores under SETTINGS_ACT is eased off
 * one max step, or switched on where the guard asks for a block (the declipper); the high-pass not
 * while hum is still there (then it earns its cutoff), the limiter ceiling not past -1 dBFS.
 */
export function settingsFinding(r: RuleContext, humPresent: boolean): Finding | null {
  const moves: Move[] = [];
  const seen: string[] = [];
  let priority = 0;
  for (const comp of r.score.components) {
    const g = GENTLER[comp.name];
    const spec = g ? r.specs.get(g.param) : undefined;
    if (!g || !spec || comp.score >= SETTINGS_ACT) continue;
    if (g.param === 'highpass_cutoff_hz' && humPresent) continue;
    const b = effectiveBounds(spec, r.snapshot.constraints);
    const v = r.params[g.param] ?? spec.default;
    const end = g.dir < 0 ? b.lo : Math.min(b.hi, g.until ?? b.hi);
    if (b.frozen || g.dir * (end - v) <= 1e-9) continue;
    seen.push(comp.detail);
    priority += comp.weight * (1 - comp.score);
    const desired = g.dir < 0 ? Math.max(end, v - spec.max_step) : Math.min(end, v + spec.max_step);
    moves.push({ name: g.param, desired, reason: `${comp.detail}: ${g.why}` });
  }
  return moves.length ? { rule: 'settings', priority, observation: seen.join('; '), moves } : null;
}
