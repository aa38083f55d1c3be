// The live change feed behind GET /v1/events (issue 12): one poller per API process, running only while
// someone listens, reads the audit events the change path queued in the outbox (the same transaction
// that recorded the change, so nothing is announced that was not recorded) and sends each change to
// the streams of its tenant (and to admins). Polling the outbox, not Kafka, keeps a new listener live at
// once (no consumer group join) and works for every process that writes changes to this database.
import type { ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import type { ChangeReadRow } from '../storage/changeReads.ts';
import * as changeReads from '../storage/changeReads.ts';
import type { Pool } from '../storage/db.ts';

export interface ChangeFeedOptions {
  pool: Pool;
  stream: string;
  pollMs: number;
  log: FastifyBaseLogger;
  view: (c: ChangeReadRow) => unknown;
}

interface Listener {
  res: ServerResponse;
  /** null: every tenant (admin). */
  tenant: string | null;
}

/**
 * Outbox ids are taken at insert but become visible at commit, so a lower id can appear after a higher
 * one was read: each poll re-reads this far below the highest id seen and skips what it already sent.
 */
const REREAD_MARGIN = 500;
const SEEN_MAX = 5000;
const HEARTBEAT_MS = 15_000;

export class ChangeFeed {
  private readonly listeners = new Set<Listener>();
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private highest = -1;
  /** Events at or below this id predate the feed: never sent. */
  private floor = 0;
  private readonly seen = new Set<string>();
  private polling = false;
  private stopped = false;

  constructor(private readonly o: ChangeFeedOptions) {}

  /** Adds a stream; events from now on are written to it until it closes. */
  async subscribe(res: ServerResponse, tenant: string | null): Promise<void> {
    if (this.stopped) {
      res.end();
      return;
    }
    if (this.highest < 0) {
      this.highest = await changeReads.lastOutboxId(this.o.pool, this.o.stream);
      this.floor = this.highest;
    }
    const l: Listener = { res, tenant };
    this.listeners.add(l);
    res.on('close', () => {
      this.listeners.delete(l);
      if (this.listeners.size === 0) this.idle();
    });
    if (!this.timer) {
      this.timer = setInterval(() => void this.poll(), this.o.pollMs);
      this.heartbeat = setInterval(() => {
        for (const x of this.listeners) x.res.write(': keep-alive\n\n');
      }, HEARTBEAT_MS);
    }
  }

  /** Ends every stream (the server is closing). */
  stop(): void {
    this.stopped = true;
    this.idle();
    for (const l of this.listeners) l.res.end();
    this.listeners.clear();
  }

  private idle(): void {
    clearInterval(this.timer);
    clearInterval(this.heartbeat);
    this.timer = undefined;
    this.heartbeat = undefined;
  }

  private async poll(): Promise<void> {
    if (this.polling || this.listeners.size === 0) return;
    this.polling = true;
    try {
      const events = await changeReads.changeEventsAfter(
        this.o.pool,
        this.o.stream,
        Math.max(0, this.highest - REREAD_MARGIN),
        2000,
      );
      const fresh = events.filter((e) => Number(e.id) > this.floor && !this.seen.has(e.id));
      if (fresh.length === 0) return;
      const rows = await changeReads.changesById(
        this.o.pool,
        this.o.stream,
        fresh.map((e) => e.change_id),
      );
      for (const row of rows) {
        const data = `id: ${row.change_id}\nevent: change\ndata: ${JSON.stringify(this.o.view(row))}\n\n`;
        for (const l of this.listeners)
          if (l.tenant === null || l.tenant === row.tenant_id) l.res.write(data);
      }
      // Marked sent only once written: a failed poll leaves them for the next one.
      for (const e of fresh) {
        this.seen.add(e.id);
        this.highest = Math.max(this.highest, Number(e.id));
      }
      while (this.seen.size > SEEN_MAX) this.seen.delete(this.seen.values().next().value!);
    } catch (err) {
      // The next poll tries again; a listener sees a gap in time, not a lost change (the cursor stays).
      this.o.log.warn({ err: (err as Error).message }, 'change feed poll failed');
    } finally {
      this.polling = false;
    }
  }
}
