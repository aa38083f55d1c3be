// The echo canceller's choice between its paths (audio/dsp/echoArbiter.ts), on block energies alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type BlockEnergies, type Copy, PathArbiter } from '../../../audio/dsp/echoArbiter.ts';

/** Feeds `blocks` blocks of the same energies; returns the copies asked for. */
function feed(a: PathArbiter, e: BlockEnergies, blocks: number, gain: number, withKalman = true): Copy[] {
  const out: Copy[] = [];
  for (let i = 0; i < blocks; i++) out.push(a.next(e, withKalman, gain));
  return out;
}

test('a Kalman path that explains a little of the microphone is not copied before it has taken 1 dB off it', () => {
  // A leg without echo: the Kalman path's error 0.5 dB under the microphone's, its estimate small.
  const a = new PathArbiter();
  const weak = feed(a, { mic: 1, bg: 1, fg: 1, kal: 10 ** -0.05, kalDiff: 0.02 }, 200, 0);
  assert.ok(!weak.includes('kalman'), 'copied at 0.5 dB');
  // 2 dB under it (a real echo under double talk): copied once the long averages show it.
  const b = new PathArbiter();
  const strong = feed(b, { mic: 1, bg: 1, fg: 1, kal: 10 ** -0.2, kalDiff: 0.2 }, 200, 0);
  assert.ok(strong.includes('kalman'));
  // Once a model is trusted (gain > 0) the proof is not asked again: the margin over the foreground is.
  const c = new PathArbiter();
  assert.ok(feed(c, { mic: 1, bg: 1, fg: 1, kal: 10 ** -0.05, kalDiff: 0.02 }, 200, 1).includes('kalman'));
});

test('the background is copied on a clear drop of its error, but not when the Kalman path is better still', () => {
  const a = new PathArbiter();
  feed(a, { mic: 1, bg: 1, fg: 1, kal: 1, kalDiff: 0 }, 100, 0);
  // Single talk, the background converged: error 10 dB under the foreground's, the Kalman path not yet.
  const copies = feed(a, { mic: 1, bg: 0.1, fg: 1, kal: 1, kalDiff: 0.5 }, 10, 0);
  assert.equal(
    copies.find((c) => c !== null),
    'background',
  );
  // A Kalman path that has been better than the background over the long window keeps it out, even while
  // the Kalman path itself is not far enough ahead of the foreground to be copied.
  const b = new PathArbiter();
  const quiet = feed(b, { mic: 1, bg: 1, fg: 0.25, kal: 0.2, kalDiff: 1 }, 100, 1);
  assert.ok(
    quiet.every((c) => c === null),
    `copies: ${quiet}`,
  );
  const later = feed(b, { mic: 1, bg: 0.1, fg: 0.25, kal: 0.2, kalDiff: 1 }, 10, 1);
  assert.ok(!later.includes('background'), `copies: ${later}`);
});

test('while trusted, the foreground follows the Kalman path every block, until the background is better', () => {
  const a = new PathArbiter();
  feed(a, { mic: 1, bg: 1, fg: 1, kal: 0.3, kalDiff: 0.5 }, 100, 1);
  assert.ok(a.followsKalman(1));
  assert.ok(!a.followsKalman(0), 'an untrusted model does not gate the background');
  assert.deepEqual(feed(a, { mic: 1, bg: 1, fg: 0.3, kal: 0.3, kalDiff: 0 }, 5, 1), Array(5).fill('kalman'));
  // Not trusted in full (gain < 1): the foreground stays a frozen copy that must prove itself.
  assert.ok(!feed(a, { mic: 1, bg: 1, fg: 0.3, kal: 0.3, kalDiff: 0 }, 5, 0.5).includes('kalman'));
  // The background gets better than the Kalman path over the long window (by less than half its error): it
  // is copied, and followed no more.
  const copies = feed(a, { mic: 1, bg: 0.2, fg: 0.3, kal: 0.3, kalDiff: 0.1 }, 100, 1);
  assert.ok(copies.includes('background'));
  assert.ok(!copies.includes('kalman-restart'), `copies: ${copies}`);
  assert.ok(!a.followsKalman(1));
});

test('a Kalman path with over twice the background error restarts from the background, and only then', () => {
  const a = new PathArbiter();
  feed(a, { mic: 1, bg: 0.3, fg: 0.3, kal: 0.3, kalDiff: 0 }, 100, 1);
  // Echo the Kalman path does not model (its error 6 dB over the background's): restarted within a few
  // blocks, and its errors are then the background's, so it is not restarted again on the next block.
  const copies = feed(a, { mic: 1, bg: 0.05, fg: 0.3, kal: 0.2, kalDiff: 0.1 }, 8, 1);
  const at = copies.indexOf('kalman-restart');
  assert.ok(at >= 0 && at < 8, `copies: ${copies}`);
  assert.notEqual(copies[at + 1], 'kalman-restart', `copies: ${copies}`);
  // A near-end talker fills both errors alike: 1.5x is no restart, however long.
  const b = new PathArbiter();
  feed(b, { mic: 1, bg: 0.3, fg: 0.3, kal: 0.3, kalDiff: 0 }, 100, 1);
  const near = feed(b, { mic: 1, bg: 0.2, fg: 0.3, kal: 0.3, kalDiff: 0.1 }, 200, 1);
  assert.ok(!near.includes('kalman-restart'), `copies: ${near}`);
});

test('without a Kalman path the arbitration is the two-path test alone', () => {
  const a = new PathArbiter();
  feed(a, { mic: 1, bg: 1, fg: 1, kal: 0, kalDiff: 0 }, 50, 0, false);
  // Two blocks of a background error 10 dB under the foreground's bring the ~4-block average under 0.7.
  assert.deepEqual(feed(a, { mic: 1, bg: 0.1, fg: 1, kal: 0, kalDiff: 0 }, 2, 0, false), [
    null,
    'background',
  ]);
  // A background far worse than the foreground restarts from it.
  const b = new PathArbiter();
  feed(b, { mic: 1, bg: 0.1, fg: 0.1, kal: 0, kalDiff: 0 }, 50, 1, false);
  assert.ok(feed(b, { mic: 1, bg: 1, fg: 0.1, kal: 0, kalDiff: 0 }, 10, 1, false).includes('restart'));
});
