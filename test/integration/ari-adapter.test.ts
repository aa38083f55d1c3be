// The Asterisk ARI adapter against a LOCAL server: Asterisk is not installable here, so this test runs
// a real HTTP + WebSocket server on loopback that speaks ARI's documented interface (Basic auth; the
// /ari/events WebSocket with ?app=; StasisStart / StasisEnd / ChannelDestroyed events with a channel
// object; POST /ari/channels/{id}/snoop, POST /ari/channels/externalMedia, POST /ari/bridges,
// POST /ari/bridges/{id}/addChannel, POST /ari/channels/{id}/continue, DELETE of channels and bridges).
// Its replies and events are written by us in the shapes ARI documents, not recorded from Asterisk.
// With ARI_URL, ARI_USER and ARI_PASSWORD the same adapter talks to a real Asterisk.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { type WebSocket, WebSocketServer } from 'ws';
import { startAriBridge } from '../../engines/asterisk/ari.ts';
import { createLogger } from '../../lib/log.ts';
import { loadSettings } from '../../lib/settings.ts';

const AUTH = `Basic ${Buffer.from('voiceloop:secret').toString('base64')}`;
const requests: { method: string; path: string; query: Record<string, string> }[] = [];
const channels = new Set<string>(['caller-1', 'caller-2']);
const bridges = new Set<string>();
let events: WebSocket | undefined;
let url: string;
const http = createServer((req: IncomingMessage, res: ServerResponse) => {
  const u = new URL(req.url ?? '/', 'http://x');
  const reply = (status: number, body?: object) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body ? JSON.stringify(body) : undefined);
  };
  if (req.headers.authorization !== AUTH) return reply(401, { message: 'Authentication required' });
  const query = Object.fromEntries(u.searchParams);
  requests.push({ method: req.method ?? '', path: u.pathname, query });
  const p = u.pathname.split('/').filter(Boolean); // ['ari', 'channels', id, 'snoop']
  const channel = (id: string, name: string) => ({ id, name, state: 'Up', dialplan: { context: 'default' } });
  if (req.method === 'POST' && p[1] === 'channels' && p[3] === 'snoop') {
    if (!channels.has(p[2]!)) return reply(404, { message: 'Channel not found' });
    channels.add(query['snoopId']!);
    reply(200, channel(query['snoopId']!, `Snoop/${p[2]}-00000001`));
    // A snoop channel enters the app too (ARI sends StasisStart for it).
    events?.send(
      JSON.stringify({
        type: 'StasisStart',
        application: 'voiceloop',
        args: [],
        channel: channel(query['snoopId']!, 'Snoop'),
      }),
    );
    return;
  }
  if (req.method === 'POST' && u.pathname === '/ari/channels/externalMedia') {
    channels.add(query['channelId']!);
    return reply(200, channel(query['channelId']!, 'UnicastRTP/127.0.0.1:40000-00000002'));
  }
  if (req.method === 'POST' && p[1] === 'bridges' && p.length === 2) {
    bridges.add(query['bridgeId']!);
    return reply(200, {
      id: query['bridgeId'],
      technology: 'simple_bridge',
      bridge_type: 'mixing',
      channels: [],
    });
  }
  if (req.method === 'POST' && p[1] === 'bridges' && p[3] === 'addChannel') {
    if (!bridges.has(p[2]!)) return reply(404, { message: 'Bridge not found' });
    return reply(204);
  }
  if (req.method === 'POST' && p[1] === 'channels' && p[3] === 'continue') return reply(204);
  if (req.method === 'DELETE' && p[1] === 'channels')
    return reply(channels.delete(p[2]!) ? 204 : 404, undefined);
  if (req.method === 'DELETE' && p[1] === 'bridges')
    return reply(bridges.delete(p[2]!) ? 204 : 404, undefined);
  reply(404, { message: 'no such resource' });
});
const wss = new WebSocketServer({ noServer: true });
http.on('upgrade', (req, socket, head) => {
  const u = new URL(req.url ?? '/', 'http://x');
  if (
    u.pathname !== '/ari/events' ||
    u.searchParams.get('app') !== 'voiceloop' ||
    req.headers.authorization !== AUTH
  ) {
    socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    events = ws;
  });
});

