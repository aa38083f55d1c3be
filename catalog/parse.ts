// Shape checks for the catalog JSON. A malformed catalog is a deployment error, so it throws at load
// with the entry and field named: a station agent must never start on a half-understood catalog.
import {
  DSP_BLOCKS,
  type DspBlockName,
  PARAMETER_UNITS,
  type ParameterSpec,
  type ParameterUnit,
  STAGE_METRICS,
  type StageMetric,
  type StationSpec,
} from './types.ts';

export class CatalogError extends Error {
  override readonly name = 'CatalogError';
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(where: string, field: string, why: string): never {
  throw new CatalogError(`${where}: field "${field}" ${why}`);
}

function str(o: Json, where: string, field: string): string {
  const v = o[field];
  if (typeof v !== 'string' || v.length === 0)
    fail(where, field, `must be a non-empty string, got ${show(v)}`);
  return v;
}

function num(o: Json, where: string, field: string): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isFinite(v))
    fail(where, field, `must be a finite number, got ${show(v)}`);
  return v;
}

function bool(o: Json, where: string, field: string): boolean {
  const v = o[field];
  if (typeof v !== 'boolean') fail(where, field, `must be a boolean, got ${show(v)}`);
  return v;
}

function oneOf<T extends string>(o: Json, where: string, field: string, allowed: readonly T[]): T {
  const v = o[field];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    fail(where, field, `must be one of ${allowed.join(', ')}, got ${show(v)}`);
  }
  return v as T;
}

function arrayOf<T>(o: Json, where: string, field: string, item: (v: unknown, i: number) => T): T[] {
  const v = o[field];
  if (!Array.isArray(v)) fail(where, field, `must be an array, got ${show(v)}`);
  const out = v.map(item);
  if (new Set(out).size !== out.length) fail(where, field, 'must not contain duplicates');
  return out;
}

function show(v: unknown): string {
  return v === undefined ? 'nothing' : JSON.stringify(v);
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/** A discrete parameter's values: at least two, ascending, within [min, max], the default among them. */
function choices(o: Json, where: string, min: number, max: number, def: number): number[] {
  const v = arrayOf(o, where, 'values', (x) => {
    if (typeof x !== 'number' || !Number.isFinite(x))
      fail(where, 'values', `must hold finite numbers, got ${show(x)}`);
    if (x < min || x > max) fail(where, 'values', `must lie within [${min}, ${max}], got ${x}`);
    return x;
  });
  if (v.length < 2) fail(where, 'values', `must offer at least two choices, got ${show(v)}`);
  if (v.some((x, i) => i > 0 && x <= v[i - 1]!)) fail(where, 'values', `must be ascending, got ${show(v)}`);
  if (!v.includes(def)) fail(where, 'values', `must include the default ${def}, got ${show(v)}`);
  return v;
}

const SNAKE_CASE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

export function parseParameterCatalog(json: unknown): readonly ParameterSpec[] {
  if (!isObject(json) || !Array.isArray(json['parameters'])) {
    throw new CatalogError('parameter catalog: top level must be an object with a "parameters" array');
  }
  const seen = new Set<string>();
  const out = json['parameters'].map((entry: unknown, i: number): ParameterSpec => {
    let where = `parameter #${i}`;
    if (!isObject(entry)) throw new CatalogError(`${where}: must be an object`);
    const name = str(entry, where, 'name');
    where = `parameter #${i} (${name})`;
    if (!SNAKE_CASE.test(name)) fail(where, 'name', 'must be snake_case');
    if (seen.has(name)) fail(where, 'name', 'is a duplicate');
    seen.add(name);
    const min = num(entry, where, 'min');
    const max = num(entry, where, 'max');
    const def = num(entry, where, 'default');
    const maxStep = num(entry, where, 'max_step');
    if (min >= max) fail(where, 'max', `must be greater than min (${min}), got ${max}`);
    if (def < min || def > max) fail(where, 'default', `must lie within [${min}, ${max}], got ${def}`);
    if (maxStep <= 0 || maxStep > max - min) {
      fail(where, 'max_step', `must be in (0, ${max - min}] (the range width), got ${maxStep}`);
    }
    const stations = arrayOf(entry, where, 'stations', (v) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
        fail(where, 'stations', `must hold positive integer station ids, got ${show(v)}`);
      }
      return v;
    });
    if (stations.length === 0) fail(where, 'stations', 'must name at least one station');
    const values = entry['values'] === undefined ? undefined : choices(entry, where, min, max, def);
    return {
      name,
      description: str(entry, where, 'description'),
      unit: oneOf<ParameterUnit>(entry, where, 'unit', PARAMETER_UNITS),
      min,
      max,
      default: def,
      max_step: maxStep,
      stations,
      hot: bool(entry, where, 'hot'),
      block: oneOf<DspBlockName>(entry, where, 'block', DSP_BLOCKS),
      ...(values ? { values } : {}),
    };
  });
  return deepFreeze(out);
}

