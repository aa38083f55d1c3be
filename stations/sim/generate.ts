// Impairment profiles nobody hand-picked (issue 10): a seeded generator over the space the profile
// format allows (stations/impairments/README.md), for judging the loop on problems it was not tuned
// on. Every station of the catalog gets a random mix: level, noise (type and SNR), hum (frequency,
// level, harmonics), DC, clipping, echo, and at the network stations loss with bursts, jitter, delay
// and codec. Each field is drawn over its format range, except where the range's far end is a signal
// with no speech left to judge (level below -60 dBov, SNR below -5 dB, hum or DC at full scale): there
// PESQ finds no utterance and there is nothing a parameter could fix. The output is a plain profile
// object that goes through parseImpairments like a file would, so a generator bug cannot slip an
// invalid profile past the simulator's own validation.
import { loadCatalog } from '../../catalog/index.ts';
import { type ImpairmentSet, NOISE_TYPES, parseImpairments } from './impairments.ts';
import { type Rng, randomInt, rngFor, uniform } from './random.ts';

/** Rates a station may run at in generated profiles: the two PESQ is defined for (P.862.1 / P.862.2). */
export const GENERATED_RATES = [8000, 16000] as const;

// Chance that a station's input carries each impairment; several usually combine.
const P_NOISE = 0.65;
const P_HUM = 0.35;
const P_DC = 0.25;
const P_CLIP = 0.2;
// Echo where a canceller exists to fix it; elsewhere rarely (an unfixable problem the loop must not
// chase by breaking something else).
const P_ECHO_EC = 0.45;
const P_ECHO_OTHER = 0.08;
const MAINS_HZ = [50, 60] as const;

const round = (x: number, step: number) => Number((Math.round(x / step) * step).toFixed(3));
const chance = (rng: Rng, p: number) => rng() < p;
/** Uniform with a tail: mostly [lo, hi], now and then out to the far edge. */
function spread(rng: Rng, lo: number, hi: number, edge: number, pEdge = 0.15): number {
  return chance(rng, pEdge) ? uniform(rng, Math.min(hi, edge), Math.max(lo, edge)) : uniform(rng, lo, hi);
}

type StationDraft = Record<string, unknown>;

function drawStation(rng: Rng, hasEcho: boolean, network: boolean): StationDraft {
  const s: StationDraft = { level_db: round(spread(rng, -45, -12, rng() < 0.5 ? -60 : 0), 0.5) };
  if (network) {
    s['network'] = {
      loss_pct: round(spread(rng, 0, 8, 25), 0.1),
      burst_len: round(spread(rng, 1, 4, 12), 0.1),
      jitter_ms: round(spread(rng, 0, 80, 200), 1),
      delay_ms: round(uniform(rng, 0, 250), 1),
      codec: chance(rng, 0.7) ? 'pcmu' : 'linear',
    };
  }
  if (chance(rng, network ? P_NOISE / 3 : P_NOISE)) {
    s['noise'] = {
      type: NOISE_TYPES[randomInt(rng, NOISE_TYPES.length)],
      snr_db: round(spread(rng, 3, 40, rng() < 0.5 ? -5 : 70), 0.5),
    };
  }
  if (chance(rng, P_HUM)) {
    const freq = chance(rng, 0.8) ? MAINS_HZ[randomInt(rng, 2)] : round(uniform(rng, 16, 400), 1);
    const harmonics = Array.from({ length: 1 + randomInt(rng, 5) }, (_, i) =>
      i === 0 ? 1 : round(uniform(rng, 0, 0.8), 0.05),
    );
    s['hum'] = { freq_hz: freq, level_dbfs: round(uniform(rng, -75, -25), 0.5), harmonics };
  }
  if (chance(rng, P_DC)) s['dc_offset'] = round((rng() < 0.5 ? -1 : 1) * uniform(rng, 0.002, 0.15), 0.001);
  if (chance(rng, P_CLIP)) {
    // Drive the speech peaks (about 15 dB over the active level) 0-12 dB past full scale, so the clip
    // bites whatever the level; a drive that clips nothing would be no impairment at all.
    const level = s['level_db'] as number;
    s['clip'] = { drive_db: round(Math.min(40, Math.max(0, -(level + 15) + uniform(rng, 0, 12))), 0.5) };
  }
  if (chance(rng, hasEcho ? P_ECHO_EC : P_ECHO_OTHER)) {
    s['echo'] = {
      delay_ms: round(uniform(rng, 0, 300), 1),
      gain_db: round(uniform(rng, -40, -6), 0.5),
      far_level_db: round(uniform(rng, -36, -16), 0.5),
      dispersion_ms: round(uniform(rng, 0, 30), 1),
    };
  }
  return s;
}

/**
 * Generated profile number `index` of the family `seed`: every catalog station, each at 8 or 16 kHz
 * with its own mix of impairments. `tenant` names the tenant its calls belong to (default: one per
 * profile, so the batch optimizer's knowledge of one tenant is knowledge of one profile).
 */
export function generateProfile(seed: number, index: number, tenant?: string): ImpairmentSet {
  const stations: Record<string, StationDraft> = {};
  const rates: Record<string, number> = {};
  for (const spec of loadCatalog().stations) {
    const rng = rngFor('generated-profile', seed, index, spec.id);
    rates[String(spec.id)] = GENERATED_RATES[randomInt(rng, GENERATED_RATES.length)] as number;
    stations[String(spec.id)] = drawStation(rng, spec.dsp_blocks.includes('echo_canceller'), spec.network);
  }
  const name = `gen-${seed}-${index}`;
  return parseImpairments(
    {
      name,
      description: `generated (seed ${seed}, profile ${index})`,
      tenants: [tenant ?? `tenant-${name}`],
      sample_rates: rates,
      stations,
    },
    name,
  );
}
