import type { DemoSummary } from './types.ts';

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
const f = (x: number | null, d = 1) => (x === null || !Number.isFinite(x) ? '-' : x.toFixed(d));

/** The summary table printed at the end of the demo. */
export function renderSummary(s: DemoSummary): string {
  const head = [
    'station',
    'default',
    'final',
    'best offline',
    'final/best',
    'iters to 95%',
    'PESQ before',
    'PESQ after',
    'STOI before',
    'STOI after',
    'ref dB before',
    'ref dB after',
    'WER before',
    'WER after',
    'TTS ms',
    'changes',
    'rejected',
    'rollbacks',
  ];
  const rows = s.stations.map((x) => [
    `${x.station_id} ${x.component}`,
    f(x.default_score),
    f(x.final_score),
    f(x.best_offline_score),
    `${f(100 * x.ratio_to_best)}%`,
    f(x.iterations_to_within_5pct),
    f(x.pesq_before, 2),
    f(x.pesq_after, 2),
    f(x.stoi_before, 3),
    f(x.stoi_after, 3),
    f(x.ref_quality_before_db),
    f(x.ref_quality_after_db),
    f(x.wer_before, 2),
    f(x.wer_after, 2),
    f(x.tts_latency_ms, 0),
    String(x.changes),
    String(x.rejected),
    String(x.rollbacks),
  ]);
  rows.push([
    'mean',
    f(s.mean.default_score),
    f(s.mean.final_score),
    f(s.mean.best_offline_score),
    `${f(100 * s.mean.ratio_to_best)}%`,
    '',
    f(s.mean.pesq_before, 2),
    f(s.mean.pesq_after, 2),
    f(s.mean.stoi_before, 3),
    f(s.mean.stoi_after, 3),
    f(s.mean.ref_quality_before_db),
    f(s.mean.ref_quality_after_db),
    '',
    '',
    '',
    String(s.stations.reduce((a, x) => a + x.changes, 0)),
    String(s.stations.reduce((a, x) => a + x.rejected, 0)),
    String(s.stations.reduce((a, x) => a + x.rollbacks, 0)),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  out.push('');
  out.push(
    'scores 0..100 from the scorecard; PESQ (MOS-LQO: P.862.2 wideband at 16 kHz, P.862.1 at 8 kHz) and STOI of the output against the',
  );
  out.push(
    'clean speech: the ground truth the optimizer never sees; ref = segmental SNR against the clean speech (a cheap extra);',
  );
  out.push(
    "WER = the recognizer's word error rate on every prompt of the calls against its transcript, defaults vs final sets; TTS ms = espeak-ng's measured time to audio + the chain's delay",
  );
  out.push(
    `default, final, best and ref are parameter sets re-run on the same audio (each call's last segments); live: ${f(
      mean(s.stations.map((x) => x.live_first_score)),
    )} at the first iteration -> ${f(mean(s.stations.map((x) => x.live_final_score)))} at the last two`,
  );
  out.push(
    `mean score per iteration, each call: ${s.mean.trajectory
      .map((xs, c) => `call ${c + 1}: ${xs.map((x) => f(x)).join(' ')}`)
      .join('; ')}`,
  );
  const reached = s.mean.iterations_to_within_5pct;
  out.push(
    reached
      ? `mean score within 5% of the offline best on the same call's audio (${s.mean.best_per_call.map((b) => f(0.95 * b)).join(', ')}) at iteration ${reached.join(', ')} of calls 1..${reached.length}`
      : `mean score did not come within 5% of the offline best in every call`,
  );
  for (const r of s.rtp) {
    out.push(
      `station ${r.station_id} over real RTP (${r.codec}, loopback, the simulator's impairments on the wire), as its RTCP counted: loss ${f((100 * r.cumulative_lost) / Math.max(1, r.expected), 2)}% (${r.cumulative_lost} of ${r.expected} packets), jitter ${f(r.jitter_ms)} ms, round trip ${f(r.rtt_ms)} ms`,
    );
  }
  out.push(`bounds violations: ${s.bounds_violations}; max-step violations: ${s.max_step_violations}`);
  return out.join('\n');
}