/**
 * Parses the station catalog and cross-checks it against the parameters: every parameter's stations
 * exist, every station runs the block of each parameter that applies to it, and every block a station
 * lists has a parameter there (a block with nothing to tune would be invisible to the optimizers).
 */
export function parseStationCatalog(
  json: unknown,
  parameters: readonly ParameterSpec[],
): readonly StationSpec[] {
  if (!isObject(json) || !Array.isArray(json['stations'])) {
    throw new CatalogError('station catalog: top level must be an object with a "stations" array');
  }
  const ids = new Set<number>();
  const out = json['stations'].map((entry: unknown, i: number): StationSpec => {
    let where = `station #${i}`;
    if (!isObject(entry)) throw new CatalogError(`${where}: must be an object`);
    const id = num(entry, where, 'id');
    where = `station #${i} (id ${id})`;
    if (!Number.isInteger(id) || id <= 0) fail(where, 'id', `must be a positive integer, got ${id}`);
    if (ids.has(id)) fail(where, 'id', 'is a duplicate');
    ids.add(id);
    const leg = entry['leg'];
    if (leg !== 'A' && leg !== 'B') fail(where, 'leg', `must be "A" or "B", got ${show(leg)}`);
    const network = bool(entry, where, 'network');
    const blocks = arrayOf(entry, where, 'dsp_blocks', (v) => {
      if (typeof v !== 'string' || !(DSP_BLOCKS as readonly string[]).includes(v)) {
        fail(where, 'dsp_blocks', `must hold blocks among ${DSP_BLOCKS.join(', ')}, got ${show(v)}`);
      }
      return v as DspBlockName;
    });
    if (blocks.includes('jitter_buffer') !== network) {
      fail(where, 'dsp_blocks', 'must include jitter_buffer exactly when the station is a network station');
    }
    const stageMetrics = arrayOf(entry, where, 'stage_metrics', (v) => {
      if (typeof v !== 'string' || !(STAGE_METRICS as readonly string[]).includes(v)) {
        fail(where, 'stage_metrics', `must hold metrics among ${STAGE_METRICS.join(', ')}, got ${show(v)}`);
      }
      return v as StageMetric;
    });
    const own = parameters.filter((p) => p.stations.includes(id));
    if (own.length === 0) fail(where, 'id', 'has no parameter in the parameter catalog');
    for (const p of own) {
      if (!blocks.includes(p.block))
        fail(where, 'dsp_blocks', `must include "${p.block}" (parameter ${p.name})`);
    }
    for (const b of blocks) {
      if (!own.some((p) => p.block === b))
        fail(where, 'dsp_blocks', `lists "${b}" but no parameter drives it`);
    }
    return {
      id,
      component: str(entry, where, 'component'),
      position: str(entry, where, 'position'),
      leg,
      network,
      dsp_blocks: blocks,
      stage_metrics: stageMetrics,
    };
  });
  for (const p of parameters) {
    for (const s of p.stations) {
      if (!ids.has(s))
        throw new CatalogError(`parameter ${p.name}: field "stations" names unknown station ${s}`);
    }
  }
  return deepFreeze(out);
}
