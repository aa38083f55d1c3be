// A simulated call: the caller's speech on the A leg, TTS-like speech on the B leg, and every station
// of an impairment set fed its own impaired copy, cut into segments the way a station agent sees them.
//
// Stations are measured independently: each one's input is the clean speech of its leg with only its
// own impairment applied; no station's output is cascaded into the next. That keeps every station's
// optimization attributable: a change at station 3 cannot move station 4's ground truth.

import { resample } from '../../audio/dsp/resampler.ts';
import { stationById } from '../../catalog/index.ts';
import { promptWords } from '../../engines/stt/transcripts.ts';
import type { StationInput, Utterance } from '../pipeline.ts';
import { impair } from './impair.ts';
import type { ImpairmentSet, NetworkImpairment, StationProfile } from './impairments.ts';
import { FRAME_MS, meanJitterDelayMs, packetize } from './network.ts';
import { rngFor, seedOf } from './random.ts';
import { NATIVE_RATE, type PromptSpan, type SpeechSourceKind, speechSource } from './speech.ts';

export interface SimulateCallOptions {
  impairments: ImpairmentSet;
  callIndex: number;
  seed: number;
  /** Segment length, ms; a whole number of 20 ms packet frames. Default 1000. */
  segmentMs?: number;
  segments: number;
  /** Where the recorded prompts are (default: the Debian asterisk-core-sounds-en-wav folder). */
  promptDir?: string;
  log?: (line: string) => void;
}

export interface SimStationInput extends StationInput {
  /** Context for the snapshot's labels: impairment set, kinds and values, speech source. */
  labels: Record<string, string>;
}

export interface SimSegment {
  index: number;
  startMs: number;
  endMs: number;
  inputs: Map<number, SimStationInput>;
}

export interface SimulatedCall {
  callId: string;
  tenantId: string;
  speechSource: SpeechSourceKind;
  segments: SimSegment[];
}

const NO_NETWORK: NetworkImpairment = {
  loss_pct: 0,
  burst_len: 1,
  jitter_ms: 0,
  delay_ms: 0,
  codec: 'linear',
};

function describe(p: StationProfile): Record<string, string> {
  const kinds: string[] = [];
  const out: Record<string, string> = { level_db: String(p.level_db) };
  if (p.noise) {
    kinds.push('noise');
    out['noise'] = `${p.noise.type}@${p.noise.snr_db}dB`;
  }
  if (p.hum) {
    kinds.push('hum');
    out['hum'] = `${p.hum.freq_hz}Hz@${p.hum.level_dbfs}dBFS`;
  }
  if (p.dc_offset !== undefined) {
    kinds.push('dc');
    out['dc_offset'] = String(p.dc_offset);
  }
  if (p.clip) {
    kinds.push('clip');
    out['clip_drive_db'] = String(p.clip.drive_db);
  }
  if (p.echo) {
    kinds.push('echo');
    out['echo'] = `${p.echo.delay_ms}ms@${p.echo.gain_db}dB`;
  }
  if (p.network) {
    kinds.push('network');
    const n = p.network;
    out['network'] =
      `loss${n.loss_pct}%xburst${n.burst_len},jitter${n.jitter_ms}ms,delay${n.delay_ms}ms,${n.codec}`;
  }
  out['impairments'] = kinds.length > 0 ? kinds.join(',') : 'none';
  return out;
}

/** The leg's prompts, at `rate`, that end inside the call (`length` samples), with their words. */
function utterancesAt(spans: readonly PromptSpan[], rate: number, length: number): Utterance[] {
  return spans
    .map((p) => ({
      start: Math.round((p.start * rate) / NATIVE_RATE),
      end: Math.round((p.end * rate) / NATIVE_RATE),
      words: promptWords(p.file),
      source: p.file,
    }))
    .filter((u) => u.end <= length);
}

/** Mean synthesis time of the synthesized prompts heard in samples [from, to) at `rate`. */
function synthesisMs(
  spans: readonly PromptSpan[],
  rate: number,
  from: number,
  to: number,
): number | undefined {
  const heard = spans.filter(
    (p) =>
      p.synthMs !== undefined && (p.start * rate) / NATIVE_RATE < to && (p.end * rate) / NATIVE_RATE > from,
  );
  return heard.length > 0 ? heard.reduce((a, p) => a + p.synthMs!, 0) / heard.length : undefined;
}

/**
 * Simulates call `callIndex` of run `seed`: every station of the impairment set, `segments` segments
 * of `segmentMs`. Deterministic for (impairments, seed, callIndex, segmentMs, segments).
 */
