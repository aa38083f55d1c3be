// Maps errors to HTTP answers: bad input is a 4xx that says what is wrong, a transient dependency
// failure a 503 the client may retry, and only a bug a 500.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { VoiceloopError, wrapIo } from '../lib/errors.ts';
import { type OutageLog, unavailableDependency } from '../lib/outages.ts';

const STATUS: Partial<Record<VoiceloopError['code'], number>> = {
  VALIDATION: 400,
  DECODE: 400,
  UNSAFE_CHANGE: 422,
  // PostgreSQL refused the data (storage/db.ts classifies by SQLSTATE): the input reached SQL unchecked.
  DATA_REFUSED: 422,
  NOT_FOUND: 404,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  CONFLICT: 409,
};

// SQLSTATE classes that mean the server or the connection is unavailable for now: 08 connection,
// 40 rollback (serialization, deadlock), 53 insufficient resources, 57 operator intervention (restart),
// 58 system error. Anything else from PostgreSQL is about the statement or its data: retrying the same
// request cannot help, so it is no 503.
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);
const TRANSIENT_SQLSTATE = /^(08|40|53|57|58)/;

function sqlState(err: unknown): string | undefined {
  for (let e = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** The HTTP status of an error raised on purpose: 4xx for input, 503 only for a dependency that is down. */
export function statusOf(err: VoiceloopError): number {
  const mapped = STATUS[err.code];
  if (mapped) return mapped;
  const state = err.code === 'DATABASE' ? sqlState(err.cause) : undefined;
  if (state) {
    // 22 data exception, 23 integrity violation: the input reached SQL unchecked; it can never succeed.
    if (/^2[23]/.test(state)) return 422;
    return TRANSIENT_SQLSTATE.test(state) ? 503 : 500;
  }
  return err.canRetry ? 503 : 500;
}

/**
 * The API's error handler. With an outage log, a 503 because a dependency is down is counted there (the
 * outage logged once when it starts and once when it ends) instead of logged per request with a stack;
 * every other 5xx is logged at error with its stack.
 */
export function createErrorHandler(outages?: OutageLog) {
  return function errorHandler(
    err: FastifyError | VoiceloopError | Error,
    req: FastifyRequest,
    reply: FastifyReply,
  ): FastifyReply {
    if (err instanceof VoiceloopError) return known(err, req, reply);
    return unknown(err, req, reply);
  };

  function known(err: VoiceloopError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
    const status = statusOf(err);
    const dependency = status === 503 ? unavailableDependency(err) : undefined;
    if (dependency && outages) outages.refused(dependency, err);
    else if (status >= 500) req.log.error({ err }, 'request failed');
    if (status === 503) reply.header('retry-after', '1');
    const code = status === 422 && err.code === 'DATABASE' ? 'UNPROCESSABLE' : err.code;
    return reply.status(status).send({ error: code, message: err.message, details: err.details });
  }

  function unknown(err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): FastifyReply {
    const fe = err as FastifyError;
    if (fe.validation) {
      const details = fe.validation.map((v) => {
        const path = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
        const extra = (v.params as { missingProperty?: string; additionalProperty?: string }) ?? {};
        const field = [path, extra.missingProperty ?? extra.additionalProperty].filter(Boolean).join('.');
        return { field: field || fe.validationContext || 'body', reason: v.message ?? 'is invalid' };
      });
      const msg = details.map((d) => `${d.field} ${d.reason}`).join('; ');
      return reply.status(400).send({
        error: 'VALIDATION',
        message: `invalid ${fe.validationContext ?? 'request'}: ${msg}`,
        details,
      });
    }
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
      return reply
        .status(fe.statusCode)
        .send({ error: fe.code ?? 'BAD_REQUEST', message: fe.message, details: [] });
    }
    // A client library's error that reached here unwrapped (a route querying the pool directly).
    const io = (err as { code?: unknown }).code;
    if (
      sqlState(err) ||
      (typeof io === 'string' && NETWORK_CODES.has(io)) ||
      /Connection terminated/.test(err.message)
    ) {
      return known(wrapIo('DATABASE', 'PostgreSQL', err), req, reply);
    }
    req.log.error({ err }, 'unexpected error');
    return reply.status(500).send({ error: 'INTERNAL', message: 'internal error', details: [] });
  }
}
