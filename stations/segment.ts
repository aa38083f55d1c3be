// What a station's pipeline takes in and gives back per segment (stations/pipeline.ts): the audio or
// the RTP packets, the simulator's truth where there is one, and the processed audio with its metrics.
import type { RtpPacket } from '../audio/dsp/index.ts';
import type { Metrics } from '../contracts/generated.ts';

export interface StationInput {
  stationId: number;
  sampleRate: number;
  /**
   * The audio as it arrives at the station. For a network station given `packets`, only its length
   * is used: it sets the segment's duration (a whole number of packet frames).
   */
  samples: Float32Array;
  /** Network stations (2, 10): the RTP packets sent during this segment, with arrival times. */
  packets?: RtpPacket[];
  /**
   * Network stations: RTP timestamp of the segment's first frame. Keeps the output on the sender's
   * frame grid when a call's first packets are lost or reordered (else it follows the jitter buffer's).
   */
  rtpTimestamp?: number;
  /** One-way network transport delay, ms (e.g. RTCP RTT / 2); enters the E-model's delay. */
  networkDelayMs?: number;
  /**
   * Network stations fed by a real RTP session (media/rtp): the stream's own figures over this segment,
   * as its RTCP reports them. The reported loss, the jitter and the network delay (RTT / 2) come from
   * these, not from the packet trace; the G.107 rating still counts late discards as lost.
   */
  transport?: TransportFigures;
  /** Echo reference (the far-end signal), aligned with `samples`. */
  farEnd?: Float32Array;
  /** Simulator ground truth aligned with `samples`: the clean speech, for reference_seg_snr_db. */
  clean?: Float32Array;
  /**
   * Simulator ground truth for the stage engines: the utterances that end within this segment, in
   * samples at `sampleRate` from the call's start, with their words (null: no usable transcript).
   */
  utterances?: readonly Utterance[];
  stage?: {
    /**
     * Station 9: the synthesizer's measured time to audio for what plays in this segment, ms; the
     * chain's delay is added. Absent: tts_latency_ms stays null (nothing is modelled).
     */
    ttsLatencyMs?: number;
  };
}

export interface Utterance {
  start: number;
  end: number;
  words: readonly string[] | null;
  /** Where it came from (a prompt file), for labels and debugging. */
  source: string;
}

export interface TransportFigures {
  /** Packets expected and lost over the segment's interval (RFC 3550 A.3). */
  expected: number;
  lost: number;
  /** RFC 3550 A.8 interarrival jitter, ms. */
  jitterMs: number;
  /** From the far end's reports on our stream (LSR/DLSR); null before the first. */
  rttMs: number | null;
}

export interface SegmentResult {
  /** The station's output for the segment, as long as `samples`. */
  output: Float32Array;
  metrics: Metrics;
}
