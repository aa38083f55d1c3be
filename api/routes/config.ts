// Config API (DESIGN §9): every change goes through ChangeService — the same safe path the optimizers
// use. Unsafe changes are refused with 422 and every reason (and recorded as rejected in the audit);
// malformed requests get 400 and write nothing.
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { parameterByName, stationById } from '../../catalog/index.ts';
import type { ChangeOutcome, ChangeService } from '../../config/changes.ts';
import { checkScope } from '../../config/keys.ts';
import type { Scope } from '../../contracts/generated.ts';
import { VoiceloopError, validationError } from '../../lib/errors.ts';
import type { Pool } from '../../storage/db.ts';
import { assertTenant, requireRole } from '../auth.ts';
import { idString, reasonSchema, stationIdSchema, versionSchema } from '../schemas.ts';

export interface ConfigRouteDeps {
  changes: ChangeService;
  pool: Pool;
  tokenSecret: string;
}

const scopeSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['level'],
  properties: {
    level: { type: 'string', enum: ['global', 'tenant', 'call'] },
    tenant_id: idString,
    call_id: idString,
  },
} as const;

interface ScopeBody {
  level: Scope['level'];
  tenant_id?: string;
  call_id?: string;
}

function toScope(b: ScopeBody): Scope {
  const scope: Scope = { level: b.level, tenant_id: b.tenant_id ?? null, call_id: b.call_id ?? null };
  const problems = checkScope(scope);
  if (problems.length)
    throw validationError(
      `scope: ${problems.join('; ')}`,
      problems.map((reason) => ({ field: 'scope', reason })),
    );
  return scope;
}

function knownStation(id: number): void {
  if (!stationById(id))
    throw validationError(`station_id: unknown station ${id}`, [
      { field: 'station_id', reason: `unknown station ${id}; see catalog/stations.json` },
    ]);
}

function actorOf(req: FastifyRequest): string {
  return `user:${req.principal?.sub ?? 'unknown'}`;
}

function answer(o: ChangeOutcome) {
  return {
    status: o.status,
    change_id: o.change.change_id,
    version: o.change.config_version,
    before: o.change.before,
    after: o.change.after,
    reasons: o.reasons,
    cold_params: o.coldParams,
    expires_at: o.record?.expires_at ?? null,
  };
}

export const configRoutes: FastifyPluginAsync<ConfigRouteDeps> = async (app, deps) => {
  updateRoute(app, deps);

  rollbackRoute(app, deps);

  effectiveRoute(app, deps);
};

/** POST /v1/config/update: a parameter change through the one change path. */
function updateRoute(app: FastifyInstance, deps: ConfigRouteDeps): void {
  app.post<{
    Body: {
      station_id: number;
      scope: ScopeBody;
      parameters: Record<string, number>;
      reason: string;
      ttl_ms?: number;
    };
  }>(
    '/v1/config/update',
    {
      preHandler: requireRole(deps.tokenSecret, 'operator'),
      schema: {
        summary: 'Change parameters of a station at a scope, through the safety layer',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['station_id', 'scope', 'parameters', 'reason'],
          properties: {
            station_id: stationIdSchema,
            scope: scopeSchema,
            parameters: { type: 'object', minProperties: 1, additionalProperties: { type: 'number' } },
            reason: reasonSchema,
            ttl_ms: { type: 'integer', minimum: 1 },
          },
        },
      },
    },
    async (req, reply) => {
      const scope = toScope(req.body.scope);
      assertTenant(req, scope.tenant_id);
      knownStation(req.body.station_id);
      const unknown = Object.keys(req.body.parameters).filter((n) => !parameterByName(n));
      if (unknown.length) {
        throw validationError(
          `unknown parameter(s): ${unknown.join(', ')}`,
          unknown.map((n) => ({ field: `parameters.${n}`, reason: 'unknown parameter' })),
        );
      }
      const out = await deps.changes.apply({
        actor: actorOf(req),
        stationId: req.body.station_id,
        scope,
        set: req.body.parameters,
        reason: req.body.reason,
        ttlMs: req.body.ttl_ms ?? null,
      });
      return reply.status(out.status === 'applied' ? 200 : 422).send(answer(out));
    },
  );
}

