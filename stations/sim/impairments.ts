// Impairment profiles of the station simulator (format: stations/impairments/README.md). A profile is
// data: which problem each simulated station's input has, at which sample rate it runs. Loading
// validates every field and reports all problems at once, each naming its field path, because a
// typo in a profile would otherwise silently simulate a clean station.
import { readFileSync } from 'node:fs';
import { stationById } from '../../catalog/index.ts';

export const NOISE_TYPES = ['white', 'pink', 'babble'] as const;
export type NoiseType = (typeof NOISE_TYPES)[number];
export const CODECS = ['linear', 'pcmu'] as const;
export type SimCodec = (typeof CODECS)[number];

export interface NoiseImpairment {
  readonly type: NoiseType;
  /** Active speech level (P.56) of the clean speech over the noise's RMS level, dB. */
  readonly snr_db: number;
}

export interface HumImpairment {
  readonly freq_hz: number;
  /** RMS of the hum (all harmonics together), dBFS re full-scale square (plain RMS). */
  readonly level_dbfs: number;
  /** Relative amplitudes of f, 2f, 3f, ...; default [1, 0.5, 0.35]. */
  readonly harmonics: readonly number[];
}

export interface ClipImpairment {
  /** Gain before the hard clip at ±1, dB. 0 clips only what already exceeds full scale. */
  readonly drive_db: number;
}

export interface EchoImpairment {
  /** Bulk delay of the echo path, ms. */
  readonly delay_ms: number;
  /** Echo level relative to the far-end signal (minus the echo return loss), dB. */
  readonly gain_db: number;
  /** Active level of the far-end speech, dBov; default -26. */
  readonly far_level_db: number;
  /** Length of the exponentially decaying dispersion after the bulk delay, ms; default 6. */
  readonly dispersion_ms: number;
}

export interface NetworkImpairment {
  /** Mean packet loss on the wire, percent (before any late drop in the jitter buffer). */
  readonly loss_pct: number;
  /** Mean length of a loss burst, packets (>= 1; 1 = random loss). */
  readonly burst_len: number;
  /** Target RFC 3550 interarrival jitter, ms. */
  readonly jitter_ms: number;
  /** Minimum one-way transport delay, ms. */
  readonly delay_ms: number;
  /** Payload coding: 'pcmu' passes every frame through G.711 mu-law. Default 'linear'. */
  readonly codec: SimCodec;
}

export interface StationImpairment {
  /** Active speech level (P.56) of the clean speech at the station, dBov; default -26. */
  readonly level_db: number;
  readonly noise?: NoiseImpairment;
  readonly hum?: HumImpairment;
  readonly dc_offset?: number;
  readonly clip?: ClipImpairment;
  readonly echo?: EchoImpairment;
  readonly network?: NetworkImpairment;
}

export interface StationProfile extends StationImpairment {
  readonly stationId: number;
  readonly sampleRate: number;
}

export interface ImpairmentSet {
  readonly name: string;
  readonly description: string;
  /** Tenants simulated calls are spread over (call i goes to tenants[i % n]). */
  readonly tenants: readonly string[];
  /** One entry per simulated station, in ascending station id. */
  readonly stations: readonly StationProfile[];
}

export interface ImpairmentFieldError {
  /** Dotted path of the field, e.g. `stations.1.noise.snr_db`. */
  readonly field: string;
  readonly reason: string;
}

export class ImpairmentError extends Error {
  override readonly name = 'ImpairmentError';
  constructor(
    readonly source: string,
    readonly errors: readonly ImpairmentFieldError[],
  ) {
    super(`invalid impairment profile ${source}: ${errors.map((e) => `${e.field}: ${e.reason}`).join('; ')}`);
  }
}

export const DEFAULT_LEVEL_DB = -26;
export const DEFAULT_HUM_HARMONICS: readonly number[] = [1, 0.5, 0.35];
const DEFAULT_FAR_LEVEL_DB = -26;
const DEFAULT_DISPERSION_MS = 6;

type Obj = Record<string, unknown>;

class Checker {
  readonly errors: ImpairmentFieldError[] = [];

  fail(field: string, reason: string): void {
    this.errors.push({ field, reason });
  }

  object(v: unknown, field: string): Obj | undefined {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Obj;
    this.fail(field, `must be an object, got ${describe(v)}`);
    return undefined;
  }

