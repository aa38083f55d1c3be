// The recognizer's WER for a parameter set on a whole simulated call: the call's station input re-run
// through a fresh chain with the set, every utterance cut from the output and recognized. How the demo
// reports station 4's WER with the catalog defaults and with the set the loop ended the call with.
import { createStationState, processSegment, type StationInput } from '../../stations/pipeline.ts';
import { createSttStage } from './stage.ts';
import type { SpeechRecognizer } from './types.ts';
import type { WerTally } from './wer.ts';

export async function callWer(
  recognizer: SpeechRecognizer,
  stationId: number,
  params: Record<string, number>,
  inputs: readonly StationInput[],
): Promise<WerTally[]> {
  const first = inputs[0];
  if (first === undefined) return [];
  const tallies: WerTally[] = [];
  const stage = createSttStage(recognizer, {
    stationId,
    onUtterance: (r) => {
      if (r.tally) tallies.push(r.tally);
    },
  });
  const state = createStationState(stationId, params, first.sampleRate);
  for (const input of inputs) {
    const { output } = processSegment(state, params, input);
    await stage.measure({ callKey: 'eval', input, output, latencySamples: state.chain.latencySamples });
  }
  return tallies;
}
