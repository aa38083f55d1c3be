// What a segment received over RTP adds to a station's input and snapshot labels: the session's RTCP
// figures (the network metrics come from them, see stations/pipeline.ts) and the level of what arrived.
import type { RtpPacket } from '../../audio/dsp/jitterBuffer.ts';
import type { SegmentPlayout } from '../../media/rtp/playout.ts';
import type { CutSegment } from '../../media/rtp/segmenter.ts';
import type { ReceptionFigures } from '../../media/rtp/session.ts';
import type { StationInput, TransportFigures } from '../pipeline.ts';

export function transportOf(fig: ReceptionFigures | null): { transport?: TransportFigures } {
  if (!fig) return {};
  return {
    transport: {
      expected: fig.interval.expected,
      lost: fig.interval.lost,
      jitterMs: fig.jitterMs,
      rttMs: fig.rttMs,
    },
  };
}

export function rtpLabels(
  codec: string,
  fig: ReceptionFigures | null,
  packets: readonly RtpPacket[],
): Record<string, string> {
  const labels: Record<string, string> = { transport: 'rtp', codec };
  // The level of what arrived (before the jitter buffer and the DSP chain): an operator's check that
  // the far end sends what it should.
  let power = 0;
  let count = 0;
  for (const p of packets) {
    for (const x of p.payload) power += x * x;
    count += p.payload.length;
  }
  if (count > 0) labels['rtp.input_rms_dbfs'] = (10 * Math.log10(power / count + 1e-20)).toFixed(3);
  labels['rtp.input_samples'] = String(count);
  if (fig) {
    labels['rtcp.ssrc'] = String(fig.ssrc);
    labels['rtcp.cumulative_lost'] = String(fig.cumulativeLost);
    labels['rtcp.jitter_ms'] = fig.jitterMs.toFixed(2);
    if (fig.rttMs !== null) labels['rtcp.rtt_ms'] = fig.rttMs.toFixed(1);
  }
  return labels;
}

/**
 * A received segment as a station's input: a network station plays the packets through its own (tuned)
 * jitter buffer; any other gets the audio `playout` played out for it.
 */
export function rtpStationInput(
  stationId: number,
  session: { format: { clockRate: number }; frameSamples: number },
  cut: CutSegment,
  fig: ReceptionFigures | null,
  playout: SegmentPlayout | null,
): StationInput {
  return {
    stationId,
    sampleRate: session.format.clockRate,
    ...(playout
      ? { samples: playout.play(cut.packets, cut.samples / session.frameSamples) }
      : { samples: new Float32Array(cut.samples), packets: cut.packets, rtpTimestamp: cut.rtpTimestamp }),
    ...transportOf(fig),
  };
}
