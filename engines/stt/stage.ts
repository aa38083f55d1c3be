// Station 4's stage engine: the recognizer (pocketsphinx or Deepgram) hears what the station passes
// on. Given a simulator's utterances (prompts with their transcripts) it recognizes each one that ends
// in the segment, cut from the call's output so far, and reports the words' mean confidence and the
// pooled WER; without them (a live call) the segment itself is one utterance and only the confidence
// is known.
import type { Utterance } from '../../stations/pipeline.ts';
import type { StageContext, StageEngine, StageMeasurement } from '../stage.ts';
import { normalizeHypothesis } from './transcripts.ts';
import type { SpeechRecognizer } from './types.ts';
import { pooledWer, tally, type WerTally } from './wer.ts';

/** Audio kept around an utterance so a word's onset or tail is not cut, ms. */
const MARGIN_MS = 150;
/** Output kept per call for utterances that span segments, s. */
const KEEP_S = 60;

interface CallOutput {
  /** Output samples from `offset` (in samples since the call started) on. */
  samples: Float32Array;
  offset: number;
}

export interface UtteranceResult {
  words: number;
  confidenceSum: number;
  tally: WerTally | null;
}

/** Recognizes `audio[from, to)` and scores it against `reference` (if any). */
export async function recognizeUtterance(
  recognizer: SpeechRecognizer,
  audio: Float32Array,
  sampleRate: number,
  reference: readonly string[] | null,
): Promise<UtteranceResult> {
  const r = await recognizer.recognize(audio, sampleRate);
  const hyp = normalizeHypothesis(r.words.length > 0 ? r.words.map((w) => w.word).join(' ') : r.text);
  return {
    words: r.words.length,
    confidenceSum: r.words.reduce((a, w) => a + w.confidence, 0),
    tally: reference === null ? null : tally(reference, hyp),
  };
}

/** The part of the call's output that carries `u` (input coordinates), with margins. */
export function utteranceAudio(
  out: { samples: Float32Array; offset: number },
  u: Utterance,
  latencySamples: number,
  sampleRate: number,
): Float32Array {
  const margin = Math.round((MARGIN_MS / 1000) * sampleRate);
  const from = Math.max(0, u.start + latencySamples - margin - out.offset);
  const to = Math.min(out.samples.length, u.end + latencySamples + margin - out.offset);
  return out.samples.subarray(from, Math.max(from, to));
}

export interface SttStageOptions {
  stationId?: number;
  /** Told every utterance's result (e.g. to pool a WER over a whole call). */
  onUtterance?: (r: UtteranceResult) => void;
}

export function createSttStage(recognizer: SpeechRecognizer, opts: SttStageOptions = {}): StageEngine {
  const stationId = opts.stationId ?? 4;
  const calls = new Map<string, CallOutput>();

  const append = (key: string, output: Float32Array, sampleRate: number): CallOutput => {
    const prev = calls.get(key) ?? { samples: new Float32Array(0), offset: 0 };
    const joined = new Float32Array(prev.samples.length + output.length);
    joined.set(prev.samples);
    joined.set(output, prev.samples.length);
    const drop = Math.max(0, joined.length - KEEP_S * sampleRate);
    const next = { samples: joined.subarray(drop), offset: prev.offset + drop };
    calls.set(key, next);
    return next;
  };

  return {
    stationId,
    async measure(ctx: StageContext): Promise<StageMeasurement> {
      const sr = ctx.input.sampleRate;
      const out = append(ctx.callKey, ctx.output, sr);
      const labels: Record<string, string> = { stt_engine: recognizer.name };
      const results: UtteranceResult[] = [];
      if (ctx.input.utterances === undefined) {
        results.push(await recognizeUtterance(recognizer, ctx.output, sr, null));
      } else {
        for (const u of ctx.input.utterances) {
          const audio = utteranceAudio(out, u, ctx.latencySamples, sr);
          if (audio.length === 0) continue;
          const r = await recognizeUtterance(recognizer, audio, sr, u.words);
          opts.onUtterance?.(r);
          results.push(r);
        }
      }
      // An utterance known to be there that yields no word counts as one word at confidence 0: a
      // feed too quiet to recognize must not drop out of the score.
      const known = ctx.input.utterances !== undefined;
      const words = results.reduce((a, r) => a + (known ? Math.max(1, r.words) : r.words), 0);
      const tallies = results.flatMap((r) => (r.tally ? [r.tally] : []));
      labels['stt_utterances'] = String(results.length);
      return {
        metrics: {
          stt_confidence: words > 0 ? results.reduce((a, r) => a + r.confidenceSum, 0) / words : null,
          stt_word_error_rate: pooledWer(tallies),
        },
        labels,
      };
    },
    endCall(callKey) {
      calls.delete(callKey);
    },
    close: () => recognizer.close(),
  };
}