/** POST /v1/config/rollback: roll back a change, or a key to a version (itself a new change). */
function rollbackRoute(app: FastifyInstance, deps: ConfigRouteDeps): void {
  app.post<{
    Body: { change_id?: string; station_id?: number; scope?: ScopeBody; to_version?: number; reason: string };
  }>(
    '/v1/config/rollback',
    {
      preHandler: requireRole(deps.tokenSecret, 'operator'),
      schema: {
        summary: 'Roll back a change (or a key to a version); the rollback is itself a new change',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['reason'],
          properties: {
            change_id: { type: 'string', format: 'uuid' },
            station_id: stationIdSchema,
            scope: scopeSchema,
            to_version: versionSchema,
            reason: reasonSchema,
          },
        },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const byChange = b.change_id !== undefined;
      const byVersion = b.station_id !== undefined || b.scope !== undefined || b.to_version !== undefined;
      if (
        byChange === byVersion ||
        (byVersion && (b.station_id === undefined || !b.scope || b.to_version === undefined))
      ) {
        throw validationError('give either change_id, or station_id + scope + to_version', [
          { field: 'body', reason: 'give either change_id, or station_id + scope + to_version' },
        ]);
      }
      let scope: Scope;
      if (byChange) {
        const { rows } = await deps.pool.query(
          'SELECT scope_level, tenant_id, call_id FROM parameter_changes WHERE stream = $1 AND change_id = $2',
          [deps.changes.stream, b.change_id],
        );
        if (!rows[0]) throw new VoiceloopError('NOT_FOUND', `change ${b.change_id} does not exist`);
        scope = { level: rows[0].scope_level, tenant_id: rows[0].tenant_id, call_id: rows[0].call_id };
      } else {
        knownStation(b.station_id!);
        scope = toScope(b.scope!);
      }
      assertTenant(req, scope.tenant_id);
      const out = await deps.changes.rollback({
        actor: actorOf(req),
        reason: b.reason,
        ...(byChange
          ? { changeId: b.change_id! }
          : { stationId: b.station_id!, scope, toVersion: b.to_version! }),
      });
      return reply.status(out.status === 'applied' ? 200 : 422).send(answer(out));
    },
  );
}

/** GET /v1/config: the effective parameters of a station at a scope. */
function effectiveRoute(app: FastifyInstance, deps: ConfigRouteDeps): void {
  app.get<{
    Querystring: { station_id: string; level?: Scope['level']; tenant_id?: string; call_id?: string };
  }>(
    '/v1/config',
    {
      preHandler: requireRole(deps.tokenSecret, 'operator', 'viewer', 'station'),
      schema: {
        summary: 'Effective parameters of a station at a scope, each with the scope and change it came from',
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['station_id'],
          properties: {
            station_id: { type: 'string', pattern: '^[0-9]{1,4}$' },
            level: { type: 'string', enum: ['global', 'tenant', 'call'] },
            tenant_id: idString,
            call_id: idString,
          },
        },
      },
    },
    async (req) => {
      const q = req.query;
      const level = q.level ?? (q.call_id ? 'call' : q.tenant_id ? 'tenant' : 'global');
      const scope = toScope({
        level,
        ...(q.tenant_id ? { tenant_id: q.tenant_id } : {}),
        ...(q.call_id ? { call_id: q.call_id } : {}),
      });
      if (scope.tenant_id) assertTenant(req, scope.tenant_id);
      const stationId = Number(q.station_id);
      knownStation(stationId);
      const eff = await deps.changes.effective(stationId, scope);
      return {
        station_id: stationId,
        scope,
        version: eff.version,
        parameters: Object.fromEntries(
          Object.entries(eff.params).map(([name, value]) => [
            name,
            {
              value,
              unit: parameterByName(name)?.unit ?? '',
              scope: eff.sources[name]?.level ?? 'default',
              change_id: eff.sources[name]?.change_id ?? null,
              version: eff.sources[name]?.version ?? 0,
            },
          ]),
        ),
      };
    },
  );
}
