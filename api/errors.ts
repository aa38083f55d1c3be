// Maps errors to HTTP answers: bad input is a 4xx that says what is wrong, a transient dependency
// failure a 503 the client may retry, and only a bug a 500.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { VoiceloopError } from '../lib/errors.ts';

const STATUS: Partial<Record<VoiceloopError['code'], number>> = {
  VALIDATION: 400,
  DECODE: 400,
  UNSAFE_CHANGE: 422,
  NOT_FOUND: 404,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  CONFLICT: 409,
};

export function errorHandler(
  err: FastifyError | VoiceloopError | Error,
  req: FastifyRequest,
  reply: FastifyReply,
) {
  if (err instanceof VoiceloopError) {
    const status = STATUS[err.code] ?? (err.canRetry ? 503 : 500);
    if (status >= 500) req.log.error({ err }, 'request failed');
    if (status === 503) reply.header('retry-after', '1');
    return reply.status(status).send({ error: err.code, message: err.message, details: err.details });
  }
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
  req.log.error({ err }, 'unexpected error');
  return reply.status(500).send({ error: 'INTERNAL', message: 'internal error', details: [] });
}
