// Applies one station's impairment profile to clean speech. Order follows the signal path of a real
// line: the talker's level, then the echo of the far end (hybrid or acoustic), additive noise, mains
// hum and a DC offset picked up in the analogue/ADC stage, and last the converter's saturation. The
// clean reference returned is the speech at the station's level, so a reference metric compares what
// came out of the DSP with what the talker said.
import { activeSpeechLevel } from '../../audio/metrics/index.ts';
import type { StationImpairment } from './impairments.ts';
import { babbleNoise, convolve, echoPath, hum, pinkNoise, whiteNoise } from './noise.ts';
import type { Rng } from './random.ts';

export interface ImpairOptions {
  sampleRate: number;
  /** Far-end speech (the other leg), same length as the clean signal; required when the profile has echo. */
  farEnd?: Float32Array;
  promptDir?: string;
}

export interface Impaired {
  /** What arrives at the station. */
  samples: Float32Array;
  /** The clean speech at the station's level (the reference). */
  clean: Float32Array;
  /** The far-end signal at its level (the echo canceller's reference), when one was given. */
  farEnd?: Float32Array;
  /** Each additive component on its own, for tests and labels. */
  components: { echo?: Float32Array; noise?: Float32Array; hum?: Float32Array };
}

function scaleToLevel(x: Float32Array, sampleRate: number, levelDb: number): Float32Array {
  const level = activeSpeechLevel(x, sampleRate).levelDbov;
  // Silence stays silence: there is no level to correct.
  const g = level > -100 ? 10 ** ((levelDb - level) / 20) : 1;
  return Float32Array.from(x, (v) => v * g);
}

function meanSquare(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] as number) ** 2;
  return x.length === 0 ? 0 : s / x.length;
}

/**
 * `clean` impaired by `profile`, random parts drawn from `rng`. Noise is scaled to exactly `snr_db`
 * below the clean speech's P.56 active level; the hum to exactly `level_dbfs` RMS.
 */
export function impair(
  clean: Float32Array,
  profile: StationImpairment,
  rng: Rng,
  opts: ImpairOptions,
): Impaired {
  const sr = opts.sampleRate;
  const n = clean.length;
  const speech = scaleToLevel(clean, sr, profile.level_db);
  const y = new Float32Array(speech);
  const out: Impaired = { samples: y, clean: speech, components: {} };

  if (opts.farEnd !== undefined) {
    if (opts.farEnd.length !== n) {
      throw new RangeError(`far-end signal has ${opts.farEnd.length} samples, clean speech ${n}`);
    }
    out.farEnd = scaleToLevel(opts.farEnd, sr, profile.echo?.far_level_db ?? -26);
  }
  if (profile.echo !== undefined) {
    if (out.farEnd === undefined)
      throw new RangeError('impair: the profile has echo but no farEnd signal was given');
    const e = profile.echo;
    const h = echoPath(sr, e.delay_ms, e.dispersion_ms, e.gain_db, Math.floor(rng() * 2 ** 32));
    const echo = convolve(out.farEnd, h);
    for (let i = 0; i < n; i++) y[i] = (y[i] as number) + (echo[i] as number);
    out.components.echo = echo;
  }
  if (profile.noise !== undefined) {
    const { type, snr_db } = profile.noise;
    const raw =
      type === 'white'
        ? whiteNoise(n, rng)
        : type === 'pink'
          ? pinkNoise(n, rng)
          : babbleNoise(n, sr, rng, opts.promptDir);
    const speechDb = activeSpeechLevel(speech, sr).levelDbov;
    const ms = meanSquare(raw);
    const g = ms > 0 && speechDb > -100 ? Math.sqrt(10 ** ((speechDb - snr_db) / 10) / ms) : 0;
    for (let i = 0; i < n; i++) {
      raw[i] = (raw[i] as number) * g;
      y[i] = (y[i] as number) + (raw[i] as number);
    }
    out.components.noise = raw;
  }
  if (profile.hum !== undefined) {
    const { freq_hz, level_dbfs, harmonics } = profile.hum;
    const h = hum(n, sr, freq_hz, harmonics, 10 ** (level_dbfs / 20), rng);
    for (let i = 0; i < n; i++) y[i] = (y[i] as number) + (h[i] as number);
    out.components.hum = h;
  }
  if (profile.dc_offset !== undefined) {
    const dc = profile.dc_offset;
    for (let i = 0; i < n; i++) y[i] = (y[i] as number) + dc;
  }
  if (profile.clip !== undefined) {
    const g = 10 ** (profile.clip.drive_db / 20);
    for (let i = 0; i < n; i++) {
      const v = (y[i] as number) * g;
      y[i] = Math.max(-1, Math.min(1, v));
    }
  }
  return out;
}
