// 11. Overload shedding (issue 9): 1,000 connections of autocannon against POST /v1/stations/snapshot
// on the real API in its own process. Two loads: one token (the per-token rate limit sheds with 429)
// and 100 tokens with the rate limit out of the way (the bounded produce queue sheds with 503). What
// counts is the latency of the requests that were accepted (202): p50/p99 from autocannon's per-response
// event, filtered by status. Baseline in the same run: the same API at 16 connections, unloaded.
import autocannon from 'autocannon';
import { mintToken } from '../../lib/auth.ts';
import { startChild } from '../lib/child.ts';
import { realisticInput } from '../lib/snapshots.ts';
import type { Bench, Figure } from '../lib/types.ts';

interface Shot {
  accepted: number;
  p50: number;
  p99: number;
  r429: number;
  r503: number;
  other: number;
  errors: number;
}

function pct(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function shoot(url: string, body: string, auths: string[], seconds: number, connections: number) {
  const lat: number[] = [];
  const out: Shot = { accepted: 0, p50: 0, p99: 0, r429: 0, r503: 0, other: 0, errors: 0 };
  let next = 0;
  let finish: (r: autocannon.Result) => void = () => {};
  let fail: (e: unknown) => void = () => {};
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const instance = autocannon(
    {
      url: `${url}/v1/stations/snapshot`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      connections,
      duration: seconds,
      timeout: 30,
      setupClient: (client) => {
        client.setHeaders({
          'content-type': 'application/json',
          authorization: auths[next++ % auths.length]!,
        });
      },
    },
    (err, result) => (err ? fail(err) : finish(result)),
  );
  instance.on('response', (_client, status: number, _bytes: number, ms: number) => {
    if (status === 202) {
      out.accepted++;
      lat.push(ms);
    } else if (status === 429) out.r429++;
    else if (status === 503) out.r503++;
    else out.other++;
  });
  const r = await done;
  out.errors = r.errors + r.timeouts;
  lat.sort((a, b) => a - b);
  out.p50 = pct(lat, 0.5);
  out.p99 = pct(lat, 0.99);
  return out;
}

export const shedBench: Bench = {
  name: 'shed',
  title: 'Overload: 1,000 connections on POST /v1/stations/snapshot, latency of accepted requests',
  stack: true,
  async run(ctx) {
    const tenant = ctx.tenant('shed');
    const input = realisticInput(ctx.runId, tenant, 0, 3);
    delete input.snapshot_id;
    const body = JSON.stringify(input);
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const tok = (i: number) =>
      `Bearer ${mintToken(ctx.cfg.api.tokenSecret, { sub: `bench-${i}`, role: 'station', tenant, exp })}`;
    const many = Array.from({ length: 100 }, (_, i) => tok(i));
    const seconds = ctx.quick ? 5 : 15;
    const api = await startChild(ctx.cfg, ['app', 'api']);
    ctx.defer(() => api.stop());
    const open = await startChild(ctx.cfg, ['app', 'api'], { env: { RATE_LIMIT_PER_SECOND: '1000000' } });
    ctx.defer(() => open.stop());
    await shoot(api.url!, body, [tok(0)], 1, 16); // warm-up: JIT, Kafka connections, schema ids
    await shoot(open.url!, body, many, 1, 16);

    ctx.log(`shed: baseline, 16 connections, ${seconds} s`);
    const base = await shoot(open.url!, body, many, seconds, 16);
    ctx.log(`shed: 1,000 connections, one token, ${seconds} s`);
    const one = await shoot(api.url!, body, [tok(0)], seconds, 1000);
    ctx.log(`shed: 1,000 connections, 100 tokens, no rate limit, ${seconds} s`);
    const queue = await shoot(open.url!, body, many, seconds, 1000);
    const note = (s: Shot) =>
      `${s.accepted} accepted, ${s.r429} x 429, ${s.r503} x 503, ${s.other} other, ${s.errors} errors/timeouts`;
    const fig = (name: string, s: Shot, f: (x: Shot) => number, metric: string): Figure => ({
      bench: 'shed',
      name,
      metric,
      higherIsBetter: false,
      samples: [f(s)],
      baseline: { name: 'same API, 16 connections', samples: [f(base)] },
      note: note(s),
    });
    return {
      figures: [
        fig('1000 conn, one token: accepted p50', one, (x) => x.p50, 'ms'),
        fig('1000 conn, one token: accepted p99', one, (x) => x.p99, 'ms'),
        fig('1000 conn, 100 tokens: accepted p50', queue, (x) => x.p50, 'ms'),
        fig('1000 conn, 100 tokens: accepted p99', queue, (x) => x.p99, 'ms'),
      ],
      details: {
        seconds,
        baseline: base,
        one_token: one,
        hundred_tokens: queue,
        body_bytes: Buffer.byteLength(body),
      },
    };
  },
};