  keys(o: Obj, field: string, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) this.fail(join(field, k), `unknown field (allowed: ${allowed.join(', ')})`);
    }
  }

  number(o: Obj, key: string, field: string, lo: number, hi: number, fallback?: number): number {
    const v = o[key];
    const path = join(field, key);
    if (v === undefined && fallback !== undefined) return fallback;
    if (v === undefined) {
      this.fail(path, `required, a number in [${lo}, ${hi}]`);
      return Number.NaN;
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
      this.fail(path, `must be a number in [${lo}, ${hi}], got ${describe(v)}`);
      return Number.NaN;
    }
    return v;
  }

  oneOf<T extends string>(o: Obj, key: string, field: string, values: readonly T[], fallback?: T): T {
    const v = o[key];
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      this.fail(
        join(field, key),
        `must be one of ${values.map((x) => `"${x}"`).join(', ')}, got ${describe(v)}`,
      );
      return values[0] as T;
    }
    return v as T;
  }
}

const join = (field: string, key: string) => (field === '' ? key : `${field}.${key}`);

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function parseStation(
  c: Checker,
  raw: unknown,
  field: string,
  stationId: number,
): StationImpairment | undefined {
  const o = c.object(raw, field);
  if (o === undefined) return undefined;
  c.keys(o, field, ['level_db', 'noise', 'hum', 'dc_offset', 'clip', 'echo', 'network', 'comment']);
  const out: { -readonly [K in keyof StationImpairment]: StationImpairment[K] } = {
    level_db: c.number(o, 'level_db', field, -80, 6, DEFAULT_LEVEL_DB),
  };
  if (o['noise'] !== undefined) {
    const f = join(field, 'noise');
    const n = c.object(o['noise'], f);
    if (n) {
      c.keys(n, f, ['type', 'snr_db']);
      out.noise = { type: c.oneOf(n, 'type', f, NOISE_TYPES), snr_db: c.number(n, 'snr_db', f, -20, 80) };
    }
  }
  if (o['hum'] !== undefined) {
    const f = join(field, 'hum');
    const h = c.object(o['hum'], f);
    if (h) {
      c.keys(h, f, ['freq_hz', 'level_dbfs', 'harmonics']);
      let harmonics = DEFAULT_HUM_HARMONICS;
      const rawH = h['harmonics'];
      if (rawH !== undefined) {
        const ok =
          Array.isArray(rawH) &&
          rawH.length >= 1 &&
          rawH.length <= 10 &&
          rawH.every((a) => typeof a === 'number' && Number.isFinite(a) && a >= 0) &&
          rawH.some((a) => (a as number) > 0);
        if (ok) harmonics = rawH as number[];
        else
          c.fail(
            join(f, 'harmonics'),
            `must be 1..10 non-negative amplitudes, not all 0, got ${describe(rawH)}`,
          );
      }
      out.hum = {
        freq_hz: c.number(h, 'freq_hz', f, 16, 400),
        level_dbfs: c.number(h, 'level_dbfs', f, -120, 0),
        harmonics,
      };
    }
  }
  if (o['dc_offset'] !== undefined) out.dc_offset = c.number(o, 'dc_offset', field, -0.5, 0.5);
  if (o['clip'] !== undefined) {
    const f = join(field, 'clip');
    const k = c.object(o['clip'], f);
    if (k) {
      c.keys(k, f, ['drive_db']);
      out.clip = { drive_db: c.number(k, 'drive_db', f, -20, 40, 0) };
    }
  }
  if (o['echo'] !== undefined) {
    const f = join(field, 'echo');
    const e = c.object(o['echo'], f);
    if (e) {
      c.keys(e, f, ['delay_ms', 'gain_db', 'far_level_db', 'dispersion_ms']);
      out.echo = {
        delay_ms: c.number(e, 'delay_ms', f, 0, 500),
        gain_db: c.number(e, 'gain_db', f, -80, 0),
        far_level_db: c.number(e, 'far_level_db', f, -60, 0, DEFAULT_FAR_LEVEL_DB),
        dispersion_ms: c.number(e, 'dispersion_ms', f, 0, 50, DEFAULT_DISPERSION_MS),
      };
    }
  }
  if (o['network'] !== undefined) {
    const f = join(field, 'network');
    const spec = stationById(stationId);
    if (spec !== undefined && !spec.network) {
      c.fail(f, `station ${stationId} is not a network station in the catalog (no jitter buffer)`);
    }
    const n = c.object(o['network'], f);
    if (n) {
      c.keys(n, f, ['loss_pct', 'burst_len', 'jitter_ms', 'delay_ms', 'codec']);
      out.network = {
        loss_pct: c.number(n, 'loss_pct', f, 0, 50, 0),
        burst_len: c.number(n, 'burst_len', f, 1, 50, 1),
        jitter_ms: c.number(n, 'jitter_ms', f, 0, 500, 0),
        delay_ms: c.number(n, 'delay_ms', f, 0, 2000, 0),
        codec: c.oneOf(n, 'codec', f, CODECS, 'linear'),
      };
    }
  }
  return out;
}

