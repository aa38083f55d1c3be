// Stations keep what they measured (issue 9): while Kafka or the object store is unreachable, a station's
// snapshots (with their PCM) go to a bounded queue on local disk and are sent, in order, once the
// services answer again; a restarted agent sends its spool first. Each entry is one file written
// atomically (write, then rename) and removed only after Kafka has acknowledged it, so a crash never
// loses an entry; the snapshot_id is fixed before spooling, so a send that was acknowledged but not yet
// removed is stored once (the persister keeps one row per tenant and snapshot id).
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StationSnapshot } from '../contracts/generated.ts';
import { buildSnapshot, type SnapshotInput } from '../domain/snapshot.ts';
import { canRetry, VoiceloopError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { Pcm, StationProducer } from './stationProducer.ts';

export interface SpoolOptions {
  dir: string;
  /** Entries kept at most; beyond, a new snapshot is refused (and logged) rather than growing the disk. */
  maxEntries?: number;
  maxBytes?: number;
  /** A send that Kafka has not acknowledged within this is treated as unreachable and spooled. */
  sendTimeoutMs?: number;
  log: Logger;
}

interface Entry {
  snapshot: SnapshotInput;
  pcm?: { base64: string; sampleRate: number };
}

export interface SpoolingProducer {
  /** Publishes now, or spools when Kafka/S3 do not answer; resolves with the snapshot either way. */
  publish(input: SnapshotInput, pcm?: Pcm): Promise<StationSnapshot>;
  /** Entries waiting on disk. */
  readonly pending: number;
  /** Resolves once the spool is empty (or rejects after timeoutMs). */
  drained(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(
        () => reject(new VoiceloopError('TIMEOUT', `${what}: no answer within ${ms} ms`, { canRetry: true })),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The spool's files: one entry per file named by a sequence number, written then renamed. */
class DiskQueue {
  private files: string[];
  private bytes: number;
  private seq: number;

  constructor(
    private readonly dir: string,
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {
    mkdirSync(dir, { recursive: true });
    // Leftovers of a write interrupted before its rename are not entries.
    for (const f of readdirSync(dir)) if (f.endsWith('.tmp')) rmSync(join(dir, f), { force: true });
    this.files = this.scan();
    this.bytes = this.files.reduce((s, f) => s + statSync(join(dir, f)).size, 0);
    this.seq = this.files.length ? Number(this.files[this.files.length - 1]!.slice(0, 16)) + 1 : 1;
  }

  private scan(): string[] {
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
  }

  get length(): number {
    return this.files.length;
  }

  get head(): string | undefined {
    return this.files[0];
  }

  read(name: string): Entry {
    return JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as Entry;
  }

  append(e: Entry): void {
    const body = JSON.stringify(e);
    if (this.files.length >= this.maxEntries || this.bytes + body.length > this.maxBytes) {
      throw new VoiceloopError(
        'KAFKA',
        `spool full (${this.files.length} entries, ${this.bytes} bytes in ${this.dir}); snapshot ${e.snapshot.snapshot_id} refused`,
        { canRetry: true },
      );
    }
    const name = `${String(this.seq++).padStart(16, '0')}.json`;
    writeFileSync(join(this.dir, `${name}.tmp`), body);
    renameSync(join(this.dir, `${name}.tmp`), join(this.dir, name));
    this.files.push(name);
    this.bytes += body.length;
  }

  /** Removes the head entry (after Kafka acknowledged it, or when it can never be sent). */
  shift(): void {
    const name = this.files.shift();
    if (!name) return;
    const path = join(this.dir, name);
    this.bytes -= statSync(path, { throwIfNoEntry: false })?.size ?? 0;
    rmSync(path, { force: true });
  }

  /** Re-reads the directory (another process may have written entries). */
  reload(): void {
    this.files = this.scan();
  }
}

export function createSpoolingProducer(producer: StationProducer, opts: SpoolOptions): SpoolingProducer {
  const timeoutMs = opts.sendTimeoutMs ?? 2_000;
  const queue = new DiskQueue(opts.dir, opts.maxEntries ?? 100_000, opts.maxBytes ?? 1024 ** 3);
  let stopped = false;
  let draining: Promise<void> | null = null;
  let wake: (() => void) | null = null;

  function send(e: Entry): Promise<StationSnapshot> {
    const pcm = e.pcm
      ? { bytes: Buffer.from(e.pcm.base64, 'base64'), sampleRate: e.pcm.sampleRate }
      : undefined;
    return producer.publish(e.snapshot, pcm);
  }

  // The head entry's send still under way after a timeout: waited for again rather than sent anew, so
  // an outage does not pile up copies inside the Kafka client.
  let inflight: { name: string; p: Promise<StationSnapshot> } | null = null;

  async function drain(): Promise<void> {
    let backoff = 250;
    while (!stopped && queue.length > 0) {
      const name = queue.head!;
      try {
        if (inflight?.name !== name) {
          const p = send(queue.read(name));
          p.catch(() => {});
          inflight = { name, p };
        }
        await withTimeout(inflight.p, timeoutMs, 'publishing a spooled snapshot');
        inflight = null;
        queue.shift();
        backoff = 250;
      } catch (err) {
        if (!(err instanceof VoiceloopError && err.code === 'TIMEOUT')) inflight = null;
        if (!canRetry(err)) {
          // A snapshot the pipeline will never take (it was checked before spooling): drop it loudly.
          opts.log.error({ err: (err as Error).message, entry: name }, 'spooled snapshot refused; dropped');
          queue.shift();
          continue;
        }
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, backoff).unref();
        });
        wake = null;
        backoff = Math.min(5_000, backoff * 2);
      }
    }
  }

  function kick(): void {
    if (draining) {
      wake?.();
      return;
    }
    draining = drain().finally(() => {
      draining = null;
      if (!stopped && queue.length > 0) kick();
    });
  }
  if (queue.length > 0) {
    opts.log.info({ entries: queue.length }, 'sending the spool left by the last run first');
    kick();
  }

  return {
    async publish(input, pcm) {
      // The id is fixed now: every later attempt, from memory or from disk, is the same snapshot.
      const fixed: SnapshotInput = {
        ...input,
        snapshot_id: input.snapshot_id ?? buildSnapshot(input).snapshot_id,
      };
      const entry: Entry = {
        snapshot: fixed,
        ...(pcm
          ? { pcm: { base64: Buffer.from(pcm.bytes).toString('base64'), sampleRate: pcm.sampleRate } }
          : {}),
      };
      if (queue.length === 0) {
        try {
          return await withTimeout(send(entry), timeoutMs, 'publishing a snapshot');
        } catch (err) {
          if (!canRetry(err)) throw err;
          opts.log.warn({ err: (err as Error).message }, 'Kafka or the object store unreachable; spooling');
        }
      }
      // Behind earlier entries (order kept) or after a failed send.
      queue.append(entry);
      kick();
      return buildSnapshot(fixed);
    },
    get pending() {
      return queue.length;
    },
    async drained(timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      while (queue.length > 0) {
        if (Date.now() > deadline)
          throw new Error(`spool not drained within ${timeoutMs} ms (${queue.length} left)`);
        kick();
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      stopped = true;
      wake?.();
      await draining;
      queue.reload();
    },
  };
}
