// How much broadband noise a suppressor's input holds, for the RNNoise block's mix (rnnoise.ts): the
// distance in dB from the speech's peaks down to the noise floor, both read above NEED_HIGHPASS_HZ so
// mains hum (50/60 Hz and its first harmonics), which no noise suppressor should treat as noise, does
// not count as a floor. Clean speech reads 80 dB or more once a pause has fallen in the window (its
// pauses are near silence; 45-58 dB before that), speech in noise about its SNR plus the speech's crest
// (babble at a 24.5 dB SNR about 43, pink at 46.5 dB 51-60). Pure and streaming, one value per frame.
//
// Measured before it was built (generated profiles, seeds 1-5, stations 1/3/11, 60 stations, the
// catalog defaults with RNNoise on against off): where the input held noise RNNoise raised PESQ by up to
// +0.5; where it held none (digital silence in the pauses, or only weak hum) it cost 0.02-0.10, and the
// offline search, blind to the difference, switched it on there (eval: 9 of the 12 stations whose best
// set lost more than 0.02 PESQ against the defaults).
import { HighPassFilter } from './highpass.ts';
import { NoiseFloor } from './noiseFloor.ts';
import { powerToDb } from './units.ts';

/** The floor and peaks are read above this, out of the reach of mains hum and its low harmonics. */
export const NEED_HIGHPASS_HZ = 400;
/**
 * How far back the floor and the peaks look. Longer than the AGC's 1.5 s: a clean talker can go 1.5 s
 * without a pause, and the floor then reads the quietest syllable, 45-55 dB under the peaks, as if it
 * were noise at a 45 dB SNR (generated profiles); over 3 s a pause nearly always falls in the window.
 */
const NEED_WINDOW_S = 3;
/** Power of digital silence, so a pause of exact zeros reads as a very low floor, not minus infinity. */
const SILENCE_POWER = 1e-14;

export class NoiseNeed {
  private readonly hp: HighPassFilter;
  private readonly buf: Float32Array;
  private readonly floor: NoiseFloor;
  // The loudest frame over the same window: a NoiseFloor of reciprocal powers.
  private readonly peak: NoiseFloor;
  private db = 0;
  private started = false;

  constructor(
    sampleRate: number,
    /** The length of a frame `push` takes. */
    readonly frameSamples: number,
    /** How far back the floor and the peaks look, s (NEED_WINDOW_S unless a reader can wait longer). */
    windowS = NEED_WINDOW_S,
  ) {
    this.hp = new HighPassFilter(sampleRate, { cutoffHz: NEED_HIGHPASS_HZ });
    this.buf = new Float32Array(frameSamples);
    const frameMs = (1000 * frameSamples) / sampleRate;
    this.floor = new NoiseFloor(frameMs, windowS);
    this.peak = new NoiseFloor(frameMs, windowS);
  }

  /** Adds one frame (exactly `frameSamples` long) and returns the peak-to-floor distance in dB. */
  push(frame: ArrayLike<number>): number {
    // The exact zeros a stream starts with (the delay lines of the blocks before, or a stream that opens
    // on digital silence) say nothing of the line's noise; they would read as a clean floor for a window.
    // So does the frame the signal starts in, mostly zeros (a noisy line read 85 dB, as clean, until
    // that frame left the window): the floor starts with the first frame that opens on a sample.
    if (!this.started) {
      if (frame[0] === 0) return this.db;
      this.started = true;
    }
    const b = this.buf;
    for (let i = 0; i < b.length; i++) b[i] = frame[i] as number;
    this.hp.process(b);
    let sum = 0;
    for (let i = 0; i < b.length; i++) sum += (b[i] as number) * (b[i] as number);
    const p = sum / b.length + SILENCE_POWER;
    const floor = this.floor.push(p);
    const peak = 1 / this.peak.push(1 / p);
    this.db = powerToDb(peak / floor);
    return this.db;
  }

  /** Whether the floor has a whole window behind it (before that, a clean talker may not have paused yet). */
  settled(): boolean {
    return this.floor.full();
  }

  /** The last value `push` returned (0 before the first frame). */
  value(): number {
    return this.db;
  }

  reset(): void {
    this.hp.reset();
    this.floor.reset();
    this.peak.reset();
    this.db = 0;
    this.started = false;
  }
}