export function simulateCall(opts: SimulateCallOptions): SimulatedCall {
  const segmentMs = opts.segmentMs ?? 1000;
  if (!Number.isInteger(opts.segments) || opts.segments < 1) {
    throw new RangeError(`segments must be a positive integer, got ${opts.segments}`);
  }
  if (!(segmentMs > 0) || segmentMs % FRAME_MS !== 0) {
    throw new RangeError(`segmentMs must be a positive multiple of ${FRAME_MS} ms, got ${segmentMs}`);
  }
  const { impairments: set, callIndex, seed } = opts;
  const durationMs = opts.segments * segmentMs;
  const speechOpts = {
    durationMs,
    ...(opts.promptDir ? { promptDir: opts.promptDir } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  };
  const caller = speechSource(seedOf(seed, callIndex, 'caller'), { ...speechOpts, voice: 'caller' });
  const tts = speechSource(seedOf(seed, callIndex, 'tts'), { ...speechOpts, voice: 'tts' });
  const atRate = new Map<string, Float32Array>();
  const legAt = (leg: 'A' | 'B', rate: number): Float32Array => {
    const key = `${leg}/${rate}`;
    let x = atRate.get(key);
    if (x === undefined) {
      const src = (leg === 'A' ? caller : tts).samples;
      const want = Math.round((durationMs / 1000) * rate);
      const r = rate === NATIVE_RATE ? src : resample(src, NATIVE_RATE, rate);
      x = r.length === want ? r : Float32Array.from({ length: want }, (_, i) => r[i] ?? 0);
      atRate.set(key, x);
    }
    return x;
  };

  const segments: SimSegment[] = Array.from({ length: opts.segments }, (_, index) => ({
    index,
    startMs: index * segmentMs,
    endMs: (index + 1) * segmentMs,
    inputs: new Map(),
  }));

  for (const profile of set.stations) {
    const id = profile.stationId;
    const spec = stationById(id);
    if (spec === undefined) throw new RangeError(`impairment set ${set.name} names unknown station ${id}`);
    const rate = profile.sampleRate;
    const other = spec.leg === 'A' ? 'B' : 'A';
    const wantsFar = spec.dsp_blocks.includes('echo_canceller') || profile.echo !== undefined;
    const imp = impair(legAt(spec.leg, rate), profile, rngFor(seed, callIndex, id, 'impair'), {
      sampleRate: rate,
      ...(wantsFar ? { farEnd: legAt(other, rate) } : {}),
      ...(opts.promptDir ? { promptDir: opts.promptDir } : {}),
    });
    const seg = Math.round((segmentMs / 1000) * rate);
    const labels = {
      impairment_set: set.name,
      speech_source: caller.source,
      leg: spec.leg,
      ...describe(profile),
    };

    let packetsBySegment: StationInput['packets'][] | undefined;
    let networkDelayMs: number | undefined;
    let firstTimestamp: ((segment: number) => number) | undefined;
    if (spec.network) {
      const net = profile.network ?? NO_NETWORK;
      const rng = rngFor(seed, callIndex, id, 'network');
      const timestampBase = Math.floor(rng() * 2 ** 32);
      const frame = Math.round((rate * FRAME_MS) / 1000);
      const framesPerSegment = seg / frame;
      const packets = packetize(imp.samples, rate, net, rng, { timestampBase, frameMs: FRAME_MS });
      packetsBySegment = segments.map(() => []);
      for (const p of packets) {
        const k = Math.floor(((p.timestamp - timestampBase) >>> 0) / frame / framesPerSegment);
        packetsBySegment[k]?.push(p);
      }
      networkDelayMs = net.delay_ms + meanJitterDelayMs(net);
      firstTimestamp = (k) => (timestampBase + k * seg) >>> 0;
    }

    const clip = spec.leg === 'A' ? caller : tts;
    const utterances = utterancesAt(clip.spans, rate, seg * opts.segments);
    for (const s of segments) {
      const from = s.index * seg;
      const input: SimStationInput = {
        stationId: id,
        sampleRate: rate,
        samples: imp.samples.subarray(from, from + seg),
        clean: imp.clean.subarray(from, from + seg),
        labels,
        utterances: utterances.filter((u) => u.end > from && u.end <= from + seg),
      };
      if (imp.farEnd !== undefined && spec.dsp_blocks.includes('echo_canceller')) {
        input.farEnd = imp.farEnd.subarray(from, from + seg);
      }
      const pk = packetsBySegment?.[s.index];
      if (pk !== undefined) input.packets = pk;
      if (networkDelayMs !== undefined) input.networkDelayMs = networkDelayMs;
      if (firstTimestamp !== undefined) input.rtpTimestamp = firstTimestamp(s.index);
      if (spec.stage_metrics.includes('tts_latency_ms')) {
        const t = synthesisMs(clip.spans, rate, from, from + seg);
        if (t !== undefined) input.stage = { ttsLatencyMs: t };
      }
      s.inputs.set(id, input);
    }
  }

  return {
    callId: `sim-${set.name}-${seed}-${callIndex}`,
    tenantId: set.tenants[callIndex % set.tenants.length] as string,
    speechSource: caller.source,
    segments,
  };
}
