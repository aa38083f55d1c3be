// One error module (STYLE §3): every error the system raises on purpose has a code from a closed union
// and says, as data, whether retrying can help. Retry and dead-letter decisions read `canRetry`, never
// the message text. Third-party errors are wrapped at the boundary with the original as `cause`.

export type ErrorCode =
  | 'CONFIG_INVALID' // a configuration value is wrong: fix the environment
  | 'VALIDATION' // input (HTTP body, CLI flag, Kafka record) is malformed
  | 'DECODE' // bytes that are not a valid Avro record of a known schema
  | 'SCHEMA_REGISTRY' // the registry refused or is unreachable
  | 'KAFKA' // broker unreachable, produce or commit failed
  | 'DATABASE' // PostgreSQL unreachable or a statement failed
  | 'DATA_REFUSED' // the database refused this data (a constraint or value): the row is bad, not the database
  | 'OBJECT_STORE' // S3 unreachable or refused
  | 'UNSAFE_CHANGE' // a parameter change refused by the safety layer
  | 'NOT_FOUND'
  | 'UNAUTHORIZED' // no valid token: who is asking is unknown
  | 'FORBIDDEN' // a valid token whose role or tenant may not do this
  | 'CONFLICT'
  | 'TIMEOUT'
  | 'SIDECAR' // a helper process the project installs itself (the PESQ/STOI sidecar) is missing or died
  | 'UNSCORABLE' // a measurement that cannot be made on this input (e.g. PESQ finds no utterance)
  | 'ENGINE'; // a speech engine (recognizer, synthesizer, vendor stream) failed or is missing

export interface ErrorDetail {
  field?: string;
  reason: string;
}

export class VoiceloopError extends Error {
  readonly code: ErrorCode;
  readonly canRetry: boolean;
  readonly details: ErrorDetail[];

  constructor(
    code: ErrorCode,
    message: string,
    opts: { canRetry?: boolean; cause?: unknown; details?: ErrorDetail[] } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'VoiceloopError';
    this.code = code;
    this.canRetry = opts.canRetry ?? false;
    this.details = opts.details ?? [];
  }
}

export const validationError = (message: string, details: ErrorDetail[] = []) =>
  new VoiceloopError('VALIDATION', message, { details });

/** Wraps an I/O failure from a client library; transient by default because networks are. */
export function wrapIo(code: ErrorCode, context: string, cause: unknown, canRetry = true): VoiceloopError {
  if (cause instanceof VoiceloopError) return cause;
  const msg = cause instanceof Error ? cause.message : String(cause);
  return new VoiceloopError(code, `${context}: ${msg}`, { canRetry, cause });
}

/** A programming error (TypeError, RangeError, ...) is never retried and never dead-lettered silently. */
export function isProgrammingError(err: unknown): boolean {
  return (
    err instanceof TypeError ||
    err instanceof RangeError ||
    err instanceof ReferenceError ||
    err instanceof SyntaxError
  );
}

export function canRetry(err: unknown): boolean {
  if (err instanceof VoiceloopError) return err.canRetry;
  return false;
}
