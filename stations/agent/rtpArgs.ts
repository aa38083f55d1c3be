// The agent's real-media flags (`npm run agent -- --station 2 --rtp-listen 127.0.0.1:40000 ...`):
// parsed and checked here, apart from the process wiring, so every refusal names its flag.
import { ArgError, intFlag } from '../../lib/cli.ts';
import { CODEC_NAMES, type CodecName, parseCodecName, payloadFormat } from '../../media/rtp/codecs.ts';
import { parseEndpoint, type UdpEndpoint } from '../../media/rtp/ports.ts';

export const RTP_FLAGS = {
  'rtp-listen': { type: 'string' },
  'rtp-send': { type: 'string' },
  codec: { type: 'string' },
  'payload-type': { type: 'string' },
  'rtcp-interval-ms': { type: 'string' },
} as const;

export const RTP_USAGE = `  --rtp-listen H:P      take the station's audio as RTP on UDP H:P (RTCP on P+1) instead of simulating calls
  --rtp-send H:P        send the processed audio as RTP to H:P (default: back to the sender's address)
  --codec C             ${CODEC_NAMES.join(' | ')} (default pcmu)
  --payload-type N      dynamic RTP payload type of L16, 96..127 (default 96)
  --rtcp-interval-ms N  mean RTCP report interval, 500..60000 (default 5000, RFC 3550's minimum)`;

export interface RtpAgentArgs {
  listen: UdpEndpoint;
  send: UdpEndpoint | null;
  codec: CodecName;
  payloadType: number | undefined;
  rtcpIntervalMs: number;
}

/** The RTP options, null without --rtp-listen; throws ArgError naming the flag at fault. */
export function parseRtpArgs(
  v: Record<string, string | boolean | string[] | undefined>,
  simulatorFlags: string[],
): RtpAgentArgs | null {
  const str = (name: string) => v[name] as string | undefined;
  const listenRaw = str('rtp-listen');
  if (listenRaw === undefined) {
    for (const f of Object.keys(RTP_FLAGS)) {
      if (v[f] !== undefined)
        throw new ArgError(`--${f} needs --rtp-listen (without it the agent simulates calls)`);
    }
    return null;
  }
  for (const f of simulatorFlags) {
    if (v[f] !== undefined)
      throw new ArgError(`--${f} is for simulated calls; it cannot go with --rtp-listen`);
  }
  const endpoint = (flag: string, raw: string): UdpEndpoint => {
    try {
      return parseEndpoint(raw);
    } catch (err) {
      throw new ArgError(`--${flag} ${(err as Error).message}`);
    }
  };
  const codecRaw = str('codec') ?? 'pcmu';
  const codec = parseCodecName(codecRaw);
  if (codec === null) throw new ArgError(`--codec "${codecRaw}" is not one of ${CODEC_NAMES.join(', ')}`);
  const payloadType = intFlag('payload-type', str('payload-type'), 96, 127);
  if (payloadType !== undefined && !codec.startsWith('l16'))
    throw new ArgError(
      `--payload-type is for L16 only; ${codec} has the static type ${payloadFormat(codec).payloadType}`,
    );
  return {
    listen: endpoint('rtp-listen', listenRaw),
    send: str('rtp-send') === undefined ? null : endpoint('rtp-send', str('rtp-send')!),
    codec,
    payloadType,
    rtcpIntervalMs: intFlag('rtcp-interval-ms', str('rtcp-interval-ms'), 500, 60_000) ?? 5000,
  };
}
