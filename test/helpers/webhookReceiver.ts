// A webhook receiver on loopback for the webhook tests: a real HTTP server that records every request
// (path, headers, body, the parsed event) and answers per path as a test says (200 by default).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebhookEvent } from '../../webhooks/events.ts';

export interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  event: WebhookEvent;
}

export async function receiver() {
  const got: Received[] = [];
  const handlers = new Map<string, (n: number, res: ServerResponse) => void>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const path = req.url ?? '/';
      got.push({ path, headers: req.headers, body, event: JSON.parse(body) as WebhookEvent });
      const n = got.filter((g) => g.path === path).length;
      const h = handlers.get(path);
      if (h) h(n, res);
      else res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    got,
    on: (path: string, h: (n: number, res: ServerResponse) => void) => handlers.set(path, h),
    at: (path: string) => got.filter((g) => g.path === path),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
