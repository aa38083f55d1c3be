// Connection admission (issue 9, overload). Under-pressure and the rate limit act once fastify has
// parsed a request; at 1,000 connections the wait happens before that: every connection's request sits
// in the socket buffers and the event loop reads them one after the other, so an accepted request
// waited behind hundreds of others, refused or not (p99 4.9 s). Beyond `max` open connections a new one
// is answered at accept time with a fixed 503 + Retry-After and closed, before any HTTP parsing: the
// work queued inside the process stays bounded by `max`, and the client is told to retry.
import http from 'node:http';
import type { Socket } from 'node:net';

const BODY = JSON.stringify({
  error: 'OVERLOADED',
  message: 'server at its connection limit; retry after the Retry-After delay',
  details: [],
});
const SHED = Buffer.from(
  'HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/json\r\n' +
    `Connection: close\r\nContent-Length: ${Buffer.byteLength(BODY)}\r\n\r\n${BODY}`,
);

export interface CappedServerOptions {
  /** Open connections at most (0: no cap). */
  max: number;
  /** Called for every connection shed. */
  onShed?: () => void;
}

/** An http.Server that admits at most `max` open connections and sheds the rest with a 503. */
export function createCappedServer(handler: http.RequestListener, opts: CappedServerOptions): http.Server {
  const server = http.createServer(handler);
  if (opts.max <= 0) return server;
  let open = 0;
  const emit = server.emit.bind(server) as (event: string, ...args: unknown[]) => boolean;
  // The http server's own 'connection' listener would start parsing; a shed socket never reaches it.
  server.emit = ((event: string, ...args: unknown[]) => {
    if (event === 'connection') {
      const socket = args[0] as Socket;
      if (open >= opts.max) {
        shed(socket);
        opts.onShed?.();
        return true;
      }
      open++;
      socket.once('close', () => open--);
    }
    return emit(event, ...args);
  }) as typeof server.emit;
  return server;
}

function shed(socket: Socket): void {
  socket.on('error', () => {});
  // Read and drop what the client sends: closing with unread data would reset the connection and
  // could discard the 503 before the client reads it.
  socket.resume();
  socket.setTimeout(2_000, () => socket.destroy());
  socket.end(SHED);
}
