// 6. HTTP ingestion: POST /v1/stations/snapshot on the real API (api/server.ts in its own process,
// real HTTP on loopback: token check, strict JSON-schema validation, meaning checks, Avro encode,
// idempotent acks=all produce; 202 once the snapshot is on Kafka), accepted (2xx) requests/s and p50/p99
// latency, driven by autocannon. Baseline in the same run, same body, same load: a bare fastify route
// that parses the JSON and answers 202.
import autocannon from 'autocannon';
import { mintToken } from '../../lib/auth.ts';
import { startChild } from '../lib/child.ts';
import { realisticInput } from '../lib/snapshots.ts';
import type { Bench, Figure } from '../lib/types.ts';

interface Shot {
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  bad: number;
}

async function shoot(
  url: string,
  body: string,
  auth: string,
  seconds: number,
  connections: number,
): Promise<Shot> {
  const r = await autocannon({
    url: `${url}/v1/stations/snapshot`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: auth },
    body,
    connections,
    duration: seconds,
  });
  return {
    // Accepted snapshots per second: a refusal answered at once (429, 503) is not ingestion.
    rps: r['2xx'] / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    ok: r['2xx'],
    bad: r.non2xx + r.errors + r.timeouts,
  };
}

export const httpBench: Bench = {
  name: 'http',
  title: 'HTTP POST /v1/stations/snapshot vs a bare fastify 202',
  stack: true,
  async run(ctx) {
    const rt = await ctx.runtime();
    const tenant = ctx.tenant('http');
    const input = realisticInput(ctx.runId, tenant, 0, 3);
    delete input.snapshot_id; // the API mints one per request
    const body = JSON.stringify(input);
    const auth = `Bearer ${mintToken(ctx.cfg.api.tokenSecret, { sub: 'bench', role: 'station', tenant, exp: Math.floor(Date.now() / 1000) + 3600 })}`;
    // One token drives every connection: its rate limit (500/s by default) would answer most requests
    // with 429 at once, and the figure would time the limiter instead of ingestion (as until 2026-12-03).
    const api = await startChild(ctx.cfg, ['app', 'api'], { env: { RATE_LIMIT_PER_SECOND: '1000000' } });
    ctx.defer(() => api.stop());
    const bare = await startChild(ctx.cfg, ['bare']);
    ctx.defer(() => bare.stop());

    const runs = ctx.quick ? 2 : 4;
    const seconds = ctx.quick ? 3 : 8;
    const connections = 16;
    // Warm-up of both servers (JIT, Kafka connections, schema lookups).
    const warm = await shoot(api.url!, body, auth, 1, connections);
    if (warm.ok === 0) throw new Error(`the API answered no 2xx during warm-up (${warm.bad} failures)`);
    await shoot(bare.url!, body, auth, 1, connections);

    const p: Shot[] = [];
    const b: Shot[] = [];
    for (let k = 0; k < runs; k++) {
      ctx.log(`http: run ${k + 1}/${runs}, ${seconds} s each, ${connections} connections`);
      p.push(await shoot(api.url!, body, auth, seconds, connections));
      b.push(await shoot(bare.url!, body, auth, seconds, connections));
    }
    const bad = p.reduce((s, x) => s + x.bad, 0);
    void rt;
    const fig = (
      name: string,
      metric: string,
      hib: boolean,
      f: (s: Shot) => number,
      note?: string,
    ): Figure => ({
      bench: 'http',
      name,
      metric,
      higherIsBetter: hib,
      samples: p.map(f),
      baseline: { name: 'bare fastify 202', samples: b.map(f) },
      ...(note ? { note } : {}),
    });
    return {
      figures: [
        fig(
          'http POST snapshot',
          'req/s',
          true,
          (s) => s.rps,
          `${connections} connections, ${Buffer.byteLength(body)} B JSON body, no PCM; ${bad} non-2xx/errors`,
        ),
        fig('http POST snapshot p50', 'ms', false, (s) => s.p50),
        fig('http POST snapshot p99', 'ms', false, (s) => s.p99),
      ],
      details: { runs: p, baseline_runs: b, seconds, connections, body_bytes: Buffer.byteLength(body) },
    };
  },
};
