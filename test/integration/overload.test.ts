// Issue 9, defect 4 (the parts that need no broker restart): a token beyond its rate gets 429 with
// Retry-After while another token is unaffected, and a client that stalls mid-upload is cut off by the
// request timeout instead of holding its socket and buffer (60 stalled uploads held 190 MB for 40 s).
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { startApp } from '../../runtime/app.ts';
import { cleanupTopics, defer, testSettings, token, uniqueId } from '../helpers/runtime.ts';

test('issue 9: per-token rate limit (429 + Retry-After) and request timeouts on a real socket', async (t) => {
  const cfg = testSettings('overload', {
    PORT: '0',
    RATE_LIMIT_PER_SECOND: '5',
    REQUEST_TIMEOUT_MS: '1000',
    CONNECTION_TIMEOUT_MS: '2000',
  });
  cleanupTopics(t, cfg);
  const app = await startApp(cfg, ['api'], { listen: true });
  defer(t, () => app.stop());
  const tenant = uniqueId('tn');
  const get = (auth: string) =>
    fetch(`${app.url}/v1/config?station_id=2&tenant_id=${tenant}`, { headers: { authorization: auth } });

  const busy = token(cfg, 'viewer', tenant);
  const started0 = Date.now();
  const answers = await Promise.all(Array.from({ length: 30 }, () => get(busy)));
  const seconds = Math.ceil((Date.now() - started0) / 1000);
  const codes = answers.map((r) => r.status);
  // 5 per second: at most 5 per 1 s window the burst spans, every other request refused.
  const ok = codes.filter((c) => c === 200).length;
  assert.ok(ok >= 5 && ok <= 5 * (seconds + 1), `${ok} accepted over ${seconds} s: ${JSON.stringify(codes)}`);
  const limited = answers.filter((r) => r.status === 429);
  assert.equal(limited.length, 30 - ok, JSON.stringify(codes));
  assert.ok(Number(limited[0]!.headers.get('retry-after')) >= 1, 'Retry-After in seconds');
  assert.match(((await limited[0]!.json()) as { message: string }).message, /requests per second/);
  // Another token is not affected by the busy one.
  const other = await get(`${token(cfg, 'operator', tenant)}`);
  assert.equal(other.status, 200);

  // A client announces a 1 MB body, sends 10 bytes and stalls: the server answers 408 or closes the
  // socket once the request timeout has passed (with Node's 1 s timer granularity, within ~3 s).
  const { port } = new URL(app.url!);
  const started = Date.now();
  const outcome = await new Promise<string>((resolve) => {
    const s = connect(Number(port), '127.0.0.1', () => {
      s.write(
        `POST /v1/stations/snapshot HTTP/1.1\r\nHost: x\r\nAuthorization: ${token(cfg, 'station', tenant)}\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n{"tenant":`,
      );
    });
    let data = '';
    s.on('data', (d) => (data += d));
    s.on('close', () => resolve(data.split('\r\n')[0] ?? ''));
    s.on('error', () => {});
    setTimeout(() => {
      resolve('still open after 10 s');
      s.destroy();
    }, 10_000).unref();
  });
  assert.notEqual(outcome, 'still open after 10 s');
  assert.ok(outcome === '' || /408/.test(outcome), outcome);
  console.log(`stalled upload: "${outcome}" after ${Date.now() - started} ms`);
  assert.ok(Date.now() - started < 10_000);
});

// At 1,000 connections the wait was before fastify (requests queued in the socket buffers of a busy
// loop, p99 4.9 s), where admission control cannot see it. Beyond API_MAX_CONNECTIONS open connections a
// new one is answered 503 + Retry-After at accept time, before any parsing; once one closes, the next
// connection is served again.
test('issue 9: connections beyond API_MAX_CONNECTIONS get 503 + Retry-After at once; served again when one closes', async (t) => {
  const cfg = testSettings('conncap', { PORT: '0', API_MAX_CONNECTIONS: '4' });
  cleanupTopics(t, cfg);
  const app = await startApp(cfg, ['api'], { listen: true });
  defer(t, () => app.stop());
  const { port } = new URL(app.url!);
  const raw = (request: string) =>
    new Promise<{ socket: ReturnType<typeof connect>; first: Promise<string> }>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        const first = new Promise<string>((res) => {
          let got = '';
          socket.on('data', (d) => {
            got += d.toString();
            if (got.includes('\r\n\r\n')) res(got);
          });
          socket.on('close', () => res(got));
        });
        if (request) socket.write(request);
        resolve({ socket, first });
      });
      socket.on('error', reject);
    });
  const health = 'GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n';
  // Four keep-alive connections, each served once and left open.
  const held = await Promise.all(Array.from({ length: 4 }, () => raw(health)));
  for (const h of held) assert.match(await h.first, /^HTTP\/1\.1 200/);
  const fifth = await raw(health);
  const shed = await fifth.first;
  assert.match(shed, /^HTTP\/1\.1 503/, shed);
  assert.match(shed, /retry-after: 1/i);
  assert.match(shed, /connection limit/);
  fifth.socket.destroy();
  held[0]!.socket.destroy();
  await new Promise((r) => setTimeout(r, 200));
  const again = await raw(health);
  assert.match(await again.first, /^HTTP\/1\.1 200/);
  for (const h of [...held, again]) h.socket.destroy();
});
