// The demo's RTP legs (demo/rtpLegs.ts) over real UDP on loopback, sessions on the media thread: the
// simulator's network impairments become real drops and delays on the wire. Every packet the
// simulator lets through arrives, the station's RTCP counts exactly the packets the simulator dropped,
// and the round trip covers the far end's one-way delay both ways.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_IMPAIRMENTS } from '../../demo/args.ts';
import { startRtpLeg } from '../../demo/rtpLegs.ts';
import { startMediaThread } from '../../media/rtp/mediaThread.ts';
import { loadImpairments, simulateCall } from '../../stations/sim/index.ts';
import { defer } from '../helpers/runtime.ts';

const STATION = 2;

test("demo RTP leg: the simulator's drops are RTCP's exact loss, its delay is in the round trip", async (t) => {
  const impairments = loadImpairments(DEFAULT_IMPAIRMENTS);
  const profile = impairments.stations.find((p) => p.stationId === STATION)!;
  const call = simulateCall({ impairments, callIndex: 0, seed: 7, segments: 4 });
  const media = startMediaThread();
  defer(t, () => media.stop());
  const leg = await startRtpLeg(media, STATION, call.segments);
  let closed = false;
  defer(t, () => (closed ? undefined : leg.close()));

  let received = 0;
  for (const seg of call.segments) {
    const sim = seg.inputs.get(STATION)!;
    const input = await leg.segment(seg.index, sim);
    received += input.packets!.length;
    assert.equal(input.rtpTimestamp, sim.rtpTimestamp, 'the sender grid');
    assert.equal(input.clean, sim.clean, 'the ground truth goes with it');
    // The station sends on (silence here), so it is an RTP sender and learns the round trip.
    leg.sendOutput(new Float32Array(sim.samples.length));
  }
  const fig = await leg.close();
  closed = true;

  const sent = call.segments.flatMap((s) => s.inputs.get(STATION)!.packets!);
  assert.equal(received, sent.length, 'every packet the simulator let through arrived');
  // RTCP counts from the first to the highest sequence number it saw (RFC 3550 A.3).
  const ext = sent.map((p) => p.seq).sort((a, b) => a - b);
  const wraps = ext.at(-1)! - ext[0]! > 32768;
  const seqs = wraps ? ext.map((q) => (q < 32768 ? q + 65536 : q)).sort((a, b) => a - b) : ext;
  const expected = seqs.at(-1)! - seqs[0]! + 1;
  assert.ok(fig, 'the station had figures');
  assert.equal(fig.expected, expected);
  assert.equal(fig.cumulativeLost, expected - sent.length);
  assert.ok(expected - sent.length > 0, 'the profile drops packets');
  const delay = profile.network!.delay_ms;
  assert.ok(
    fig.rttMs !== null && fig.rttMs >= 2 * delay - 5,
    `round trip ${fig.rttMs} ms, path ${delay} ms each way`,
  );
  t.diagnostic(
    `${sent.length} of ${expected} packets sent, RTCP lost ${fig.cumulativeLost}; jitter ${fig.jitterMs.toFixed(1)} ms (profile ${profile.network!.jitter_ms}); round trip ${fig.rttMs?.toFixed(1)} ms`,
  );
});
