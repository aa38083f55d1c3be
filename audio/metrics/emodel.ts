// The ITU-T G.107 (06/2015) E-model: transmission rating R from loudness ratings, noise, sidetone,
// echo, delay, codec and packet loss; and MOS-CQE from R (Annex B). Section numbers are G.107's.
// With every input at its Table 3 default it gives R = 93.21, the G.107 reference value of 93.2.

/**
 * Equipment impairment Ie and packet-loss robustness Bpl per codec, from ITU-T G.113 Appendix I
 * (Table I.1): G.711 without packet-loss concealment is G.107's own default (Bpl 4.3); with the
 * concealment of G.711 Appendix I it is far more robust (Bpl 25.1); G.729A with VAD is Ie 11, Bpl 19.0.
 * G.113 gives no narrowband values for Opus: pass `ie` and `bpl` explicitly for it.
 */
export const CODECS = {
  g711: { ie: 0, bpl: 4.3 },
  'g711-plc': { ie: 0, bpl: 25.1 },
  g729a: { ie: 11, bpl: 19.0 },
} as const satisfies Record<string, { ie: number; bpl: number }>;

export type Codec = keyof typeof CODECS;

/** G.107 Table 3 defaults (all defaults give R = 93.2). Delays in ms, levels in dB. */
export const G107_DEFAULTS = {
  /** Send loudness rating SLR. */
  slr: 8,
  /** Receive loudness rating RLR. */
  rlr: 2,
  /** Sidetone masking rating STMR. */
  stmr: 15,
  /** Listener sidetone rating LSTR. */
  lstr: 18,
  /** D-value of the telephone, send side. */
  ds: 3,
  /** D-value of the telephone, receive side (enters only through LSTR = STMR + Dr). */
  dr: 3,
  /** Talker echo loudness rating TELR. */
  telr: 65,
  /** Weighted echo path loss WEPL. */
  wepl: 110,
  /** Number of quantization distortion units qdu. */
  qdu: 1,
  /** Circuit noise referred to the 0 dBr point Nc, dBm0p. */
  nc: -70,
  /** Noise floor at the receive side Nfor, dBmp. */
  nfor: -64,
  /** Room noise at the send side Ps, dB(A). */
  ps: 35,
  /** Room noise at the receive side Pr, dB(A). */
  pr: 35,
  /** Advantage factor A. */
  advantage: 0,
  /** Idd's delay sensitivity sT and minimum perceivable delay mT (ms); defaults give the classic Idd. */
  sT: 1,
  mT: 100,
} as const;

export interface EModelInput extends Partial<Record<keyof typeof G107_DEFAULTS, number>> {
  /** Random packet-loss probability Ppl, percent (0..100). */
  readonly packetLossPct?: number;
  /** Burst ratio BurstR (>= 1; values below 1 are treated as 1, G.107's random-loss case). */
  readonly burstR?: number;
  /**
   * One-way mouth-to-ear delay, ms: sets the mean one-way delay T and the absolute delay Ta to it and
   * the round-trip delay Tr to twice it, unless those are given.
   */
  readonly oneWayDelayMs?: number;
  /** Mean one-way delay of the echo path T, ms. */
  readonly meanDelayMs?: number;
  /** Absolute delay in echo-free connections Ta, ms. */
  readonly absoluteDelayMs?: number;
  /** Round-trip delay in a 4-wire loop Tr, ms. */
  readonly roundTripDelayMs?: number;
  /** Codec for Ie and Bpl (default 'g711', G.107's defaults); `ie` / `bpl` override it. */
  readonly codec?: Codec;
  readonly ie?: number;
  readonly bpl?: number;
}

export interface EModelResult {
  /** Transmission rating R. */
  readonly r: number;
  /** MOS-CQE (Annex B). */
  readonly mos: number;
  /** Basic signal-to-noise ratio Ro. */
  readonly ro: number;
  /** Simultaneous impairment Is = Iolr + Ist + Iq. */
  readonly is: number;
  /** Delay impairment Id = Idte + Idle + Idd. */
  readonly id: number;
  /** Effective equipment impairment Ie,eff. */
  readonly ieEff: number;
}

const log10 = Math.log10;
const pow10 = (x: number) => 10 ** x;

/**
 * G.107 Annex B: R below 0 is MOS 1, above 100 is MOS 4.5. The cubic in between dips to 0.99
 * for R in (0, 6.5); it is held at 1 there, so MOS stays in 1..4.5 and never rises as R falls.
 */
export function rToMos(r: number): number {
  if (!(r > 0)) return 1;
  if (r >= 100) return 4.5;
  return Math.max(1, 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6);
}

