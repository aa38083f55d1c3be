// Experiments API (DESIGN §9, issue 6): start an A/B experiment of candidate defaults, read it with its
// arms, looks and verdict, and stop it by hand. Malformed requests get 400 naming the field and write
// nothing; a treatment the safety layer would refuse from the current defaults gets 422 with reasons.
import type { FastifyPluginAsync } from 'fastify';
import type { Scope } from '../../contracts/generated.ts';
import { VoiceloopError, validationError } from '../../lib/errors.ts';
import type { DesignInput, ExperimentService } from '../../optimizer/ab/index.ts';
import { assertTenant, requireRole } from '../auth.ts';
import { idString, reasonSchema, stationIdSchema } from '../schemas.ts';

export interface ExperimentRouteDeps {
  service: ExperimentService;
  tokenSecret: string;
  /** Called after a create, so an in-process runner enrolls the very next call. */
  onCreated?: () => Promise<void>;
}

// JSON Schema 2020-12 numeric bounds (the document is OpenAPI 3.1, whose schemas are that dialect).
const probability = (exclusive: boolean) =>
  exclusive
    ? { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 }
    : { type: 'number', exclusiveMinimum: 0, maximum: 0.5 };
const sample = { type: 'integer', minimum: 2, maximum: 100_000 } as const;

interface CreateBody extends DesignInput {
  station_id: number;
  scope: { level: 'tenant' | 'global'; tenant_id?: string };
  treatment: Record<string, number>;
  call_ttl_ms?: number;
  salt?: string;
  reason: string;
}

const idParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'string', format: 'uuid' } },
} as const;

export const experimentRoutes: FastifyPluginAsync<ExperimentRouteDeps> = async (app, deps) => {
  app.post<{ Body: CreateBody }>(
    '/v1/experiments',
    {
      preHandler: requireRole(deps.tokenSecret, 'operator'),
      schema: {
        summary:
          'Start an A/B experiment: treatment values against the current defaults of a station at tenant or global scope',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['station_id', 'scope', 'treatment', 'reason'],
          properties: {
            station_id: stationIdSchema,
            scope: {
              type: 'object',
              additionalProperties: false,
              required: ['level'],
              properties: {
                level: { type: 'string', enum: ['tenant', 'global'] },
                tenant_id: idString,
              },
            },
            treatment: { type: 'object', minProperties: 1, additionalProperties: { type: 'number' } },
            treatment_share: probability(true),
            min_sample_per_arm: sample,
            max_sample_per_arm: sample,
            looks: { type: 'integer', minimum: 1, maximum: 20 },
            alpha: probability(false),
            min_effect_points: { type: 'number', minimum: 0, maximum: 100 },
            segments_per_call: { type: 'integer', minimum: 1, maximum: 1000 },
            guardrail: {
              type: 'object',
              additionalProperties: false,
              properties: {
                alpha: probability(false),
                min_sample_per_arm: sample,
                every: { type: 'integer', minimum: 1, maximum: 100_000 },
                min_drop_points: { type: 'number', minimum: 0, maximum: 100 },
              },
            },
            call_ttl_ms: { type: 'integer', minimum: 1000 },
            salt: idString,
            reason: reasonSchema,
          },
        },
      },
    },
    async (req, reply) => {
      const b = req.body;
      // The scope's shape is checked before the tenant, so a missing id is a 400 that says so.
      if ((b.scope.level === 'tenant') !== (b.scope.tenant_id !== undefined)) {
        const reason =
          b.scope.level === 'tenant' ? 'is required for tenant scope' : 'must be absent for global scope';
        throw validationError(`scope.tenant_id ${reason}`, [{ field: 'scope.tenant_id', reason }]);
      }
      const scope: Scope = { level: b.scope.level, tenant_id: b.scope.tenant_id ?? null, call_id: null };
      assertTenant(req, scope.tenant_id);
      const { station_id, treatment, call_ttl_ms, salt, reason, scope: _s, ...design } = b;
      const view = await deps.service.create({
        actor: `user:${req.principal?.sub ?? 'unknown'}`,
        stationId: station_id,
        scope,
        treatment,
        design,
        callTtlMs: call_ttl_ms ?? null,
        ...(salt ? { salt } : {}),
        reason,
      });
      await deps.onCreated?.();
      return reply.status(201).send(view);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/experiments/:id',
    {
      preHandler: requireRole(deps.tokenSecret, 'operator', 'viewer'),
      schema: { summary: 'An experiment with its arms, looks, verdict and numbers', params: idParams },
    },
    async (req) => {
      const view = await deps.service.get(req.params.id);
      if (!view) throw new VoiceloopError('NOT_FOUND', `experiment ${req.params.id} does not exist`);
      assertTenant(req, view.scope.tenant_id);
      return view;
    },
  );

  app.post<{ Params: { id: string }; Body: { reason: string; rollback?: boolean } }>(
    '/v1/experiments/:id/stop',
    {
      preHandler: requireRole(deps.tokenSecret, 'operator'),
      schema: {
        summary: 'Stop a running experiment; its treatment calls are rolled back unless rollback is false',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['reason'],
          properties: {
            reason: reasonSchema,
            rollback: { type: 'boolean' },
          },
        },
      },
    },
    async (req) => {
      const view = await deps.service.get(req.params.id);
      if (!view) throw new VoiceloopError('NOT_FOUND', `experiment ${req.params.id} does not exist`);
      assertTenant(req, view.scope.tenant_id);
      return deps.service.stop(
        req.params.id,
        `user:${req.principal?.sub ?? 'unknown'}`,
        req.body.reason,
        req.body.rollback ?? true,
      );
    },
  );
};
