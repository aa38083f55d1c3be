// Carries out the object-deletion journal (object_deletions): for the maintenance sweep (what it and
// any killed sweep decided) and for an erasure (the erased call's PCM, right after its commit).
import type { AudioStore } from '../storage/audioStore.ts';
import type { Pool } from '../storage/db.ts';
import * as store from '../storage/retention.ts';

export interface JournalDeps {
  pool: Pool;
  audio: Pick<AudioStore, 'delete' | 'modifiedMs'>;
}

export interface DrainOptions {
  /** Only these keys (else the whole journal). */
  keys?: string[];
  /** For the audio sweep's entries: an object written at or after this was stored again; it stays. */
  audioCutoff?: (key: string) => number;
  /** Throws to stop between objects. */
  check?: () => void;
  afterDelete?(key: string, n: number): Promise<void> | void;
}

/**
 * Deletes journalled objects no snapshot row refers to (and, for the audio sweep's entries, not written
 * again since). Every entry looked at leaves the journal, deleted or kept; how many were deleted.
 */
export async function deleteJournalled(deps: JournalDeps, o: DrainOptions = {}): Promise<number> {
  const { pool, audio } = deps;
  let deleted = 0;
  for (;;) {
    const batch = await store.journalled(pool, 500, o.keys);
    if (batch.length === 0) return deleted;
    const referenced = await store.referencedKeys(
      pool,
      batch.map((r) => r.object_key),
    );
    // A kept row refers to it again (the same audio stored for a newer snapshot): it stays.
    await store.unjournal(pool, [...referenced]);
    for (const r of batch) {
      if (referenced.has(r.object_key)) continue;
      o.check?.();
      if (r.reason === 'audio_retention' && o.audioCutoff) {
        const m = await audio.modifiedMs(r.object_key);
        if (m !== undefined && m >= o.audioCutoff(r.object_key)) {
          await store.unjournal(pool, [r.object_key]);
          continue;
        }
      }
      await audio.delete(r.object_key);
      await store.unjournal(pool, [r.object_key]);
      deleted++;
      await o.afterDelete?.(r.object_key, deleted);
    }
    if (o.keys) return deleted;
  }
}
