// The parameter and station catalogs (DESIGN §2, §7): the JSON beside this file, imported as data
// (a JSON module, so no file is read by this code and the pure core that uses it stays free of I/O)
// and parsed once. One source for the database seed, the station agents and the optimizers.
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

export const parameterCatalog: readonly ParameterSpec[] = parseParameterCatalog(parametersJson);
export const stationCatalog: readonly StationSpec[] = parseStationCatalog(stationsJson, parameterCatalog);

const byName = new Map(parameterCatalog.map((p) => [p.name, p]));
const byStation = new Map(stationCatalog.map((s) => [s.id, s]));
const paramsByStation = new Map(
  stationCatalog.map((s) => [s.id, Object.freeze(parameterCatalog.filter((p) => p.stations.includes(s.id)))]),
);

export function parameterByName(name: string): ParameterSpec | undefined {
  return byName.get(name);
}

export function stationById(id: number): StationSpec | undefined {
  return byStation.get(id);
}

function knownStations(): string {
  return stationCatalog.map((s) => s.id).join(', ');
}

/** Parameters that apply to a station, in catalog order. Throws RangeError for an unknown station. */
export function parametersForStation(id: number): readonly ParameterSpec[] {
  const list = paramsByStation.get(id);
  if (list === undefined) throw new RangeError(`unknown station ${id} (known: ${knownStations()})`);
  return list;
}

/** The out-of-the-box parameter set of a station (a fresh object each call). */
export function defaultsForStation(id: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of parametersForStation(id)) out[p.name] = p.default;
  return out;
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
  const own = paramsByStation.get(stationId);
  if (own === undefined) {
    return {
      ok: false,
      errors: [
        { parameter: 'station_id', reason: `unknown station ${stationId} (known: ${knownStations()})` },
      ],
    };
  }
  const errors: ParameterError[] = [];
  for (const [name, value] of Object.entries(params)) {
    const spec = own.find((p) => p.name === name);
    if (spec === undefined) {
      const elsewhere = byName.get(name);
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
