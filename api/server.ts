// The HTTP API (DESIGN §9) as encapsulated fastify plugins, one per resource, JSON schemas on every
// route. ajv is set strict: no type coercion and no silent removal of unknown fields, so a wrong type
// or a misspelt field is a 400, not a guess.
import { createHash } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import underPressure from '@fastify/under-pressure';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { MAX_CLOCK_SKEW_MS } from '../domain/snapshot.ts';
import { OutageLog } from '../lib/outages.ts';
import { SendQueue } from '../producers/sendQueue.ts';
import type { PreparedRecord, StationProducer } from '../producers/stationProducer.ts';
import type { Runtime } from '../runtime/bootstrap.ts';
import { createReadiness } from '../runtime/readiness.ts';
import { createCappedServer } from './connections.ts';
import { createErrorHandler } from './errors.ts';
import { healthRoutes } from './routes/health.ts';
import { snapshotRoutes } from './routes/snapshots.ts';
import { TokenStore, watchRevocations } from './tokens.ts';

export interface ApiDeps {
  rt: Runtime;
  producer: StationProducer;
  /** Extra plugins registered by roles that own routes (config, optimizer). */
  plugins?: ((app: FastifyInstance) => Promise<void>)[];
}

export async function buildApi({ rt, producer, plugins = [] }: ApiDeps): Promise<FastifyInstance> {
  const app = createServer(rt);
  handleErrors(app, rt);
  await registerAdmission(app, rt);
  const revocations = watchRevocations(new TokenStore(rt.pool, rt.cfg.api.tokenSecret), rt.log);
  await revocations.ready;
  app.decorate('tokenRevoked', revocations.isRevoked);
  app.addHook('onClose', async () => revocations.stop());
  await registerOpenApi(app);
  app.addHook('onResponse', async (req, reply) => {
    rt.metrics.httpRequests.inc({
      route: req.routeOptions.url ?? 'unknown',
      status: String(reply.statusCode),
    });
  });

  await app.register(healthRoutes, readinessDeps(rt));
  await app.register(snapshotRoutes, {
    producer,
    audio: rt.audio,
    maxPcmBytes: rt.cfg.api.maxPcmBytes,
    tokenSecret: rt.cfg.api.tokenSecret,
    capturedWindow: { maxAgeMs: rt.cfg.topics.snapshotRetentionMs, maxAheadMs: MAX_CLOCK_SKEW_MS },
    queue: new SendQueue<PreparedRecord>({
      send: (batch) => producer.sendRecords(batch),
      max: rt.cfg.api.produceQueueMax,
      timeoutMs: rt.cfg.api.produceTimeoutMs,
    }),
  });
  for (const p of plugins) await p(app);
  metaRoutes(app, rt);
  await app.ready();
  return app;
}

function createServer(rt: Runtime): FastifyInstance {
  return Fastify({
    // Slow or stalled clients may not hold memory and sockets: the whole request must arrive in time
    // (else 408), idle connections close, and bodies beyond the route's limit are refused (413).
    requestTimeout: rt.cfg.api.requestTimeoutMs,
    connectionTimeout: rt.cfg.api.connectionTimeoutMs,
    keepAliveTimeout: 5_000,
    // Connections beyond the cap are answered 503 at accept time (api/connections.ts). With a server
    // factory fastify leaves the timeouts to it: set here as fastify would.
    serverFactory: (handler) => {
      const server = createCappedServer(handler, { max: rt.cfg.api.maxConnections });
      server.requestTimeout = rt.cfg.api.requestTimeoutMs;
      server.keepAliveTimeout = 5_000;
      server.setTimeout(rt.cfg.api.connectionTimeoutMs);
      return server;
    },
    loggerInstance: rt.log.child({ role: 'api' }) as FastifyBaseLogger,
    // Request logs are off: /metrics counts requests, and the error handler logs failures.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: {
      customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: true },
    },
  });
}

/** The error handler, with the dependency outages it reports (api/errors.ts). */
function handleErrors(app: FastifyInstance, rt: Runtime): void {
  // A dependency that is down is logged once when the outage starts and once when it ends (probed
  // every second), the refused requests counted; not one error with a stack per refused request.
  const probes = createReadiness(readinessDeps(rt));
  const outages = new OutageLog({
    log: rt.log.child({ role: 'api' }),
    refusals: rt.metrics.dependencyRefusals,
    probe: (dependency) => probes.checkOne(dependency),
  });
  app.addHook('onClose', async () => {
    outages.stop();
    await probes.close();
  });
  app.setErrorHandler(createErrorHandler(outages));
}

/** Refusals before any route runs: 503 under pressure, 429 beyond the rate limit. */
async function registerAdmission(app: FastifyInstance, rt: Runtime): Promise<void> {
  // Admission control: when the event loop lags, a request accepted now would only wait in line; it is
  // refused at once with 503 + Retry-After so the accepted ones stay fast. Health and metrics still answer.
  if (rt.cfg.api.maxEventLoopDelayMs > 0) {
    await app.register(underPressure, {
      maxEventLoopDelay: rt.cfg.api.maxEventLoopDelayMs,
      sampleInterval: 50,
      pressureHandler: (req, reply, type, value) => {
        if (req.url.startsWith('/health/') || req.url === '/metrics') return;
        reply
          .status(503)
          .header('retry-after', '1')
          .send({
            error: 'OVERLOADED',
            message: `server overloaded (${type} ${Math.round(Number(value))}); retry after the Retry-After delay`,
            details: [],
          });
      },
    });
  }
  // Per token (or per address without one): one client cannot take the capacity of all the others.
  await app.register(rateLimit, {
    max: rt.cfg.api.rateLimitPerSecond,
    timeWindow: 1_000,
    keyGenerator: (req) => {
      const auth = req.headers.authorization;
      return auth ? `t:${createHash('sha256').update(auth).digest('base64url')}` : `ip:${req.ip}`;
    },
    allowList: (req) => req.url.startsWith('/health/') || req.url === '/metrics',
    errorResponseBuilder: (_req, ctx) => ({
      statusCode: 429,
      error: 'RATE_LIMITED',
      message: `more than ${ctx.max} requests per second with this token; retry after ${ctx.after}`,
      details: [],
    }),
  });
}

async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      // 3.1: its schemas are JSON Schema 2020-12, the dialect our route schemas are written in
      // (numeric exclusiveMinimum, type arrays for nullable); 3.0.3 would make them invalid.
      openapi: '3.1.0',
      info: {
        title: 'voiceloop',
        version: '1',
        description: 'Recursive audio optimization: snapshots, optimizer runs, safe config.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
}

/** GET /metrics and GET /openapi.json. */
function metaRoutes(app: FastifyInstance, rt: Runtime): void {
  // Both documented like every route; public (no token), as Prometheus scrapes without one.
  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics of this process (text exposition format)',
        security: [],
        response: {
          200: {
            description: 'Prometheus text exposition format 0.0.4',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
        },
      },
    },
    async (_req, reply) => {
      reply.header('content-type', rt.metrics.registry.contentType);
      return rt.metrics.registry.metrics();
    },
  );
  app.get(
    '/openapi.json',
    {
      schema: {
        summary: 'This OpenAPI 3.1 document',
        security: [],
        response: {
          200: {
            description: 'The OpenAPI document',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
    async (_req, reply) =>
      reply.header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(app.swagger())),
  );
}

function readinessDeps(rt: Runtime) {
  return {
    kafka: rt.kafka,
    pool: rt.pool,
    s3: rt.s3,
    bucket: rt.cfg.s3.bucket,
    registryUrl: rt.cfg.schemaRegistry.url,
  };
}
