// Segment-by-segment playout of a received stream for a station without its own jitter buffer (the
// Asterisk station fed by an externalMedia channel): each segment's packets go into one jitter buffer
// per call at their arrival times, and exactly the segment's frames come out, concealed where a packet
// is missing or late. Network stations (2, 10) do this inside the pipeline, with their tuned buffer.
import { JitterBuffer, type RtpPacket } from '../../audio/dsp/jitterBuffer.ts';

export class SegmentPlayout {
  private jb: JitterBuffer;

  constructor(sampleRate: number, targetMs = 60) {
    this.jb = new JitterBuffer({ targetMs, sampleRate });
  }

  /** Plays `frames` frames: packets pushed in arrival order, each frame pulled once its playout time passed. */
  play(packets: readonly RtpPacket[], frames: number): Float32Array {
    const jb = this.jb;
    const fs = jb.frameSamples;
    const out = new Float32Array(frames * fs);
    let done = 0;
    const order = packets
      .map((p, i) => ({ p, i }))
      .sort((a, b) => a.p.arrivalMs - b.p.arrivalMs || a.i - b.i);
    for (const { p } of order) {
      while (done < frames && jb.started() && (jb.nextPlayoutMs() as number) < p.arrivalMs) {
        jb.pullSlot(out.subarray(done * fs, (done + 1) * fs));
        done++;
      }
      jb.push(p);
    }
    // Frames before the first packet ever received stay silent.
    for (; done < frames && jb.started(); done++) jb.pullSlot(out.subarray(done * fs, (done + 1) * fs));
    return out;
  }

  get stats() {
    return this.jb.stats();
  }
}
