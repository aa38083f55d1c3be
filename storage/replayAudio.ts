// Loading and storing the audio counterfactual replay needs (the labels that name it: domain/replay.ts).
import { fromPcm16, toPcm16 } from '../domain/pcm.ts';
import {
  FAR_END_KEY_LABEL,
  INPUT_KEY_LABEL,
  REFERENCE_KEY_LABEL,
  type ReplaySource,
  SAMPLE_RATE_LABEL,
} from '../domain/replay.ts';
import type { AudioStore } from './audioStore.ts';

export interface ReplayAudio {
  samples: Float32Array;
  clean: Float32Array | null;
  farEnd: Float32Array | null;
  sampleRate: number;
}

/** Fetches (and checks against its content hash) the audio of one replayable snapshot. */
export async function loadReplayAudio(store: AudioStore, src: ReplaySource): Promise<ReplayAudio> {
  const [input, ref, far] = await Promise.all([
    store.get(src.inputKey),
    src.referenceKey ? store.get(src.referenceKey) : null,
    src.farEndKey ? store.get(src.farEndKey) : null,
  ]);
  const samples = fromPcm16(input);
  // A reference or far end of another length is not aligned with the input: better none than a wrong one.
  const same = (b: Buffer | null) => (b && b.byteLength === input.byteLength ? fromPcm16(b) : null);
  return { samples, clean: same(ref), farEnd: same(far), sampleRate: src.sampleRate };
}

/**
 * For a station (or simulator) that keeps its input for replay: uploads the input (and the clean
 * reference and far end, when known) and returns the labels to put on the snapshot.
 */
export async function storeReplayAudio(
  store: AudioStore,
  tenantId: string,
  a: { samples: Float32Array; sampleRate: number; clean?: Float32Array; farEnd?: Float32Array },
): Promise<Record<string, string>> {
  const [input, ref, far] = await Promise.all([
    store.put(tenantId, toPcm16(a.samples)),
    a.clean ? store.put(tenantId, toPcm16(a.clean)) : null,
    a.farEnd ? store.put(tenantId, toPcm16(a.farEnd)) : null,
  ]);
  return {
    [INPUT_KEY_LABEL]: input.storage_key,
    [SAMPLE_RATE_LABEL]: String(a.sampleRate),
    ...(ref ? { [REFERENCE_KEY_LABEL]: ref.storage_key } : {}),
    ...(far ? { [FAR_END_KEY_LABEL]: far.storage_key } : {}),
  };
}
