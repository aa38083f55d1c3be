/** A streaming audio block: processes any number of samples in place and keeps its state between calls. */
export interface AudioBlock {
  /** Constant delay, in samples, between a sample going in and the same sample coming out. */
  readonly latency: number;
  process(buf: Float32Array): void;
  /** Forgets all signal state (a new call), keeping the current settings. */
  reset(): void;
}
