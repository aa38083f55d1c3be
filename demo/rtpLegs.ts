// The demo's gateway stations (2 and 10) on real RTP: for each call, the simulator's far end sends the
// call's impaired packets over UDP on loopback, each at the arrival time the network model gave it
// (so its losses and bursts are packets never sent, its delay and jitter real waits), and the station
// side receives them with their real arrival times, cuts segments on the wall clock and hands each to
// the agent with the session's own RTCP figures. The station sends its processed audio back as RTP, so
// it is an RTP sender too: the far end's receiver reports carry LSR/DLSR and give it the round trip;
// the far end holds what it receives and the RTCP it sends by the profile's one-way delay, so that
// round trip covers a network in both directions. Both sessions live on the media thread
// (media/rtp/mediaThread.ts): the demo's own DSP and Kafka work would otherwise bunch sends and
// arrivals into bursts no network made.
import { parameterByName } from '../catalog/index.ts';
import type { CodecName } from '../media/rtp/codecs.ts';
import type { MediaThread } from '../media/rtp/mediaThread.ts';
import { framesFrom } from '../media/rtp/pacer.ts';
import { Segmenter } from '../media/rtp/segmenter.ts';
import type { ReceptionFigures } from '../media/rtp/session.ts';
import { rtpLabels, transportOf } from '../stations/agent/rtpInput.ts';
import type { SimSegment, SimStationInput } from '../stations/sim/index.ts';

// Reports every second on average: a call of a few seconds sees several (RFC 3550 §6.2 lets a session
// scale its minimum interval down; the 5 s default would leave the first segments without a round trip).
const RTCP_INTERVAL_MS = 1000;
const HOLD_MS = (parameterByName('jitter_buffer_ms')?.max ?? 300) + 40;

export interface RtpLegFigures {
  station_id: number;
  codec: CodecName;
  /** Over the station's calls: packets expected and lost as its RTCP reports count them. */
  expected: number;
  cumulative_lost: number;
  /** Mean over calls of the last RFC 3550 jitter and round trip of each call. */
  jitter_ms: number;
  rtt_ms: number | null;
}

export interface RtpLeg {
  readonly codec: CodecName;
  /** The station's input for segment `index`: the simulator's context, the packets as they arrived. */
  segment(index: number, sim: SimStationInput): Promise<SimStationInput>;
  /** Sends the station's processed audio for a segment back out, one frame every 20 ms. */
  sendOutput(output: Float32Array): void;
  /** Ends the call (BYE on both sides); returns its RTCP figures. */
  close(): Promise<ReceptionFigures | null>;
}

const now = () => performance.timeOrigin + performance.now();

/** Starts one call's RTP leg for a network station: both sessions open and the far end sending. */
export async function startRtpLeg(
  media: MediaThread,
  stationId: number,
  segments: SimSegment[],
): Promise<RtpLeg> {
  const first = segments[0]?.inputs.get(stationId);
  if (!first?.packets) throw new Error(`station ${stationId} has no packet trace to send`);
  const codec: CodecName = first.labels['network']?.endsWith('pcmu') ? 'pcmu' : 'l16/8000';
  if (first.sampleRate !== 8000)
    throw new RangeError(`station ${stationId} runs at ${first.sampleRate} Hz, RTP leg wants 8000`);
  const delayMs = Number(/delay(\d+(?:\.\d+)?)ms/.exec(first.labels['network'] ?? '')?.[1] ?? 0);
  const station = await media.open({
    listen: { host: '127.0.0.1', port: 0 },
    codec,
    rtcpIntervalMs: RTCP_INTERVAL_MS,
  });
  const far = await media.open({
    listen: { host: '127.0.0.1', port: 0 },
    codec,
    remote: { host: '127.0.0.1', port: station.rtpPort },
    rtcpIntervalMs: RTCP_INTERVAL_MS,
    pathDelayMs: delayMs,
  });
  const seg = new Segmenter({ frameSamples: station.frameSamples, segmentMs: 1000, holdMs: HOLD_MS });
  const segmentMs = segments[0]!.endMs - segments[0]!.startMs;
  if (segmentMs !== 1000)
    throw new RangeError(`RTP legs cut 1000 ms segments, the simulator made ${segmentMs} ms`);
  station.onFrame((f) => seg.add(f));
  const waiters: (() => void)[] = [];
  const tick = setInterval(() => {
    const due = seg.dueAt();
    if (due !== undefined && due <= now()) for (const w of waiters.splice(0)) w();
  }, 5);

  // The far end: every packet of the call at its modelled arrival time from now.
  const t0 = now();
  far.schedule(
    segments.flatMap((s) =>
      (s.inputs.get(stationId)?.packets ?? []).map((p) => ({
        dueMs: t0 + p.arrivalMs,
        item: { samples: p.payload, seq: p.seq, timestamp: p.timestamp },
      })),
    ),
  );
  let outNext = 0;
  let last: ReceptionFigures | null = null;

  return {
    codec,
    async segment(index, sim) {
      if (index !== seg.nextIndex) throw new Error(`segment ${index} asked for, ${seg.nextIndex} is next`);
      for (;;) {
        const due = seg.dueAt();
        if (due !== undefined && due <= now()) break;
        await new Promise<void>((r) => waiters.push(r));
      }
      // A round trip to the media thread first: every frame it took in before the reply has been
      // handed over by then (a busy main thread may not have read them yet).
      const fig = await station.figures('segment');
      const cut = seg.cut();
      if (fig) last = fig;
      const labels = { ...sim.labels, ...rtpLabels(codec, fig, cut.packets) };
      const { networkDelayMs: _modelled, ...rest } = sim;
      return {
        ...rest,
        labels,
        packets: cut.packets,
        // The sender's grid, as its SR maps it (the receiver alone cannot tell a lost first packet).
        rtpTimestamp: sim.rtpTimestamp ?? cut.rtpTimestamp,
        ...transportOf(fig),
      };
    },
    sendOutput(output) {
      const next = framesFrom(output, station.frameSamples, outNext, now());
      outNext = next.nextMs;
      station.schedule(next.items.map((x) => ({ dueMs: x.dueMs, item: { samples: x.item } })));
    },
    async close() {
      clearInterval(tick);
      for (const w of waiters.splice(0)) w();
      await far.close();
      await station.close();
      return last;
    },
  };
}

/** Sums a station's per-call figures into the demo summary's line. */
export function legFigures(stationId: number, codec: CodecName, calls: ReceptionFigures[]): RtpLegFigures {
  const rtts = calls.map((c) => c.rttMs).filter((x): x is number => x !== null);
  return {
    station_id: stationId,
    codec,
    expected: calls.reduce((a, c) => a + c.expected, 0),
    cumulative_lost: calls.reduce((a, c) => a + c.cumulativeLost, 0),
    jitter_ms: calls.length ? calls.reduce((a, c) => a + c.jitterMs, 0) / calls.length : 0,
    rtt_ms: rtts.length ? rtts.reduce((a, b) => a + b, 0) / rtts.length : null,
  };
}
