// The agent process on real media: one RTP session on the --rtp-listen port pair, the station
// transport over it, until --calls calls are done or the process is told to stop.
import type { Logger } from '../../lib/log.ts';
import { payloadFormat } from '../../media/rtp/codecs.ts';
import { RtpSession } from '../../media/rtp/session.ts';
import type { RtpAgentArgs } from './rtpArgs.ts';
import { type RtpStationDeps, startRtpStation } from './rtpTransport.ts';

export async function runRtpAgent(
  deps: { agent: RtpStationDeps['agent']; log: Logger; signal: AbortSignal },
  rtp: RtpAgentArgs,
  opts: { tenantId: string; callPrefix: string; maxCalls: number | null },
): Promise<void> {
  const { log } = deps;
  const format = payloadFormat(
    rtp.codec,
    rtp.payloadType === undefined ? {} : { payloadType: rtp.payloadType },
  );
  const session = await RtpSession.open({
    listen: rtp.listen,
    format,
    ...(rtp.send ? { remote: rtp.send } : {}),
    rtcpIntervalMs: rtp.rtcpIntervalMs,
    onWarning: (m) => log.warn(m),
  });
  session.onEvent((e) => log.info({ event: e.event, end: e.end, ssrc: e.ssrc }, 'telephone event'));
  log.info(
    {
      listen: `${rtp.listen.host}:${session.rtpPort}`,
      rtcp: session.rtpPort + 1,
      send: rtp.send ? `${rtp.send.host}:${rtp.send.port}` : 'back to the sender',
      codec: format.name,
      payload_type: format.payloadType,
    },
    `station ${deps.agent.stationId} listening for RTP`,
  );
  const station = startRtpStation(
    { agent: deps.agent, session, log },
    {
      tenantId: opts.tenantId,
      callPrefix: opts.callPrefix,
      ...(opts.maxCalls !== null ? { maxCalls: opts.maxCalls } : {}),
      onSegment: (r) =>
        log.info(
          {
            call: r.snapshot.call_id,
            segment: r.snapshot.segment.index,
            loss: r.snapshot.metrics.network?.packet_loss_ratio,
            jitter_ms: Number(r.snapshot.metrics.network?.jitter_ms.toFixed(1)),
            latency_ms: Number(r.snapshot.metrics.network?.latency_ms.toFixed(1)),
            config_version: r.snapshot.applied_config_version,
          },
          'RTP segment published',
        ),
    },
  );
  const onAbort = () => void station.stop();
  deps.signal.addEventListener('abort', onAbort, { once: true });
  try {
    await station.done;
  } finally {
    deps.signal.removeEventListener('abort', onAbort);
    await session.close();
  }
}
