import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activeSpeechLevel } from '../../../audio/metrics/p56.ts';
import { meanSquare, sine, speechBursts } from './fixtures.ts';

const near = (actual: number, expected: number, tol: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} not within ${tol} of ${expected}`);

test('P.56 on speech active half the time reads the active level, ~3 dB above the long-term level', () => {
  for (const fs of [16000, 8000]) {
    const { signal, activeMeanSquare } = speechBursts(
      fs,
      [
        [2, 2],
        [3, 3],
        [2.5, 2.5],
        [2, 2],
      ],
      11,
    );
    const longTerm = 10 * Math.log10(meanSquare(signal));
    const active = 10 * Math.log10(activeMeanSquare);
    near(active - longTerm, 3.01, 0.05, 'the fixture is active half the time');
    const asl = activeSpeechLevel(signal, fs);
    near(asl.levelDbov, active, 1, `active speech level at ${fs} Hz`);
    near(asl.activity, 0.5, 0.1, `activity at ${fs} Hz`);
  }
});

test('P.56 level of a continuous sine is its mean-square level in dBov', () => {
  const a = 10 ** (-20 / 20);
  near(
    activeSpeechLevel(sine(16000, 3, 1000, a), 16000).levelDbov,
    20 * Math.log10(a / Math.SQRT2),
    0.2,
    'sine',
  );
});

test('P.56 is scale-true: 10 dB more gain reads 10 dB higher', () => {
  const { signal } = speechBursts(
    16000,
    [
      [2, 1],
      [2, 1],
    ],
    5,
  );
  const louder = signal.map((v) => v * Math.sqrt(10));
  const d = activeSpeechLevel(louder, 16000).levelDbov - activeSpeechLevel(signal, 16000).levelDbov;
  near(d, 10, 0.3, 'gain step');
});
