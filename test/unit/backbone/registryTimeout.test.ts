// A schema registry that takes a request and never answers (a fault, not a stand-in for the registry:
// the real one is in the integration tests): each request the client library makes is aborted after
// its deadline with its socket closed, so nothing is left holding the process once the caller has given
// up. CI of 2026-12-06 saw ab.test.ts still alive 60 s after its tests had passed, held by a socket to
// the registry, when only the caller's wait was bounded. A real TCP server on loopback that accepts and
// stays silent.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { createSchemaRegistry } from '../../../streams/registry.ts';

async function silentServer(): Promise<{ server: Server; url: string; open: () => number }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.resume(); // reads the request, answers nothing
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}`, open: () => sockets.size };
}

test('a registry request that gets no answer fails after its deadline and leaves no socket open', {
  timeout: 20_000,
}, async () => {
  const { server, url, open } = await silentServer();
  try {
    const registry = createSchemaRegistry(url, 300);
    const started = Date.now();
    await assert.rejects(() => registry.getSchema(1), /timeout/i);
    // The retry middleware resends only on a 5xx answer: one request, one deadline.
    assert.ok(Date.now() - started < 10_000, 'failed at the deadline, not after retries');
    const until = Date.now() + 2_000;
    while (open() > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.equal(open(), 0, 'the timed-out request closed its connection');
  } finally {
    server.close();
  }
});
