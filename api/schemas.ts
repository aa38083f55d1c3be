// Schema pieces shared by the routes, so an id or a number is checked the same way everywhere and the
// 400 names the field before anything reaches PostgreSQL (whose integer range and text rules would
// otherwise turn bad input into a database error).
export const ID_PATTERN = '^[A-Za-z0-9._-]{1,64}$';

/** A tenant, call or similar id: safe in keys, paths and SQL text. */
export const idString = { type: 'string', minLength: 1, maxLength: 64, pattern: ID_PATTERN } as const;

/** A station id: a PostgreSQL integer; whether it is a known station is checked by the route. */
export const stationIdSchema = { type: 'integer', minimum: 0, maximum: 2_147_483_647 } as const;

/** A config version: positive, within PostgreSQL bigint and exactly representable in JSON. */
export const versionSchema = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const;

/** Free text that PostgreSQL can store (no NUL character). */
export const reasonSchema = {
  type: 'string',
  minLength: 3,
  maxLength: 1000,
  pattern: '^[^\\u0000]*$',
} as const;
