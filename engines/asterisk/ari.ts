// The Asterisk adapter (DESIGN §11): a Stasis application over ARI (Asterisk REST Interface: REST
// calls plus a WebSocket of events). For every channel that enters the app it snoops the caller's
// audio (POST /channels/{id}/snoop, spy=in), opens an externalMedia channel that sends that audio as
// RTP to the station 1 agent (POST /channels/externalMedia), bridges the two, and lets the call go on
// in the dialplan (POST /channels/{id}/continue). When the call hangs up (its snoop leaves the app, or
// the channel is destroyed) it deletes what it created. Channels it created itself also enter the app
// and are recognized by their ids.
//
// fetch + ws rather than the `ari-client` package, which rests on the deprecated `request` and an old
// swagger client. Without an Asterisk here, the test runs this against a local server speaking ARI's
// documented REST and event shapes (test/integration/ari-adapter.test.ts).
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { VoiceloopError } from '../../lib/errors.ts';
import { createLifecycle, type Role } from '../../lib/lifecycle.ts';
import type { Logger } from '../../lib/log.ts';

export interface AriOptions {
  /** ARI base URL, e.g. http://asterisk:8088 (the /ari prefix is added). */
  url: string;
  user: string;
  password: string;
  /** The Stasis application name the dialplan sends calls to: Stasis(<app>). */
  app: string;
  /** host:port of the station 1 agent's RTP listener. */
  externalHost: string;
  /** Codec of the RTP toward the agent (ARI `format`), default ulaw (PCMU). */
  format?: string;
  /** Send the channel on in the dialplan once it is snooped (default true). */
  continueDialplan?: boolean;
}

interface AriChannel {
  id: string;
  name?: string;
}

interface AriEvent {
  type: string;
  application?: string;
  channel?: AriChannel;
}

/** What the adapter made for one call, to delete on hangup. */
export interface Tap {
  channelId: string;
  snoopId: string;
  externalId: string;
  bridgeId: string;
}

export interface AriBridge extends Role {
  /** Calls being tapped now, by the caller's channel id. */
  readonly taps: ReadonlyMap<string, Tap>;
}

export async function startAriBridge(deps: { log: Logger }, opts: AriOptions): Promise<AriBridge> {
  const base = `${opts.url.replace(/\/+$/, '')}/ari`;
  const auth = `Basic ${Buffer.from(`${opts.user}:${opts.password}`).toString('base64')}`;
  const log = deps.log.child({ role: 'ari', app: opts.app });
  const { taps, untap, onEvent } = tapper(ariCaller(base, auth), opts, log);
  const ws = await openEvents(base, auth, opts.app);
  // Events are handled one at a time, in order: a hangup never overtakes its own setup.
  let queue = Promise.resolve();
  ws.on('message', (data) => {
    let e: AriEvent;
    try {
      e = JSON.parse(String(data)) as AriEvent;
    } catch {
      log.warn('ARI event that is not JSON ignored');
      return;
    }
    queue = queue.then(() => onEvent(e)).catch((err: Error) => log.warn({ err: err.message }, 'ARI event'));
  });

  const lc = createLifecycle(async () => {
    ws.removeAllListeners('close');
    await queue;
    await Promise.all([...taps.keys()].map((id) => untap(id)));
    ws.close();
  });
  ws.on(
    'close',
    (code) =>
      void lc.fail(new VoiceloopError('ENGINE', `ARI event stream closed (${code})`, { canRetry: true })),
  );
  lc.running();
  log.info(`Stasis app ${opts.app} on ${opts.url}, media toward ${opts.externalHost}`);
  return lc.role({ taps });
}

type AriCall = (
  method: 'POST' | 'DELETE',
  path: string,
  query?: Record<string, string>,
  missingOk?: boolean,
) => Promise<unknown>;

/** ARI's REST calls: the JSON answer (null for 204, or for 404 when `missingOk`), an ENGINE error else. */
function ariCaller(base: string, auth: string): AriCall {
  return async (method, path, query = {}, missingOk = false) => {
    const q = new URLSearchParams(query).toString();
    let res: Response;
    try {
      res = await fetch(`${base}${path}${q ? `?${q}` : ''}`, { method, headers: { authorization: auth } });
    } catch (err) {
      throw new VoiceloopError('ENGINE', `ARI ${method} ${path}: ${(err as Error).message}`, {
        canRetry: true,
        cause: err,
      });
    }
    if (missingOk && res.status === 404) return null;
    if (!res.ok) {
      const body = await res.text().catch(() => '');
      throw new VoiceloopError('ENGINE', `ARI ${method} ${path}: ${res.status} ${body}`.trim(), {
        canRetry: res.status >= 500,
      });
    }
    return res.status === 204 ? null : ((await res.json()) as unknown);
  };
}

