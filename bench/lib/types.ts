// What a benchmark hands back: figures (one table row each, a value per run beside its baseline's
// values from the same run) and free-form details for the JSON (breakdowns, settings, notes).
import type { Settings } from '../../lib/settings.ts';
import type { Runtime } from '../../runtime/bootstrap.ts';

/** A goal from issue 5 / the brief. `on: 'ratio'` compares pipeline median / baseline median. */
export interface Goal {
  /** 'min': the value must be at least `value`; 'max': at most. */
  kind: 'min' | 'max';
  value: number;
  on: 'value' | 'ratio';
  text: string;
}

export interface Figure {
  bench: string;
  name: string;
  /** Unit of the samples, e.g. 'snapshots/s', 'ms', 'x real time'. */
  metric: string;
  higherIsBetter: boolean;
  /** One value per run. */
  samples: number[];
  baseline?: { name: string; samples: number[] };
  goal?: Goal;
  note?: string;
}

export interface BenchOutput {
  figures: Figure[];
  details?: Record<string, unknown>;
}

export interface BenchContext {
  quick: boolean;
  /** Settings with this run's own topic prefix and groups. */
  cfg: Readonly<Settings>;
  runId: string;
  /** Shared infrastructure (migrations, topics, registry), bootstrapped once per run. */
  runtime(): Promise<Runtime>;
  /** A tenant id unique to this run and label. */
  tenant(label: string): string;
  /** Cleanup that runs after every benchmark, whatever happened (last registered first). */
  defer(fn: () => unknown): void;
  log(line: string): void;
}

export interface Bench {
  name: string;
  title: string;
  /** Needs Kafka / registry / PostgreSQL / S3. */
  stack: boolean;
  run(ctx: BenchContext): Promise<BenchOutput>;
}
