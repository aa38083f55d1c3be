// The parameter and station catalogs (DESIGN §2, §7): the JSON beside this file, imported as data
// (a JSON module, so no file is read by this code and the pure core that uses it stays free of I/O),
// parsed and checked by an explicit call, loadCatalog(), once per process; importing this module runs
// nothing. One source for the database seed, the station agents and the optimizers.
import parametersJson from './parameters.json' with { type: 'json' };
import { parseParameterCatalog, parseStationCatalog } from './parse.ts';
import stationsJson from './stations.json' with { type: 'json' };
import type { ParameterError, ParameterSpec, StationSpec, ValidationResult } from './types.ts';

export { CatalogError, parseParameterCatalog, parseStationCatalog } from './parse.ts';
export type {
  DspBlockName,
  ParameterError,
  ParameterSpec,
  ParameterUnit,
  StageMetric,
  StationSpec,
  ValidationResult,
} from './types.ts';
export { DSP_BLOCKS, PARAMETER_UNITS, STAGE_METRICS } from './types.ts';

/** The parsed catalogs and their look-ups. */
export interface Catalog {
  readonly parameters: readonly ParameterSpec[];
  readonly stations: readonly StationSpec[];
  parameterByName(name: string): ParameterSpec | undefined;
  stationById(id: number): StationSpec | undefined;
  /** Parameters that apply to a station, in catalog order. Throws RangeError for an unknown station. */
  parametersForStation(id: number): readonly ParameterSpec[];
  /** The out-of-the-box parameter set of a station (a fresh object each call). */
  defaultsForStation(id: number): Record<string, number>;
}

function buildCatalog(): Catalog {
  const parameters = parseParameterCatalog(parametersJson);
  const stations = parseStationCatalog(stationsJson, parameters);
  const byName = new Map(parameters.map((p) => [p.name, p]));
  const byStation = new Map(stations.map((s) => [s.id, s]));
  const paramsByStation = new Map(
    stations.map((s) => [s.id, Object.freeze(parameters.filter((p) => p.stations.includes(s.id)))]),
  );
  const catalog: Catalog = {
    parameters,
    stations,
    parameterByName: (name) => byName.get(name),
    stationById: (id) => byStation.get(id),
    parametersForStation(id) {
      const list = paramsByStation.get(id);
      if (list === undefined)
        throw new RangeError(`unknown station ${id} (known: ${knownStations(stations)})`);
      return list;
    },
    defaultsForStation(id) {
      const out: Record<string, number> = {};
      for (const p of catalog.parametersForStation(id)) out[p.name] = p.default;
      return out;
    },
  };
  return Object.freeze(catalog);
}

let loaded: Catalog | undefined;

/**
 * Parses and checks the catalogs the first time it is called (a CatalogError names what is wrong) and
 * hands out the same frozen object afterwards. Importing this module parses nothing.
 */
export function loadCatalog(): Catalog {
  loaded ??= buildCatalog();
  return loaded;
}

/** Whether loadCatalog() has run in this process (the import test checks that importing does not). */
export function catalogLoaded(): boolean {
  return loaded !== undefined;
}

// Shorthands for a single look-up: each loads the catalog on its first call.
export const parameterByName = (name: string): ParameterSpec | undefined =>
  loadCatalog().parameterByName(name);
export const stationById = (id: number): StationSpec | undefined => loadCatalog().stationById(id);
export const parametersForStation = (id: number): readonly ParameterSpec[] =>
  loadCatalog().parametersForStation(id);
export const defaultsForStation = (id: number): Record<string, number> =>
  loadCatalog().defaultsForStation(id);

function knownStations(stations: readonly StationSpec[]): string {
  return stations.map((s) => s.id).join(', ');
}

/**
 * Checks a (possibly partial) parameter set against the catalog for one station. Pure; reports every
 * problem, not just the first. With `requireAll`, a parameter of the station missing from the set is an
 * error too (a ConfigRecord carries the full set).
 */
export function validateParameterSet(
  stationId: number,
  params: Readonly<Record<string, number>>,
  opts: { requireAll?: boolean } = {},
): ValidationResult {
  const catalog = loadCatalog();
  const own = catalog.stationById(stationId) ? catalog.parametersForStation(stationId) : undefined;
  if (own === undefined) {
    return {
      ok: false,
      errors: [
        {
          parameter: 'station_id',
          reason: `unknown station ${stationId} (known: ${knownStations(catalog.stations)})`,
        },
      ],
    };
  }
  const errors: ParameterError[] = [];
  for (const [name, value] of Object.entries(params)) {
    const spec = own.find((p) => p.name === name);
    if (spec === undefined) {
      const elsewhere = catalog.parameterByName(name);
      errors.push({
        parameter: name,
        reason: elsewhere
          ? `does not apply to station ${stationId} (applies to stations ${elsewhere.stations.join(', ')})`
          : `unknown parameter for station ${stationId} (known: ${own.map((p) => p.name).join(', ')})`,
      });
    } else if (typeof value !== 'number' || !Number.isFinite(value)) {
      errors.push({ parameter: name, reason: `must be a finite number, got ${String(value)}` });
    } else if (value < spec.min) {
      errors.push({
        parameter: name,
        reason: `${value} ${spec.unit} is below the minimum ${spec.min} ${spec.unit}`,
      });
    } else if (value > spec.max) {
      errors.push({
        parameter: name,
        reason: `${value} ${spec.unit} is above the maximum ${spec.max} ${spec.unit}`,
      });
    } else if (spec.values && !spec.values.includes(value)) {
      errors.push({
        parameter: name,
        reason: `${value} is not one of its values (${spec.values.join(', ')}): a switch, not a range`,
      });
    }
  }
  if (opts.requireAll) {
    for (const p of own) {
      if (!Object.hasOwn(params, p.name))
        errors.push({ parameter: p.name, reason: `missing (station ${stationId})` });
    }
  }
  return errors.length === 0 ? { ok: true } : { ok: false, errors };
}
