// Replay labels: where a snapshot says the audio counterfactual replay needs is stored (pure).
//
// A station agent uploads the audio its DSP chain *put out* (snapshot.audio). Re-running that through
// the chain would process it twice, so counterfactual replay needs the audio as it *arrived* at the
// station. A station that keeps its input for replay uploads it beside the output and names it in the
// snapshot's free `labels` (no schema change; the keys are content-addressed objects of the snapshot's
// tenant in the same audio store):
//   replay.input_key      PCM s16le mono the station received (required for replay)
//   replay.reference_key  the clean signal, time-aligned with the input (only a simulator has it)
//   replay.far_end_key    the far-end (echo reference) signal, for stations with an echo canceller
//   replay.sample_rate    sample rate of the three (else snapshot.audio.sample_rate)
// Alternatively `audio.tap = input` says snapshot.audio itself is the input.

import { stationById } from '../catalog/index.ts';
import type { StationSnapshot } from '../contracts/generated.ts';
import { isAudioKey } from './audioKeys.ts';
import { SAMPLE_RATES } from './snapshot.ts';

export const INPUT_KEY_LABEL = 'replay.input_key';
export const REFERENCE_KEY_LABEL = 'replay.reference_key';
export const FAR_END_KEY_LABEL = 'replay.far_end_key';
export const SAMPLE_RATE_LABEL = 'replay.sample_rate';
export const AUDIO_TAP_LABEL = 'audio.tap';

export interface ReplaySource {
  inputKey: string;
  referenceKey: string | null;
  farEndKey: string | null;
  sampleRate: number;
}

export type ReplayCheck = { ok: true; source: ReplaySource } | { ok: false; reason: string };

/** Reasons a snapshot cannot be replayed, as stable keys for the run's counts. */
export const NOT_REPLAYABLE = {
  network: 'network station: its input is an RTP packet trace, not PCM',
  outputOnly: 'only the processed output is stored (no replay.input_key label)',
  foreignKey: 'an audio key of another tenant or not from the audio store',
  sampleRate: 'no usable sample rate',
} as const;

function ownKey(key: string | undefined, tenant: string): string | null | false {
  if (key === undefined || key === '') return null;
  return isAudioKey(key) && key.startsWith(`audio/v1/${tenant}/`) ? key : false;
}

/** Where the input (and the reference) of a snapshot are, or why it cannot be replayed. */
export function replaySource(s: StationSnapshot): ReplayCheck {
  if (stationById(s.station_id)?.network) return { ok: false, reason: NOT_REPLAYABLE.network };
  const l = s.labels;
  const tapInput = l[AUDIO_TAP_LABEL] === 'input' && s.audio !== null;
  const input = ownKey(tapInput ? s.audio!.storage_key : l[INPUT_KEY_LABEL], s.tenant_id);
  if (input === null) return { ok: false, reason: NOT_REPLAYABLE.outputOnly };
  const reference = ownKey(l[REFERENCE_KEY_LABEL], s.tenant_id);
  const farEnd = ownKey(l[FAR_END_KEY_LABEL], s.tenant_id);
  if (input === false || reference === false || farEnd === false)
    return { ok: false, reason: NOT_REPLAYABLE.foreignKey };
  const rate = l[SAMPLE_RATE_LABEL] !== undefined ? Number(l[SAMPLE_RATE_LABEL]) : s.audio?.sample_rate;
  if (rate === undefined || !(SAMPLE_RATES as readonly number[]).includes(rate))
    return { ok: false, reason: NOT_REPLAYABLE.sampleRate };
  return {
    ok: true,
    source: { inputKey: input, referenceKey: reference, farEndKey: farEnd, sampleRate: rate },
  };
}