/** The E-model for the given conditions; unspecified inputs take G.107's defaults. */
export function emodel(input: EModelInput = {}): EModelResult {
  const p = { ...G107_DEFAULTS };
  for (const key of Object.keys(G107_DEFAULTS) as (keyof typeof G107_DEFAULTS)[]) {
    const v = input[key];
    if (v !== undefined) (p as Record<string, number>)[key] = v;
  }
  const { slr, rlr, stmr, lstr, ds, telr, wepl, qdu, nc, nfor, ps, pr, advantage, sT, mT } = p;
  const delay = Math.max(0, input.oneWayDelayMs ?? 0);
  const T = Math.max(0, input.meanDelayMs ?? delay);
  const Ta = Math.max(0, input.absoluteDelayMs ?? delay);
  const Tr = Math.max(0, input.roundTripDelayMs ?? 2 * delay);
  const codec = CODECS[input.codec ?? 'g711'];
  const ie = input.ie ?? codec.ie;
  const bpl = input.bpl ?? codec.bpl;
  const ppl = Math.min(100, Math.max(0, input.packetLossPct ?? 0));
  const burstR = Math.max(1, input.burstR ?? 1);

  // §7.2 Basic signal-to-noise ratio Ro.
  const olr = slr + rlr;
  const nos = ps - slr - ds - 100 + 0.004 * (ps - olr - ds - 14) ** 2;
  const pre = pr + 10 * log10(1 + pow10((10 - lstr) / 10));
  const nor = rlr - 121 + pre + 0.008 * (pre - 35) ** 2;
  const nfo = nfor + rlr;
  const no = 10 * log10(pow10(nc / 10) + pow10(nos / 10) + pow10(nor / 10) + pow10(nfo / 10));
  const ro = 15 - 1.5 * (slr + no);

  // §7.3 Simultaneous impairment Is.
  const xolr = olr + 0.2 * (64 + no - rlr);
  const iolr = 20 * ((1 + (xolr / 8) ** 8) ** (1 / 8) - xolr / 8);
  const stmro = -10 * log10(pow10(-stmr / 10) + Math.exp(-T / 4) * pow10(-telr / 10));
  const ist =
    12 * (1 + ((stmro - 13) / 6) ** 8) ** (1 / 8) -
    28 * (1 + ((stmro + 1) / 19.4) ** 35) ** (1 / 35) -
    13 * (1 + ((stmro - 3) / 33) ** 13) ** (1 / 13) +
    29;
  const q = 37 - 15 * log10(qdu);
  const g = 1.07 + 0.258 * q + 0.0602 * q * q;
  const z = 46 / 30 - g / 40;
  const y = (ro - 100) / 15 + 46 / 8.4 - g / 9;
  const iq = 15 * log10(1 + pow10(y) + pow10(z));
  const is = iolr + ist + iq;

  // §7.4 Delay impairment Id. Talker echo (Idte) first; below 1 ms the echo is heard as sidetone.
  const roe = -1.5 * (no - rlr);
  let terv = telr - 40 * log10((1 + T / 10) / (1 + T / 150)) + 6 * Math.exp(-0.3 * T * T);
  // §7.4's corrections for extreme sidetone (off the defaults): TERVs below 9 dB, Idtes above 20 dB.
  if (stmr < 9) terv += ist / 2;
  const re = 80 + 2.5 * (terv - 14);
  let idte = T < 1 ? 0 : ((roe - re) / 2 + Math.sqrt((roe - re) ** 2 / 4 + 100) - 1) * (1 - Math.exp(-T));
  if (stmr > 20) idte = Math.sqrt(idte * idte + ist * ist);
  // Listener echo (Idle).
  const rle = 10.5 * (wepl + 7) * (Tr + 1) ** -0.25;
  const idle = (ro - rle) / 2 + Math.sqrt((ro - rle) ** 2 / 4 + 169);
  // Absolute delay (Idd): nothing up to mT.
  let idd = 0;
  if (Ta > mT) {
    const x = log10(Ta / mT) / log10(2);
    const e = 6 * sT;
    idd = 25 * ((1 + x ** e) ** (1 / e) - 3 * (1 + (x / 3) ** e) ** (1 / e) + 2);
  }
  const id = idte + idle + idd;

  // §7.5 Effective equipment impairment with packet loss.
  // Capped at 95 (everything lost, R's floor): for heavy loss in long bursts (high Ppl and BurstR, as a
  // real jitter buffer under a stalled sender sees) the formula leaves its range and overshoots.
  const ieEff = Math.min(95, ie + ((95 - ie) * ppl) / (ppl / burstR + bpl));

  const r = ro - is - id - ieEff + advantage;
  return { r, mos: rToMos(r), ro, is, id, ieEff };
}
