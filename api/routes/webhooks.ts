// Webhook subscriptions (issue 12): a tenant's operator subscribes a URL to event types, with a
// signing secret; reads them and their delivery log; pauses, resumes or deletes them. A token sees
// only its own tenant's subscriptions (another tenant's answer 404, as if absent). An admin ('*')
// may also subscribe the deployment's own events (tenant '*'). URLs are checked here (webhooks/url.ts)
// and every resolved address again at delivery.
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { VoiceloopError, validationError } from '../../lib/errors.ts';
import type { Pool } from '../../storage/db.ts';
import * as repo from '../../storage/webhooks.ts';
import { ALL_TENANTS, DEPLOYMENT_EVENTS, EVENT_TYPES, type EventType } from '../../webhooks/events.ts';
import { MAX_URL_LENGTH, urlProblems } from '../../webhooks/url.ts';
import { assertTenant, requireRole } from '../auth.ts';
import { reasonSchema } from '../schemas.ts';

export interface WebhookRouteDeps {
  pool: Pool;
  /** The deployment's stream (topic prefix) whose events these are. */
  stream: string;
  tokenSecret: string;
  allowPrivateNetworks: boolean;
}

const tenantSchema = { type: 'string', pattern: '^(\\*|[A-Za-z0-9._-]{1,64})$' } as const;
const idParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'string', format: 'uuid' } },
} as const;

const subscriptionSchema = {
  type: 'object',
  required: ['id', 'tenant_id', 'url', 'event_types', 'state', 'consecutive_failures', 'created_at'],
  properties: {
    id: { type: 'string' },
    tenant_id: { type: 'string' },
    url: { type: 'string' },
    event_types: { type: 'array', items: { type: 'string', enum: [...EVENT_TYPES] } },
    state: { type: 'string', enum: ['active', 'paused'] },
    consecutive_failures: { type: 'integer' },
    paused_at: { type: ['string', 'null'] },
    paused_reason: { type: ['string', 'null'] },
    created_by: { type: 'string' },
    created_at: { type: 'string' },
    secret: { type: 'string', description: 'Only in the answer to the POST that made it' },
  },
} as const;

function view(s: repo.SubscriptionRow) {
  return {
    id: s.id,
    tenant_id: s.tenant_id,
    url: s.url,
    event_types: s.event_types,
    state: s.state,
    consecutive_failures: s.consecutive_failures,
    paused_at: s.paused_at?.toISOString() ?? null,
    paused_reason: s.paused_reason,
    created_by: s.created_by,
    created_at: s.created_at.toISOString(),
  };
}

interface CreateBody {
  url: string;
  event_types: EventType[];
  secret?: string;
  tenant_id?: string;
}

/** The subscription if the caller's tenant may see it; 404 otherwise. */
type Visible = (req: FastifyRequest, id: string) => Promise<repo.SubscriptionRow>;