/** The calls in the app and their taps: made when a call enters, deleted when it ends. */
function tapper(call: AriCall, opts: AriOptions, log: Logger) {
  const taps = new Map<string, Tap>();
  /** Channels this adapter created (snoops, external media): never tapped themselves. */
  const own = new Set<string>();

  const tap = async (channel: AriChannel) => {
    const t: Tap = {
      channelId: channel.id,
      snoopId: `vl-snoop-${randomUUID()}`,
      externalId: `vl-media-${randomUUID()}`,
      bridgeId: `vl-bridge-${randomUUID()}`,
    };
    own.add(t.snoopId);
    own.add(t.externalId);
    taps.set(channel.id, t);
    await call('POST', `/channels/${encodeURIComponent(channel.id)}/snoop`, {
      app: opts.app,
      spy: 'in',
      snoopId: t.snoopId,
    });
    await call('POST', '/channels/externalMedia', {
      app: opts.app,
      external_host: opts.externalHost,
      format: opts.format ?? 'ulaw',
      encapsulation: 'rtp',
      transport: 'udp',
      direction: 'both',
      channelId: t.externalId,
    });
    await call('POST', '/bridges', { type: 'mixing', bridgeId: t.bridgeId, name: `voiceloop-${channel.id}` });
    await call('POST', `/bridges/${t.bridgeId}/addChannel`, { channel: `${t.snoopId},${t.externalId}` });
    if (opts.continueDialplan !== false)
      await call('POST', `/channels/${encodeURIComponent(channel.id)}/continue`);
    log.info(
      { channel: channel.id, name: channel.name },
      `tapping ${channel.name ?? channel.id} toward ${opts.externalHost}`,
    );
  };

  const untap = async (channelId: string) => {
    const t = taps.get(channelId);
    if (!t) return;
    taps.delete(channelId);
    // Whatever is already gone (the snoop dies with the call) answers 404: that is fine.
    const del = (path: string) =>
      call('DELETE', path).catch((err: VoiceloopError) => {
        if (!/: 404/.test(err.message)) log.warn({ err: err.message }, 'cleanup');
      });
    await del(`/channels/${t.externalId}`);
    await del(`/channels/${t.snoopId}`);
    await del(`/bridges/${t.bridgeId}`);
    own.delete(t.snoopId);
    own.delete(t.externalId);
    log.info({ channel: channelId }, 'call ended: tap removed');
  };

  const onEvent = async (e: AriEvent) => {
    const id = e.channel?.id;
    if (id === undefined) return;
    if (e.type === 'StasisStart' && !own.has(id) && !taps.has(id)) {
      await tap(e.channel!).catch(async (err: Error) => {
        log.warn({ channel: id, err: err.message }, 'could not tap the call');
        await untap(id);
      });
      return;
    }
    const ended = e.type === 'ChannelDestroyed' || e.type === 'StasisEnd';
    if (!ended) return;
    if (taps.has(id) && e.type === 'ChannelDestroyed') await untap(id);
    // The snoop leaves the app when the call it spies on hangs up.
    for (const [caller, t] of taps) if (t.snoopId === id) await untap(caller);
  };
  return { taps, untap, onEvent };
}

/** The app's WebSocket of events, once open. */
async function openEvents(base: string, auth: string, app: string): Promise<WebSocket> {
  const wsUrl = new URL(`${base.replace(/^http/, 'ws')}/events`);
  wsUrl.searchParams.set('app', app);
  const ws = new WebSocket(wsUrl, { headers: { authorization: auth } });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', (err) =>
      reject(new VoiceloopError('ENGINE', `ARI events: ${err.message}`, { canRetry: true, cause: err })),
    );
    ws.once('unexpected-response', (_req, res) =>
      reject(
        new VoiceloopError('ENGINE', `ARI events: HTTP ${res.statusCode}`, {
          canRetry: res.statusCode !== 401,
        }),
      ),
    );
  });
  return ws;
}