/** Validates a parsed JSON value as an impairment set; throws ImpairmentError naming every bad field. */
export function parseImpairments(raw: unknown, source = '<inline>'): ImpairmentSet {
  const c = new Checker();
  const top = c.object(raw, '(root)');
  if (top === undefined) throw new ImpairmentError(source, c.errors);
  c.keys(top, '', ['name', 'description', 'tenants', 'sample_rates', 'stations']);
  const name = top['name'];
  if (typeof name !== 'string' || name.length === 0)
    c.fail('name', `must be a non-empty string, got ${describe(name)}`);
  const description = top['description'] ?? '';
  if (typeof description !== 'string')
    c.fail('description', `must be a string, got ${describe(description)}`);
  let tenants: string[] = ['sim-tenant'];
  if (top['tenants'] !== undefined) {
    const t = top['tenants'];
    if (Array.isArray(t) && t.length > 0 && t.every((x) => typeof x === 'string' && x.length > 0))
      tenants = t;
    else c.fail('tenants', `must be a non-empty array of non-empty strings, got ${describe(t)}`);
  }
  const rates = c.object(top['sample_rates'], 'sample_rates') ?? {};
  const stations = c.object(top['stations'], 'stations') ?? {};
  const profiles: StationProfile[] = [];
  for (const [key, value] of Object.entries(stations)) {
    const field = `stations.${key}`;
    const id = Number(key);
    if (!/^\d+$/.test(key) || stationById(id) === undefined) {
      c.fail(field, 'not a station of the catalog (catalog/stations.json)');
      continue;
    }
    const imp = parseStation(c, value, field, id);
    const sampleRate = c.number(rates, key, 'sample_rates', 8000, 48000);
    if (Number.isFinite(sampleRate) && !Number.isInteger(sampleRate)) {
      c.fail(`sample_rates.${key}`, `must be an integer, got ${sampleRate}`);
    }
    if (imp !== undefined) profiles.push({ ...imp, stationId: id, sampleRate });
  }
  for (const key of Object.keys(rates)) {
    if (!Object.hasOwn(stations, key)) c.fail(`sample_rates.${key}`, 'no such station in "stations"');
  }
  if (Object.keys(stations).length === 0 && c.errors.length === 0)
    c.fail('stations', 'must list at least one station');
  if (c.errors.length > 0) throw new ImpairmentError(source, c.errors);
  profiles.sort((a, b) => a.stationId - b.stationId);
  return { name: name as string, description: description as string, tenants, stations: profiles };
}

/** Reads and validates an impairment profile file. */
export function loadImpairments(path: string | URL): ImpairmentSet {
  const source = String(path);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const reason =
      err instanceof SyntaxError ? `not valid JSON: ${err.message}` : `cannot be read: ${String(err)}`;
    throw new ImpairmentError(source, [{ field: '(file)', reason }]);
  }
  return parseImpairments(raw, source);
}

/** The bundled profiles (stations/impairments/<name>.json). */
export function bundledImpairmentsPath(name: 'default' | 'mild' | 'harsh' = 'default'): URL {
  return new URL(`../impairments/${name}.json`, import.meta.url);
}

/** The profile of one station, or undefined when the set does not simulate it. */
export function profileFor(set: ImpairmentSet, stationId: number): StationProfile | undefined {
  return set.stations.find((s) => s.stationId === stationId);
}

/** The same set restricted to `stationIds` (e.g. to simulate one station alone, faster). */
export function selectStations(set: ImpairmentSet, stationIds: readonly number[]): ImpairmentSet {
  return { ...set, stations: set.stations.filter((s) => stationIds.includes(s.stationId)) };
}
