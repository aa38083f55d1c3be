// The echo rule: the far end's echo left in the output (metrics.residual_echo_db) whose path runs past the
// end of the echo canceller's tail. The tail is hot: the canceller resizes its adaptive filter with the
// model it has learned kept, and learns the new partitions within the call. Since 2026-12-05 the canceller
// places the tail's window on an echo whose strongest tap lies past it by itself (audio/dsp/echoDelay.ts,
// up to 700 ms behind the far end), so a longer tail is asked for only where the peak is within the tail
// and the path's dispersion after it is not: a 150 ms echo behind a 64 ms tail took the rule three
// steps toward 190 ms (each judged, none cancelling until the last), and the window moves in about 2 s.
// Since 2026-12-07 a peak that one step of the tail brings inside it is the rule's again: the window's
// placement waits for its detector (about 4 s of the demo's station 1 call with its 80 ms echo behind the
// 64 ms tail: echo -4 to -7 dB of the output over seconds 2-4), where a 96 ms tail has it under -20 dB
// from the second second (the yardstick on the demo's audio: 86.5 -> 96.8, PESQ 1.73 -> 2.48).
import { BLOCK_MS as CANCELLER_BLOCK_MS } from '../../audio/dsp/echoCanceller.ts';
import { fmt } from './curves.ts';
import type { Finding } from './rules.ts';
import { loss, type Situation } from './situation.ts';

/** Residual echo over this (dB of the output) is worth a longer tail: an echo 20 dB down is heard. */
const ECHO_ACT_DB = -20;
/**
 * The tail must reach this far past the echo's strongest tap: an echo path's dispersion (up to ~30 ms
 * on the generated profiles) and the canceller's block. The measured delay is the canceller's (the
 * chain's latency after it taken out); until 2026-12-05 it held that latency too (~60 ms at station 1),
 * and the tail asked for ran that much long: 187 ms for the demo's 80 ms echo, which a tail of 96 ms
 * cancels (station 1's score on the demo's audio: 80.0 at 96 ms, 71.1 at 128 ms).
 */
const TAIL_MARGIN_MS = 40;
/** The canceller moves its window to an echo whose strongest tap lies past this point of the tail (echoDelay.ts). */
const WINDOW_REACH_MS = 8;

export function echoTail(c: Situation): Finding | null {
  const m = c.context.snapshot.metrics;
  const residual = m.residual_echo_db;
  const at = m.echo_delay_ms;
  if (residual === null || residual === undefined || !(residual > ECHO_ACT_DB)) return null;
  if (at === null || at === undefined || !c.has('echo_canceller_tail_ms')) return null;
  const tail = c.value('echo_canceller_tail_ms');
  const seen = `echo of the far end holds ${fmt(residual)} dB of the output, ${fmt(at, 0)} ms behind it`;
  const priority = loss(c.context.score, 'echo');
  const needed = at + TAIL_MARGIN_MS;
  if (needed <= tail) {
    return {
      rule: 'echo',
      priority,
      observation: `${seen}, within the ${fmt(tail, 0)} ms tail (the canceller has not converged yet, or the echo path is not linear)`,
      moves: [],
    };
  }
  // `echo_delay_ms` holds the canceller's own block beside the path (stations/pipeline.ts).
  const peak = at - CANCELLER_BLOCK_MS;
  if (peak > tail + c.step('echo_canceller_tail_ms') - WINDOW_REACH_MS) {
    return {
      rule: 'echo',
      priority,
      observation: `${seen}, past the ${fmt(tail, 0)} ms tail: the canceller places its window on it (a bulk delay it finds itself), no longer tail needed`,
      moves: [],
    };
  }
  if (!c.room('echo_canceller_tail_ms', 1)) {
    return {
      rule: 'echo',
      priority,
      observation: `${seen}, past the longest tail the canceller may have (treat it at the source)`,
      moves: [],
    };
  }
  return {
    rule: 'echo',
    priority,
    observation: seen,
    moves: [
      {
        name: 'echo_canceller_tail_ms',
        desired: needed,
        reason:
          peak > tail - WINDOW_REACH_MS
            ? `${seen}: its peak past the ${fmt(tail, 0)} ms echo canceller tail by less than a step, lengthening it (sooner than the canceller's window would find it)`
            : `${seen}: past the ${fmt(tail, 0)} ms echo canceller tail, lengthening it`,
      },
    ],
  };
}
