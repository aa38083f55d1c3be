// GET /v1/changes (issue 12): the audit log — who or what changed which parameter at which scope,
// when, why, and what rolled it back — and GET /v1/events, the same changes live as server-sent events.
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { validationError } from '../../lib/errors.ts';
import type { ChangeReadRow } from '../../storage/changeReads.ts';
import * as changeReads from '../../storage/changeReads.ts';
import type { Pool } from '../../storage/db.ts';
import { requireRole } from '../auth.ts';
import { ChangeFeed } from '../changeFeed.ts';
import { q, READ_ROLES, readTenant } from '../readAccess.ts';
import {
  actorKind,
  changedParams,
  decodeCursor,
  encodeCursor,
  intParam,
  stationParam,
  timeParam,
} from '../readModel.ts';

/** The live feed's operation id in /openapi.json (the contract fuzzer excludes it by this id). */
export const EVENTS_OPERATION_ID = 'streamChangeEvents';

export interface ChangeRouteDeps {
  pool: Pool;
  stream: string;
  tokenSecret: string;
  /** How often the live feed looks for new changes (default 300 ms). */
  feedPollMs?: number;
}

/** One audit row as the API shows it (the list, a call's timeline and the live feed alike). */
export function changeView(c: ChangeReadRow) {
  return {
    change_id: c.change_id,
    created_at: c.created_at.toISOString(),
    station_id: c.station_id,
    scope: { level: c.scope_level, tenant_id: c.tenant_id, call_id: c.call_id },
    actor: c.actor,
    actor_kind: actorKind(c.actor),
    reason: c.reason,
    status: c.status,
    before: c.before,
    after: c.after,
    changed: changedParams(c.before, c.after),
    config_version: c.config_version === null ? null : Number(c.config_version),
    ttl_ms: c.ttl_ms === null ? null : Number(c.ttl_ms),
    expires_at: c.expires_at?.toISOString() ?? null,
    rollback_of: c.rollback_of,
    rolled_back_by: c.rolled_back_by,
    run_id: c.run_id,
  };
}

interface ListQuery {
  tenant_id?: string;
  station_id?: string;
  call_id?: string;
  status?: string;
  actor_kind?: string;
  level?: string;
  from?: string;
  to?: string;
  limit?: string;
  cursor?: string;
}

export const changeRoutes: FastifyPluginAsync<ChangeRouteDeps> = async (app, deps) => {
  listRoute(app, deps);

  const feed = new ChangeFeed({
    pool: deps.pool,
    stream: deps.stream,
    pollMs: deps.feedPollMs ?? 300,
    log: app.log,
    view: changeView,
  });
  // Before the server closes: an open event stream would otherwise hold close() until its client left.
  app.addHook('preClose', async () => feed.stop());

  // Server-sent events. Documented like every route, but a body that never ends is no response a
  // contract fuzzer can wait for: the schemathesis run excludes this operation by its id
  // (EVENTS_OPERATION_ID; test/integration/api-fuzz.test.ts). Authorization as for every route, so a
  // browser reads it with fetch(), not EventSource (which cannot send the header).
  app.get(
    '/v1/events',
    {
      preHandler: requireRole(deps.tokenSecret, ...READ_ROLES),
      schema: {
        operationId: EVENTS_OPERATION_ID,
        summary: 'The changes as they are recorded, live: a server-sent event stream that does not end',
        description: [
          'A `text/event-stream` (WHATWG HTML, server-sent events) that stays open until the client leaves or the server',
          'closes. Events:',
          '',
          '- `hello` once at the start, `data` `{"tenant_id": <the token\'s tenant, or null for an admin>}`; the',
          '  stream also says `retry: 2000` (reconnect after 2 s).',
          '- `change` for every parameter change recorded from the moment the stream opened, `id` the change id and',
          '  `data` the same JSON object as an item of `GET /v1/changes` (applied, rejected, rolled back; rollbacks are',
          "  changes too). A tenant's token receives its own tenant's changes, an admin's every tenant's.",
          '- a comment line `: keep-alive` every 15 s, so proxies keep the connection open.',
          '',
          "Changes are read from the outbox rows the change path writes in the change's own transaction (polled every",
          '300 ms while someone listens): nothing is announced that was not recorded. Missed events are not replayed;',
          'read `GET /v1/changes` for what happened while disconnected.',
        ].join('\n'),
        response: {
          200: {
            description: 'The event stream (never ends on its own)',
            content: {
              'text/event-stream': {
                schema: {
                  type: 'string',
                  description:
                    'Server-sent events: `event: hello` once, then `event: change` with `id: <change_id>` and `data: <change JSON>`, and `: keep-alive` comments',
                },
              },
            },
          },
        },
      },
    },
    async (req, reply) => {
      const tenant = readTenant(req, undefined);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify({ tenant_id: tenant })}\n\n`);
      await feed.subscribe(res, tenant);
    },
  );
};

/** GET /v1/changes: a page of the audit log, newest first. */
function listRoute(app: FastifyInstance, deps: ChangeRouteDeps): void {
  app.get<{ Querystring: ListQuery }>(
    '/v1/changes',
    {
      preHandler: requireRole(deps.tokenSecret, ...READ_ROLES),
      schema: {
        summary:
          'The audit log of parameter changes, newest first: actor, scope, before/after, reason, status, rollback links',
        description:
          "A tenant's token sees its tenant- and call-scoped changes; an admin's sees every tenant's and the global ones (or one tenant's with tenant_id).",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            tenant_id: q.id,
            station_id: q.int,
            call_id: q.id,
            status: { type: 'string', enum: ['applied', 'rejected', 'rolled_back'] },
            actor_kind: { type: 'string', enum: ['user', 'optimizer', 'experiment'] },
            level: { type: 'string', enum: ['global', 'tenant', 'call'] },
            from: q.time,
            to: q.time,
            limit: q.int,
            cursor: q.cursor,
          },
        },
      },
    },
    async (req) => {
      const qs = req.query;
      const from = timeParam(qs.from, 'from');
      const to = timeParam(qs.to, 'to');
      if (from && to && from >= to)
        throw validationError('from must be before to', [{ field: 'from', reason: 'must be before to' }]);
      const limit = intParam(qs.limit, 'limit', 1, 500, 50);
      const rows = await changeReads.pageOfChanges(deps.pool, {
        stream: deps.stream,
        tenant: readTenant(req, qs.tenant_id),
        stationId: stationParam(qs.station_id),
        callId: qs.call_id ?? null,
        status: qs.status ?? null,
        actorKind: qs.actor_kind ?? null,
        level: qs.level ?? null,
        from,
        to,
        after: decodeCursor(qs.cursor, 2),
        limit,
      });
      const last = rows[rows.length - 1];
      return {
        items: rows.map(changeView),
        next_cursor: rows.length === limit && last ? encodeCursor([last.created_key, last.change_id]) : null,
      };
    },
  );
}
