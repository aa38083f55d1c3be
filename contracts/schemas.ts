// Loads the Avro contracts from avro/*.avsc. Shared named types (avro/common/*.avsc, e.g. voiceloop.Scope)
// are inlined at their first use so that every registered schema is standalone: readers in any language
// resolve it from the registry without schema references.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const AVRO_DIR = join(import.meta.dirname, '..', 'avro');

export const CONTRACTS = [
  'StationSnapshot',
  'OptimizerResult',
  'ParameterChange',
  'ConfigRecord',
  'ConfigAck',
] as const;
export type ContractName = (typeof CONTRACTS)[number];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function readJson(path: string): Json {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Json;
  } catch (err) {
    throw new Error(`cannot read Avro schema ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function loadCommon(): Map<string, Json> {
  const out = new Map<string, Json>();
  for (const file of readdirSync(join(AVRO_DIR, 'common')).filter((f) => f.endsWith('.avsc'))) {
    const schema = readJson(join(AVRO_DIR, 'common', file)) as { name: string; namespace?: string };
    out.set(`${schema.namespace ?? 'voiceloop'}.${schema.name}`, schema as unknown as Json);
  }
  return out;
}

function inline(node: Json, common: Map<string, Json>, seen: Set<string>): Json {
  if (typeof node === 'string') {
    const def = common.get(node);
    if (def === undefined || seen.has(node)) return node;
    seen.add(node);
    return inline(structuredClone(def), common, seen);
  }
  if (Array.isArray(node)) return node.map((n) => inline(n, common, seen));
  if (node !== null && typeof node === 'object') {
    const out: { [k: string]: Json } = {};
    for (const [k, v] of Object.entries(node)) {
      // Only type positions can reference a named type; docs and defaults stay as written.
      out[k] =
        k === 'type' || k === 'items' || k === 'values' || k === 'fields' ? inline(v, common, seen) : v;
    }
    return out;
  }
  return node;
}

const cache = new Map<string, object>();

/** The standalone schema of a contract, as registered (optionally a later version file `Name.vN.avsc`). */
export function loadSchema(name: string): object {
  const hit = cache.get(name);
  if (hit) return hit;
  const raw = readJson(join(AVRO_DIR, `${name}.avsc`));
  const resolved = inline(raw, loadCommon(), new Set()) as object;
  cache.set(name, resolved);
  return resolved;
}
