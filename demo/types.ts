// The demo's summary: what the live loop measured and the offline evaluation found, per station and
// over the pipeline (printed by report.ts, written as JSON with --json).

import type { DemoArgs } from './args.ts';
import type { RtpLegFigures } from './rtpLegs.ts';

export interface StationSummary {
  station_id: number;
  component: string;
  /**
   * Scores and reference qualities of parameter sets re-run on the same audio (each call's last
   * EVAL_SEGMENTS segments): the catalog defaults, each call's final set, the offline search's best.
   */
  default_score: number;
  final_score: number;
  best_offline_score: number;
  /** final / best offline. */
  ratio_to_best: number;
  /** Mean over calls of the first iteration whose score is within 5% of the offline best (1-based; null = never). */
  iterations_to_within_5pct: number | null;
  ref_quality_before_db: number | null;
  ref_quality_after_db: number | null;
  /** PESQ (MOS-LQO) and STOI of the defaults', final and best sets' output against the clean speech. */
  pesq_before: number | null;
  pesq_after: number | null;
  pesq_best: number | null;
  stoi_before: number | null;
  stoi_after: number | null;
  /** Live scores as the loop saw them: first iteration and last two, per call (content varies). */
  live_first_score: number;
  live_final_score: number;
  changes: number;
  rejected: number;
  rollbacks: number;
  /**
   * Station 4: the recognizer's WER on every utterance of the calls, re-run with the catalog defaults
   * and with each call's final set (null elsewhere or without transcripts).
   */
  wer_before: number | null;
  wer_after: number | null;
  /** Station 9: mean measured TTS latency (synthesis time to audio + chain delay) of the live snapshots. */
  tts_latency_ms: number | null;
  /** Per call and iteration: the running set's score on the call's yardstick audio. */
  trajectory: number[][];
  final_params: Record<string, number>;
  best_params: Record<string, number>;
}

export interface DemoSummary {
  started_at: string;
  machine: { host: string; node: string };
  args: Omit<DemoArgs, 'quiet' | 'serve'>;
  tenant_id: string;
  /** The operator console of the run's API (serving after the run only with --serve). */
  console_url: string | null;
  stations: StationSummary[];
  mean: {
    default_score: number;
    final_score: number;
    best_offline_score: number;
    ratio_to_best: number;
    ref_quality_before_db: number;
    ref_quality_after_db: number;
    pesq_before: number;
    pesq_after: number;
    stoi_before: number;
    stoi_after: number;
    /** Per call: the first iteration whose mean score (over stations) is within 5% of the mean best. */
    iterations_to_within_5pct: number[] | null;
    /** Per call and iteration: the mean over stations of the running sets' scores. */
    trajectory: number[][];
    /** Per call: the mean over stations of the best score on that call's audio. */
    best_per_call: number[];
  };
  /** The gateway stations' RTP legs, as their own RTCP counted them. */
  rtp: RtpLegFigures[];
  /** Applied parameters outside catalog bounds / steps between iterations beyond max_step (must be 0). */
  bounds_violations: number;
  max_step_violations: number;
  per_iteration: {
    call: number;
    iteration: number;
    scores: Record<string, number>;
    ref: Record<string, number | null>;
  }[];
}
