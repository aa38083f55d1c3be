// What a station's stage engine adds to a processed segment (issue 14): the recognizer at station 4,
// the emotion analyzer at station 11. The DSP step stays pure (stations/pipeline.ts); an engine runs
// after it on the station's output, asynchronously, and its figures go into the same snapshot.
import type { Metrics } from '../contracts/generated.ts';
import type { StationInput } from '../stations/pipeline.ts';

export interface StageContext {
  /** One call of one station: engines keep per-call state (the output so far) under it. */
  callKey: string;
  input: StationInput;
  /** The station's output for the segment (what it passes on), as long as the input. */
  output: Float32Array;
  /** The chain's delay: output sample i + latencySamples is input sample i. */
  latencySamples: number;
}

export type StageMetrics = Partial<
  Pick<Metrics, 'stt_confidence' | 'stt_word_error_rate' | 'emotion_confidence'>
>;

export interface StageMeasurement {
  metrics: StageMetrics;
  /** Which engine measured (and, for a model, that it is one): every snapshot says so. */
  labels: Record<string, string>;
}

export interface StageEngine {
  /** The station whose stage metric this engine measures. */
  readonly stationId: number;
  measure(ctx: StageContext): Promise<StageMeasurement>;
  endCall(callKey: string): void;
  close(): Promise<void>;
}
