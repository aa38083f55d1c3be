// UDP sockets for an RTP session: the RTP port and the RTCP port right above it (RFC 3550 §11: RTP on
// an even port, RTCP on the next odd one).
import { createSocket, type Socket } from 'node:dgram';

export interface UdpEndpoint {
  host: string;
  port: number;
}

function bind(host: string, port: number): Promise<Socket> {
  const sock = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      sock.close();
      reject(err);
    };
    sock.once('error', onError);
    sock.bind(port, host, () => {
      sock.off('error', onError);
      resolve(sock);
    });
  });
}

async function bindPair(host: string, port: number): Promise<[Socket, Socket]> {
  const rtp = await bind(host, port);
  try {
    return [rtp, await bind(host, port + 1)];
  } catch (err) {
    rtp.close();
    throw err;
  }
}

// Where a free pair is looked for when the caller asks for port 0 (the IANA dynamic range's lower half
// is often taken by ephemeral ports; RTP's customary range sits below it).
const PAIR_LOW = 20000;
const PAIR_HIGH = 59998;

/** Binds the RTP and RTCP sockets; port 0 picks a free even/odd pair. */
export async function bindRtpPorts(listen: UdpEndpoint): Promise<[Socket, Socket]> {
  if (listen.port !== 0) return bindPair(listen.host, listen.port);
  let last: unknown;
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = PAIR_LOW + 2 * Math.floor(Math.random() * ((PAIR_HIGH - PAIR_LOW) / 2));
    try {
      return await bindPair(listen.host, port);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      last = err;
    }
  }
  throw new Error(`no free RTP/RTCP port pair on ${listen.host} after 50 tries`, { cause: last });
}

/** host:port, with the port in 1..65534 (RTCP needs port + 1); throws naming what is wrong. */
export function parseEndpoint(raw: string): UdpEndpoint {
  const m = /^(.*):(\d+)$/.exec(raw.trim());
  if (!m || m[1] === '') throw new RangeError(`"${raw}" is not host:port`);
  const host = m[1]!.replace(/^\[(.*)\]$/, '$1');
  const port = Number(m[2]);
  if (port < 1 || port > 65534)
    throw new RangeError(`port ${port} must be within 1..65534 (RTCP takes port + 1)`);
  return { host, port };
}
