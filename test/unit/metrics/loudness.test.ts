import assert from 'node:assert/strict';
import { test } from 'node:test';
import { integratedLoudness, rlbFilter, shelfFilter } from '../../../audio/metrics/loudness.ts';
import { sine } from './fixtures.ts';

const near = (actual: number, expected: number, tol: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} not within ${tol} of ${expected}`);

test('K-weighting derived at 48 kHz reproduces the coefficients published in BS.1770-4', () => {
  const shelf = shelfFilter(48000);
  const rlb = rlbFilter(48000);
  // BS.1770-4 Tables 1 and 2.
  near(shelf.b0, 1.53512485958697, 1e-9, 'shelf b0');
  near(shelf.b1, -2.69169618940638, 1e-9, 'shelf b1');
  near(shelf.b2, 1.19839281085285, 1e-9, 'shelf b2');
  near(shelf.a1, -1.69065929318241, 1e-9, 'shelf a1');
  near(shelf.a2, 0.73248077421585, 1e-9, 'shelf a2');
  near(rlb.a1, -1.99004745483398, 1e-9, 'rlb a1');
  near(rlb.a2, 0.99007225036621, 1e-9, 'rlb a2');
});

test('a 997 Hz sine reads its BS.1770 loudness within 0.1 LU at 48 kHz and at 16 kHz', () => {
  // BS.1770-4 §2.7: a 0 dBFS sine in one channel reads -3.01 LKFS; so a -23 dBFS one reads -26.01.
  for (const fs of [48000, 16000, 8000]) {
    near(integratedLoudness(sine(fs, 5, 997, 1), fs), -3.01, 0.1, `0 dBFS at ${fs} Hz`);
    near(integratedLoudness(sine(fs, 5, 997, 10 ** (-23 / 20)), fs), -26.01, 0.1, `-23 dBFS at ${fs} Hz`);
  }
});

test('gating drops silence and quiet passages, as BS.1770 intends', () => {
  const fs = 16000;
  const toneAlone = integratedLoudness(sine(fs, 4, 997, 10 ** (-23 / 20)), fs);
  // 4 s of tone then 4 s of silence: the 37 blocks inside the tone pass, so do the three straddling its
  // end (3/4, 1/2 and 1/4 tone); the silent ones fall under the absolute gate. Ungated it would read -3 LU.
  const withSilence = new Float32Array(8 * fs);
  withSilence.set(sine(fs, 4, 997, 10 ** (-23 / 20)), 0);
  const straddling = (37 + 0.75 + 0.5 + 0.25) / 40;
  near(integratedLoudness(withSilence, fs) - toneAlone, 10 * Math.log10(straddling), 0.01, 'absolute gate');
  // The same with a passage 20 dB down instead of silence: its blocks fall under the relative gate.
  const withQuiet = withSilence.slice();
  withQuiet.set(sine(fs, 4, 997, 10 ** (-43 / 20)), 4 * fs);
  const mixed = (37 + 0.7525 + 0.505 + 0.2575) / 40;
  near(integratedLoudness(withQuiet, fs) - toneAlone, 10 * Math.log10(mixed), 0.01, 'relative gate');
  assert.equal(integratedLoudness(sine(fs, 2, 997, 1e-4), fs), -120, 'all blocks below -70 LKFS');
});

test('a segment shorter than one 400 ms block is measured as one block', () => {
  near(integratedLoudness(sine(16000, 0.2, 997, 1), 16000), -3.01, 0.1, '200 ms segment');
});
