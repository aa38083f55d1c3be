// One webhook POST: the signed body, a deadline, no redirects, and — unless private networks are
// allowed — a DNS lookup that refuses any non-public address (webhooks/url.ts), so a name re-pointed
// at the internal network after the subscription was made is still refused at delivery.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, sign, TIMESTAMP_HEADER } from './sign.ts';
import { isPublicAddress } from './url.ts';

export interface DeliveryResult {
  ok: boolean;
  /** HTTP status, or null when no answer came (refused, timed out, address not allowed). */
  status: number | null;
  error: string | null;
  durationMs: number;
}

const publicOnly: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 0);
    const list = addresses as LookupAddress[];
    const bad = list.find((a) => !isPublicAddress(a.address));
    if (bad) {
      const e = Object.assign(new Error(`${hostname} resolves to ${bad.address}, not a public address`), {
        code: 'EADDRNOTPUBLIC',
      });
      return callback(e, '', 0);
    }
    if ((options as { all?: boolean }).all)
      return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
    callback(null, list[0]!.address, list[0]!.family);
  });
};

export function deliver(
  target: { url: string; secret: string; eventId: string; eventType: string; body: string },
  opts: { timeoutMs: number; allowPrivate: boolean; now?: () => number },
): Promise<DeliveryResult> {
  const started = performance.now();
  const ts = Math.floor((opts.now ?? Date.now)() / 1000);
  const u = new URL(target.url);
  const client = u.protocol === 'https:' ? https : http;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  // An address literal is never looked up: it is checked here.
  if (!opts.allowPrivate && isIP(host) && !isPublicAddress(host)) {
    return Promise.resolve({
      ok: false,
      status: null,
      error: `${host} is not a public address`,
      durationMs: 0,
    });
  }
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: Omit<DeliveryResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      resolve({ ...r, durationMs: Math.round(performance.now() - started) });
    };
    const req = client.request(
      u,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(target.body),
          'user-agent': 'voiceloop-webhooks/1',
          [EVENT_ID_HEADER]: target.eventId,
          [EVENT_TYPE_HEADER]: target.eventType,
          [TIMESTAMP_HEADER]: String(ts),
          [SIGNATURE_HEADER]: sign(target.secret, ts, target.body),
        },
        timeout: opts.timeoutMs,
        ...(opts.allowPrivate ? {} : { lookup: publicOnly }),
        agent: false,
      },
      (res) => {
        res.resume(); // the answer's body is not read: only its status counts
        const status = res.statusCode ?? 0;
        const ok = status >= 200 && status < 300;
        done({ ok, status, error: ok ? null : `receiver answered HTTP ${status}` });
      },
    );
    // The whole exchange, not only idle time, is bounded: a receiver that trickles bytes still fails.
    const deadline = setTimeout(
      () => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)),
      opts.timeoutMs,
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)));
    req.on('error', (err) => done({ ok: false, status: null, error: err.message }));
    req.on('close', () => clearTimeout(deadline));
    req.end(target.body);
  });
}
