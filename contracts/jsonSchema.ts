// JSON Schema (draft-07, as fastify/ajv use it) derived from the Avro contracts, so HTTP validation and
// the OpenAPI document come from the same source as the Kafka payloads.
import { loadSchema } from './schemas.ts';

type Avro = string | Avro[] | { [k: string]: unknown };
export type JsonSchema = Record<string, unknown>;

const INT32 = { type: 'integer', minimum: -2147483648, maximum: 2147483647 };

export function avroToJsonSchema(node: Avro, named = new Map<string, JsonSchema>()): JsonSchema {
  if (typeof node === 'string') {
    switch (node) {
      case 'null':
        return { type: 'null' };
      case 'boolean':
        return { type: 'boolean' };
      case 'int':
        return { ...INT32 };
      case 'long':
        return { type: 'integer' };
      case 'float':
      case 'double':
        return { type: 'number' };
      case 'string':
        return { type: 'string' };
      default: {
        const def = named.get(node) ?? named.get(node.split('.').pop()!);
        if (!def) throw new Error(`unknown Avro type ${node}`);
        return def;
      }
    }
  }
  if (Array.isArray(node)) {
    // ["null", X] is the Avro way to say optional: X with `nullable` keeps defaults inside X usable
    // (ajv ignores defaults under anyOf) and gives plain error messages.
    const nonNull = node.filter((n) => n !== 'null');
    if (nonNull.length === 1 && nonNull.length < node.length)
      return { ...avroToJsonSchema(nonNull[0]!, named), nullable: true };
    return { anyOf: node.map((n) => avroToJsonSchema(n, named)) };
  }
  const t = node.type as Avro;
  if (t === 'record') {
    const fields = node.fields as { name: string; type: Avro; default?: unknown; doc?: string }[];
    const out: JsonSchema = {
      type: 'object',
      additionalProperties: false,
      required: fields.filter((f) => !('default' in f)).map((f) => f.name),
      properties: Object.fromEntries(
        fields.map((f) => {
          const s: JsonSchema = { ...avroToJsonSchema(f.type, named) };
          if (f.doc) s.description = f.doc;
          if ('default' in f) s.default = f.default;
          return [f.name, s];
        }),
      ),
    };
    named.set(node.name as string, out);
    return out;
  }
  if (t === 'enum') {
    const out = { type: 'string', enum: node.symbols as string[] };
    named.set(node.name as string, out);
    return out;
  }
  if (t === 'array') return { type: 'array', items: avroToJsonSchema(node.items as Avro, named) };
  if (t === 'map')
    return { type: 'object', additionalProperties: avroToJsonSchema(node.values as Avro, named) };
  return avroToJsonSchema(t, named);
}

export function contractJsonSchema(name: string): JsonSchema {
  return avroToJsonSchema(loadSchema(name) as Avro);
}
