// A dependency outage said once, not once per request: while PostgreSQL, Kafka, the schema registry or
// the object store is down, every request that needs it is refused with 503, and logging each refusal
// at error level with a stack trace buries everything else. The first refusal logs the outage at warn,
// in words naming the dependency; later refusals only count (a metric, and the number in the closing
// line); a probe of that dependency (the readiness check) then runs every second and, once it answers,
// logs that the outage is over with its length and the number refused. Unexpected errors stay errors.
// Consumers use it without a probe: a batch that fails because a dependency is down is held and tried
// again (streams/roleConsumer.ts), and the first attempt that succeeds ends the outage (`recovered`).
import type { Counter } from 'prom-client';
import { VoiceloopError } from './errors.ts';
import type { Logger } from './log.ts';

export type Dependency = 'postgres' | 'kafka' | 'schema_registry' | 'object_store';

const NAMES: Record<Dependency, string> = {
  postgres: 'PostgreSQL',
  kafka: 'Kafka',
  schema_registry: 'the schema registry',
  object_store: 'the object store (S3)',
};

const BY_CODE: Partial<Record<VoiceloopError['code'], Dependency>> = {
  DATABASE: 'postgres',
  KAFKA: 'kafka',
  SCHEMA_REGISTRY: 'schema_registry',
  OBJECT_STORE: 'object_store',
};

/** The dependency a retriable error says is unavailable, if it says one. */
export function unavailableDependency(err: unknown): Dependency | undefined {
  return err instanceof VoiceloopError && err.canRetry ? BY_CODE[err.code] : undefined;
}

export interface OutageLogOptions {
  log: Logger;
  /** Requests refused because the dependency was down, labelled by dependency. */
  refusals?: Counter<'dependency'>;
  /**
   * True once the dependency answers again (a failed probe may also throw). Without a probe an outage
   * ends only when the owner says so (`recovered`).
   */
  probe?(dependency: Dependency): Promise<boolean>;
  probeEveryMs?: number;
  now?: () => number;
  /** What happens meanwhile, for the opening line (default: the API's 503 with Retry-After). */
  meanwhile?: string;
  /** What `refused` counts, for the closing line (default: "request(s) were refused"). */
  counted?: string;
}

interface Open {
  since: number;
  refused: number;
  timer: NodeJS.Timeout | undefined;
  probing: boolean;
}

export class OutageLog {
  private readonly open = new Map<Dependency, Open>();

  constructor(private readonly opts: OutageLogOptions) {}

  /** A request refused because `dependency` is down: the first of an outage is logged, every one counted. */
  refused(dependency: Dependency, err: unknown): void {
    this.opts.refusals?.inc({ dependency });
    const current = this.open.get(dependency);
    if (current) {
      current.refused++;
      return;
    }
    const now = this.opts.now ?? Date.now;
    const entry: Open = { since: now(), refused: 1, probing: false, timer: undefined };
    if (this.opts.probe) {
      entry.timer = setInterval(() => void this.poll(dependency, entry), this.opts.probeEveryMs ?? 1_000);
      entry.timer.unref();
    }
    this.open.set(dependency, entry);
    const meanwhile =
      this.opts.meanwhile ?? 'requests that need it are answered 503 with Retry-After until it answers again';
    this.opts.log.warn(
      { dependency, err: (err as Error).message },
      `${NAMES[dependency]} is unavailable (${(err as Error).message}): ${meanwhile}`,
    );
  }

  /** The dependency (by default every one open) answered again: its outage ends, logged with its length. */
  recovered(dependency?: Dependency): void {
    for (const [d, entry] of [...this.open])
      if (dependency === undefined || d === dependency) this.end(d, entry);
  }

  /** Dependencies currently considered down. */
  get down(): Dependency[] {
    return [...this.open.keys()];
  }

  private async poll(dependency: Dependency, entry: Open): Promise<void> {
    if (entry.probing) return;
    entry.probing = true;
    const up = await this.opts.probe!(dependency).catch(() => false);
    entry.probing = false;
    if (!up || this.open.get(dependency) !== entry) return;
    this.end(dependency, entry);
  }

  private end(dependency: Dependency, entry: Open): void {
    this.close(dependency, entry);
    const seconds = (((this.opts.now ?? Date.now)() - entry.since) / 1000).toFixed(1);
    this.opts.log.warn(
      { dependency, outage_s: Number(seconds), refused: entry.refused },
      `${NAMES[dependency]} answers again after ${seconds} s; ${entry.refused} ${this.opts.counted ?? 'request(s) were refused'} meanwhile`,
    );
  }

  private close(dependency: Dependency, entry: Open): void {
    clearInterval(entry.timer);
    this.open.delete(dependency);
  }

  /** Stops the probes (the process is shutting down). */
  stop(): void {
    for (const [dependency, entry] of this.open) this.close(dependency, entry);
  }
}