export const webhookRoutes: FastifyPluginAsync<WebhookRouteDeps> = async (app, deps) => {
  /** The subscription if the caller's tenant may see it; 404 otherwise (another tenant's is not shown to exist). */
  async function visible(req: FastifyRequest, id: string): Promise<repo.SubscriptionRow> {
    const s = await repo.subscription(deps.pool, deps.stream, id);
    const p = req.principal!;
    if (!s || (p.tenant !== ALL_TENANTS && p.tenant !== s.tenant_id))
      throw new VoiceloopError('NOT_FOUND', `webhook subscription ${id} does not exist`);
    return s;
  }

  createRoute(app, deps);

  app.get(
    '/v1/webhooks',
    {
      preHandler: requireRole(deps.tokenSecret, 'operator', 'viewer'),
      schema: {
        summary: "The token's tenant's webhook subscriptions (an admin's: every tenant's)",
        response: {
          200: {
            type: 'object',
            required: ['subscriptions'],
            properties: { subscriptions: { type: 'array', items: subscriptionSchema } },
          },
        },
      },
    },
    async (req) => {
      const p = req.principal!;
      const rows = await repo.listSubscriptions(
        deps.pool,
        deps.stream,
        p.tenant === ALL_TENANTS ? null : p.tenant,
      );
      return { subscriptions: rows.map(view) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/webhooks/:id',
    {
      preHandler: requireRole(deps.tokenSecret, 'operator', 'viewer'),
      schema: {
        summary: 'One webhook subscription',
        params: idParams,
        response: { 200: subscriptionSchema },
      },
    },
    async (req) => view(await visible(req, req.params.id)),
  );

  app.patch<{ Params: { id: string }; Body: { state: 'active' | 'paused'; reason?: string } }>(
    '/v1/webhooks/:id',
    {
      preHandler: requireRole(deps.tokenSecret, 'operator'),
      schema: {
        summary:
          'Pause a subscription, or resume it (its failure count starts again; held deliveries go out)',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['state'],
          properties: { state: { type: 'string', enum: ['active', 'paused'] }, reason: reasonSchema },
        },
        response: { 200: subscriptionSchema },
      },
    },
    async (req) => {
      await visible(req, req.params.id);
      const reason =
        req.body.state === 'paused' ? (req.body.reason ?? `paused by user:${req.principal!.sub}`) : null;
      const row = await repo.setState(deps.pool, deps.stream, req.params.id, req.body.state, reason);
      if (!row) throw new VoiceloopError('NOT_FOUND', `webhook subscription ${req.params.id} does not exist`);
      return view(row);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/webhooks/:id',
    {
      preHandler: requireRole(deps.tokenSecret, 'operator'),
      schema: { summary: 'Delete a subscription and its delivery log', params: idParams },
    },
    async (req, reply) => {
      await visible(req, req.params.id);
      await repo.deleteSubscription(deps.pool, deps.stream, req.params.id);
      return reply.status(204).send();
    },
  );

  deliveriesRoute(app, deps, visible);
};

/** POST /v1/webhooks: a new subscription, its URL checked and its secret made when none is given. */
function createRoute(app: FastifyInstance, deps: WebhookRouteDeps): void {
  app.post<{ Body: CreateBody }>(
    '/v1/webhooks',
    {
      preHandler: requireRole(deps.tokenSecret, 'operator'),
      schema: {
        summary:
          "Subscribe a URL to event types of the token's tenant; deliveries are signed with HMAC-SHA256 over `<timestamp>.<body>`",
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['url', 'event_types'],
          properties: {
            url: { type: 'string', minLength: 1, maxLength: MAX_URL_LENGTH },
            event_types: {
              type: 'array',
              minItems: 1,
              maxItems: EVENT_TYPES.length,
              uniqueItems: true,
              items: { type: 'string', enum: [...EVENT_TYPES] },
            },
            secret: { type: 'string', minLength: 16, maxLength: 256, pattern: '^[\\x21-\\x7e]+$' },
            tenant_id: tenantSchema,
          },
        },
        response: { 201: subscriptionSchema },
      },
    },
    async (req, reply) => {
      const p = req.principal!;
      const tenant = req.body.tenant_id ?? p.tenant;
      assertTenant(req, tenant);
      const problems = urlProblems(req.body.url, deps.allowPrivateNetworks).map((reason) => ({
        field: 'url',
        reason,
      }));
      const deployment = req.body.event_types.filter((t) => DEPLOYMENT_EVENTS.includes(t));
      if (tenant !== ALL_TENANTS && deployment.length > 0)
        problems.push({
          field: 'event_types',
          reason: `${deployment.join(', ')} belong to the deployment, not a tenant: subscribe them with tenant_id "*" (admin)`,
        });
      if (problems.length > 0)
        throw validationError(
          `invalid subscription: ${problems.map((x) => `${x.field} ${x.reason}`).join('; ')}`,
          problems,
        );
      const secret = req.body.secret ?? randomBytes(32).toString('base64url');
      const row = await repo.insertSubscription(deps.pool, deps.stream, {
        id: randomUUID(),
        tenantId: tenant,
        url: req.body.url,
        secret,
        eventTypes: req.body.event_types,
        createdBy: `user:${p.sub}`,
      });
      return reply.status(201).send({ ...view(row), secret });
    },
  );
}

/** GET /v1/webhooks/:id/deliveries: the delivery log. */
function deliveriesRoute(app: FastifyInstance, deps: WebhookRouteDeps, visible: Visible): void {
  app.get<{ Params: { id: string }; Querystring: { limit?: string } }>(
    '/v1/webhooks/:id/deliveries',
    {
      preHandler: requireRole(deps.tokenSecret, 'operator', 'viewer'),
      schema: {
        summary: "A subscription's delivery log, newest first: each event's state and every attempt",
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'string', pattern: '^[1-9][0-9]{0,2}$' } },
        },
      },
    },
    async (req) => {
      const s = await visible(req, req.params.id);
      const rows = await repo.deliveryLog(deps.pool, s.id, Number(req.query.limit ?? 100));
      return {
        deliveries: rows.map((d) => ({
          id: d.id,
          event_id: d.event_id,
          event_type: d.event_type,
          state: d.state,
          attempts: d.attempts,
          next_attempt_at: d.state === 'pending' ? d.next_attempt_at.toISOString() : null,
          last_status: d.last_status,
          last_error: d.last_error,
          created_at: d.created_at.toISOString(),
          delivered_at: d.delivered_at?.toISOString() ?? null,
          attempt_log: d.attempt_log,
        })),
      };
    },
  );
}
