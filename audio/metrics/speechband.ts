// How much of the speech a station's processing took away, measured blind from the station's own input
// and output (no clean reference): the "speech distortion" a listener hears as thin or chopped voice
// and the blind SNR cannot see (a suppressor or gate that cuts speech raises the SNR too).
//
// Method: short-time spectra of input and output (Hann, ~32 ms, half overlap) in bands between 200 Hz
// and 3.4 kHz (the telephone band, where the speech's energy and intelligibility lie); a band of a
// frame counts as speech-dominated when the input there stands SPEECH_CELL_DB above that band's noise
// (its 20th percentile over the segment). On those cells the output/input gain (dB) is compared with
// the typical gain (their median: the processing's level change, which is not distortion): what
// lies below it is speech taken away. `cutDb` is the mean of that shortfall over the speech cells,
// each capped at CUT_CAP_DB; `spectralCutDb` the same with each frame's own median as the reference,
// so slow level changes (AGC) do not count and only the spectral shape's does.
import FFT from 'fft.js';

export interface SpeechBandChange {
  /** Mean dB the speech-dominated cells lost beyond the typical gain; 0 = untouched. */
  readonly cutDb: number;
  /** Same, against each frame's own median gain: spectral shape only. */
  readonly spectralCutDb: number;
  /** The typical (median) output/input gain on the speech cells, dB. */
  readonly gainDb: number;
  /** Speech-dominated cells judged; 0 = nothing to judge (then both cuts read 0). */
  readonly cells: number;
}

const LOW_HZ = 200;
const HIGH_HZ = 3400;
const BANDS = 8;
/** A band of a frame is speech-dominated this far above the band's noise. */
export const SPEECH_CELL_DB = 12;
/** A cell's shortfall counts at most this much (a cell cut to silence is not worth infinitely more). */
export const CUT_CAP_DB = 30;
const FLOOR = 1e-12;
const NOISE_QUANTILE = 0.2;

const ffts = new Map<number, FFT>();

function bandPowers(x: Float32Array, sampleRate: number, size: number): Float64Array[] {
  let fft = ffts.get(size);
  if (!fft) {
    fft = new FFT(size);
    ffts.set(size, fft);
  }
  const hop = size >> 1;
  const win = new Float64Array(size);
  for (let i = 0; i < size; i++) win[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / size);
  const edges: number[] = [];
  const hi = Math.min(HIGH_HZ, 0.45 * sampleRate);
  for (let b = 0; b <= BANDS; b++) {
    const hz = LOW_HZ * (hi / LOW_HZ) ** (b / BANDS);
    edges.push(Math.round((hz * size) / sampleRate));
  }
  const frame = new Float64Array(size);
  const out = new Float64Array(2 * size);
  const frames: Float64Array[] = [];
  for (let start = 0; start + size <= x.length; start += hop) {
    for (let i = 0; i < size; i++) frame[i] = x[start + i]! * win[i]!;
    fft.realTransform(out, frame);
    const bands = new Float64Array(BANDS);
    for (let b = 0; b < BANDS; b++) {
      let p = 0;
      for (let k = edges[b]!; k < Math.max(edges[b]! + 1, edges[b + 1]!); k++) {
        p += out[2 * k]! ** 2 + out[2 * k + 1]! ** 2;
      }
      bands[b] = p;
    }
    frames.push(bands);
  }
  return frames;
}

function medianOf(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const db = (p: number) => 10 * Math.log10(Math.max(p, FLOOR));

/**
 * Speech taken away between `input` and `output` of one station, the output lagging the input by
 * `latencySamples` (the chain's fixed delay). Pure; both signals at `sampleRate`.
 */
export function speechBandChange(
  input: Float32Array,
  output: Float32Array,
  sampleRate: number,
  latencySamples = 0,
): SpeechBandChange {
  if (!(sampleRate > 0)) throw new RangeError(`sample rate must be positive: ${sampleRate}`);
  const lag = Math.max(0, Math.round(latencySamples));
  const n = Math.min(input.length, output.length - lag);
  const size = 2 ** Math.round(Math.log2(0.032 * sampleRate));
  const none = { cutDb: 0, spectralCutDb: 0, gainDb: 0, cells: 0 };
  if (n < size) return none;
  const inF = bandPowers(input.subarray(0, n), sampleRate, size);
  const outF = bandPowers(output.subarray(lag, lag + n), sampleRate, size);
  const noise: number[] = [];
  for (let b = 0; b < BANDS; b++) {
    const col = inF.map((f) => f[b]!).sort((a, c) => a - c);
    noise.push(col[Math.floor(NOISE_QUANTILE * (col.length - 1))]!);
  }
  const cells: { frame: number; gain: number }[] = [];
  for (let f = 0; f < inF.length; f++) {
    for (let b = 0; b < BANDS; b++) {
      const pin = inF[f]![b]!;
      if (db(pin) - db(noise[b]!) < SPEECH_CELL_DB || pin <= FLOOR) continue;
      cells.push({ frame: f, gain: db(outF[f]![b]!) - db(pin) });
    }
  }
  if (cells.length === 0) return none;
  const gain = medianOf(cells.map((c) => c.gain));
  const byFrame = new Map<number, number[]>();
  for (const c of cells) {
    const list = byFrame.get(c.frame);
    if (list) list.push(c.gain);
    else byFrame.set(c.frame, [c.gain]);
  }
  const frameMedian = new Map([...byFrame].map(([f, g]) => [f, medianOf(g)]));
  let cut = 0;
  let spectral = 0;
  for (const c of cells) {
    cut += Math.min(CUT_CAP_DB, Math.max(0, gain - c.gain));
    spectral += Math.min(CUT_CAP_DB, Math.max(0, frameMedian.get(c.frame)! - c.gain));
  }
  return {
    cutDb: cut / cells.length,
    spectralCutDb: spectral / cells.length,
    gainDb: gain,
    cells: cells.length,
  };
}
