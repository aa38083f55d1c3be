// The simulated RTP leg of a network station: 20 ms frames, bursty loss and delay jitter.
//
// Loss: a two-state Gilbert model (the Gilbert-Elliott model with loss probability 1 in the bad state
// and 0 in the good one, as in ITU-T G.113 / RFC 3611's burst metrics). With mean loss p and mean
// burst length b, the bad state is left with r = 1/b per packet and entered with q = p r / (1 - p),
// whose stationary loss q / (q + r) is p.
//
// Delay: arrival = send + delay_ms + X with X ~ Gamma(2, theta), independent per packet: right-skewed
// like queueing delay. The RFC 3550 estimator averages |X_i - X_{i-1}|, whose expectation for Gamma(k)
// is theta * 2 Gamma(k + 1/2) / (sqrt(pi) Gamma(k)) = 1.5 theta for k = 2; so theta = jitter_ms / 1.5
// puts the estimate at the configured jitter (fed in send order; in arrival order, as a receiver does,
// reordering makes it read up to ~5% higher when the jitter exceeds the frame interval).
import type { RtpPacket } from '../../audio/dsp/index.ts';
import type { NetworkImpairment } from './impairments.ts';
import { gammaVariate, type Rng } from './random.ts';

export const FRAME_MS = 20;
const JITTER_SHAPE = 2;
/** E|X - Y| / theta for independent Gamma(2, theta) draws. */
const GINI_MEAN_DIFFERENCE = 1.5;

export interface PacketizeOptions {
  frameMs?: number;
  /** Send time of the first frame, ms. Default 0. */
  startMs?: number;
  /** RTP timestamp of the first frame (32-bit; RFC 3550 wants it random). Default: drawn from rng. */
  timestampBase?: number;
  /** Sequence number of the first frame (16-bit). Default: drawn from rng. */
  seqBase?: number;
}

/** Mean of the jitter term X (added to delay_ms), ms: the mean extra transit the jitter causes. */
export function meanJitterDelayMs(profile: Pick<NetworkImpairment, 'jitter_ms'>): number {
  return (JITTER_SHAPE * profile.jitter_ms) / GINI_MEAN_DIFFERENCE;
}

/** G.711 mu-law round trip of one sample (full scale 1), through the 14-bit linear code of G.711. */
export function muLaw(x: number): number {
  const BIAS = 0x84;
  const CLIP = 32635;
  let s = Math.round(x * 32768);
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  const byte = ~(sign | (exponent << 4) | mantissa) & 0xff;
  // Decode.
  const u = ~byte & 0xff;
  const e = (u >> 4) & 0x07;
  const m = u & 0x0f;
  let v = ((m << 3) + BIAS) << e;
  v -= BIAS;
  return ((u & 0x80) !== 0 ? -v : v) / 32768;
}

/**
 * Cuts `samples` into frames and sends them over the simulated network: returns the packets that
 * arrive, in send order, each with its arrival time. The last frame is padded with silence.
 */
export function packetize(
  samples: Float32Array,
  sampleRate: number,
  profile: NetworkImpairment,
  rng: Rng,
  opts: PacketizeOptions = {},
): RtpPacket[] {
  const frameMs = opts.frameMs ?? FRAME_MS;
  const frame = Math.round((sampleRate * frameMs) / 1000);
  const frames = Math.ceil(samples.length / frame);
  const startMs = opts.startMs ?? 0;
  const tsBase = opts.timestampBase ?? Math.floor(rng() * 2 ** 32);
  const seqBase = opts.seqBase ?? Math.floor(rng() * 2 ** 16);
  const p = profile.loss_pct / 100;
  const r = 1 / profile.burst_len;
  const q = p >= 1 ? 1 : Math.min(1, (p * r) / (1 - p));
  const theta = profile.jitter_ms / GINI_MEAN_DIFFERENCE;
  let bad = rng() < p;
  const out: RtpPacket[] = [];
  for (let k = 0; k < frames; k++) {
    // State for this packet, then its delay: one draw each per packet whatever the outcome, so the
    // delay of packet k does not depend on the loss pattern before it.
    if (k > 0) bad = bad ? rng() >= r : rng() < q;
    const jitter = theta > 0 ? gammaVariate(rng, JITTER_SHAPE, theta) : 0;
    if (bad) continue;
    const payload = new Float32Array(frame);
    payload.set(samples.subarray(k * frame, Math.min(samples.length, (k + 1) * frame)));
    if (profile.codec === 'pcmu') for (let i = 0; i < frame; i++) payload[i] = muLaw(payload[i] as number);
    out.push({
      seq: (seqBase + k) & 0xffff,
      timestamp: (tsBase + k * frame) >>> 0,
      arrivalMs: startMs + k * frameMs + profile.delay_ms + jitter,
      payload,
    });
  }
  return out;
}
