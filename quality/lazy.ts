// A judge opened on first use and shared by its callers: the batch optimizer needs PESQ and STOI only
// when the history it replays carries the clean speech (simulation), so a process that never meets
// such a history never starts Python (nor installs its environment).
import { openQualityJudge, type QualityJudge } from './judge.ts';

export interface LazyJudge {
  /** The judge, opened (and its environment installed) on the first call. */
  get(): Promise<QualityJudge>;
  /** Closes the judge if it was opened; a later get() opens a new one. */
  close(): Promise<void>;
}

export function lazyQualityJudge(open: () => Promise<QualityJudge> = () => openQualityJudge()): LazyJudge {
  let opening: Promise<QualityJudge> | null = null;
  return {
    get() {
      opening ??= open().catch((err: unknown) => {
        // A failed open is not cached: the next caller tries again (and sees its own error).
        opening = null;
        throw err;
      });
      return opening;
    },
    async close() {
      const p = opening;
      opening = null;
      if (p) await (await p.catch(() => null))?.close();
    },
  };
}