before(async () => {
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});
after(() => {
  for (const c of wss.clients) c.terminate();
  return new Promise<void>((r) => http.close(() => r()));
});

const send = (e: object) =>
  events!.send(JSON.stringify({ application: 'voiceloop', timestamp: new Date().toISOString(), ...e }));
const until = async (what: string, ok: () => boolean) => {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(ok(), what);
};

test('ARI adapter: every new channel is snooped and bridged to an externalMedia channel toward station 1; hangup cleans up', async (t) => {
  const log = createLogger('silent', 'ari-test');
  const bridge = await startAriBridge(
    { log },
    { url, user: 'voiceloop', password: 'secret', app: 'voiceloop', externalHost: '127.0.0.1:40000' },
  );
  t.after(() => bridge.stop());
  await until('events connected', () => events !== undefined);
  send({
    type: 'StasisStart',
    args: [],
    channel: { id: 'caller-1', name: 'PJSIP/100-00000001', state: 'Up' },
  });
  await until('the call is tapped', () => requests.some((r) => r.path === '/ari/channels/caller-1/continue'));
  const tap = bridge.taps.get('caller-1')!;
  const made = requests.map((r) => `${r.method} ${r.path}`);
  assert.deepEqual(made, [
    'POST /ari/channels/caller-1/snoop',
    'POST /ari/channels/externalMedia',
    'POST /ari/bridges',
    `POST /ari/bridges/${tap.bridgeId}/addChannel`,
    'POST /ari/channels/caller-1/continue',
  ]);
  assert.equal(requests[0]!.query['spy'], 'in');
  assert.equal(requests[0]!.query['app'], 'voiceloop');
  assert.deepEqual(
    {
      host: requests[1]!.query['external_host'],
      format: requests[1]!.query['format'],
      enc: requests[1]!.query['encapsulation'],
    },
    { host: '127.0.0.1:40000', format: 'ulaw', enc: 'rtp' },
  );
  assert.equal(requests[2]!.query['type'], 'mixing');
  assert.equal(requests[3]!.query['channel'], `${tap.snoopId},${tap.externalId}`);
  assert.equal(bridge.taps.size, 1, "the snoop's own StasisStart is not tapped again");

  // Hangup: the snoop leaves the app with the call; the adapter deletes what it made.
  channels.delete(tap.snoopId);
  send({ type: 'StasisEnd', channel: { id: tap.snoopId, name: 'Snoop' } });
  await until('the tap is removed', () => bridge.taps.size === 0);
  await until('bridge deleted', () => !bridges.has(tap.bridgeId));
  assert.ok(!channels.has(tap.externalId), 'external media channel hung up');
  assert.ok(requests.some((r) => r.method === 'DELETE' && r.path === `/ari/channels/${tap.externalId}`));

  // A channel that cannot be snooped (gone already) leaves nothing behind.
  send({ type: 'StasisStart', args: [], channel: { id: 'ghost', name: 'PJSIP/9-0009' } });
  await until('the failed tap is dropped', () =>
    requests.some((r) => r.path === '/ari/channels/ghost/snoop'),
  );
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(bridge.taps.size, 0);
  await bridge.stop();
  assert.equal(bridge.state, 'stopped');
});

test('ARI adapter: wrong credentials fail at start with an ENGINE error; ARI_URL needs user and password', async () => {
  const log = createLogger('silent', 'ari-test');
  await assert.rejects(
    startAriBridge(
      { log },
      { url, user: 'voiceloop', password: 'nope', app: 'voiceloop', externalHost: '127.0.0.1:40000' },
    ),
    /ARI events: HTTP 401/,
  );
  assert.equal(loadSettings({}).engines.ari, null);
  assert.throws(() => loadSettings({ ARI_URL: url }), /ARI_USER and ARI_PASSWORD/);
  assert.throws(
    () => loadSettings({ ARI_URL: url, ARI_USER: 'u', ARI_PASSWORD: 'p', ARI_EXTERNAL_HOST: 'nohost' }),
    /host:port/,
  );
  assert.deepEqual(loadSettings({ ARI_URL: url, ARI_USER: 'u', ARI_PASSWORD: 'p' }).engines.ari, {
    url,
    user: 'u',
    password: 'p',
    app: 'voiceloop',
    externalHost: '127.0.0.1:40000',
  });
});
