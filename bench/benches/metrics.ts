// 2. Metric computation cost per second of audio: the full station metric set (measureAudio: levels,
// BS.1770 loudness, P.56, WADA-SNR, WebRTC VAD, spectral shape, hum) on 1 s segments at 16 kHz, plus
// the network metrics (RFC 3550 jitter, loss, E-model), and the speech loss (the chain's output against
// its near end: two more short-time spectra per segment, stations/pipeline.ts runs it beside
// measureAudio). Baseline in the same run: a plain RMS loop.
import { lossStats, measureAudio, networkMetrics } from '../../audio/metrics/index.ts';
import { noiseFloorDbfs, sampleLevels } from '../../audio/metrics/levels.ts';
import { integratedLoudness } from '../../audio/metrics/loudness.ts';
import { activeSpeechLevel } from '../../audio/metrics/p56.ts';
import { humRatio, spectralShape } from '../../audio/metrics/spectrum.ts';
import { speechLossDb } from '../../audio/metrics/speechLoss.ts';
import { speechActivity } from '../../audio/metrics/vad.ts';
import { wadaSnr } from '../../audio/metrics/wada.ts';
import { SAMPLE_RATE, stationAudio } from '../lib/audio.ts';
import { plainRms } from '../lib/baselines.ts';
import { median, timeBatch } from '../lib/stats.ts';
import type { Bench } from '../lib/types.ts';

export const metricsBench: Bench = {
  name: 'metrics',
  title: 'Metric computation cost per second of audio',
  stack: false,
  async run(ctx) {
    const seconds = ctx.quick ? 4 : 8;
    const runs = ctx.quick ? 5 : 9;
    const minMs = ctx.quick ? 60 : 150;
    const audio = stationAudio(seconds);
    // 1 s segments of every station's input: what measureAudio sees per snapshot.
    const segs: Float32Array[] = [];
    for (const a of audio)
      for (let i = 0; i + SAMPLE_RATE <= a.samples.length; i += SAMPLE_RATE)
        segs.push(a.samples.subarray(i, i + SAMPLE_RATE));
    const received = Array.from({ length: 50 }, (_, i) => i % 17 !== 0);
    // The speech loss compares a chain's output with its input: here the input at half the level.
    const halved = segs.map((s) => s.map((v) => v / 2));
    const all = () => {
      for (const s of segs) measureAudio(s, SAMPLE_RATE);
    };
    const rms = () => {
      for (const s of segs) plainRms(s);
    };
    const network = () => {
      for (let i = 0; i < segs.length; i++)
        networkMetrics({
          loss: lossStats(received),
          jitterMs: 12,
          networkDelayMs: 40,
          jitterBufferDelayMs: 60,
          jitterBufferFill: 0.5,
          codecDelayMs: 25,
          codec: 'g711-plc',
        });
    };
    const parts: Record<string, () => void> = {
      levels: () => {
        for (const s of segs) sampleLevels(s);
      },
      noise_floor: () => {
        for (const s of segs) noiseFloorDbfs(s, SAMPLE_RATE, 0);
      },
      loudness_bs1770: () => {
        for (const s of segs) integratedLoudness(s, SAMPLE_RATE);
      },
      p56: () => {
        for (const s of segs) activeSpeechLevel(s, SAMPLE_RATE);
      },
      wada_snr: () => {
        for (const s of segs) wadaSnr(s, 0);
      },
      vad: () => {
        for (const s of segs) speechActivity(s, SAMPLE_RATE);
      },
      spectral_shape: () => {
        for (const s of segs) spectralShape(s, SAMPLE_RATE, 0);
      },
      hum: () => {
        for (const s of segs) humRatio(s, SAMPLE_RATE, 0);
      },
      network_emodel: network,
      speech_loss: () => {
        for (let i = 0; i < segs.length; i++) speechLossDb(segs[i]!, halved[i]!, SAMPLE_RATE);
      },
    };
    all();
    rms();
    for (const f of Object.values(parts)) f();
    ctx.log(`metrics: ${segs.length} one-second segments, ${runs} runs`);

    const audioSeconds = segs.length;
    const rtf = (ms: number) => (audioSeconds * 1000) / ms;
    const full: number[] = [];
    const base: number[] = [];
    const breakdown: Record<string, number[]> = Object.fromEntries(Object.keys(parts).map((k) => [k, []]));
    for (let r = 0; r < runs; r++) {
      base.push(rtf(timeBatch(rms, minMs).msPerCall));
      full.push(rtf(timeBatch(all, minMs).msPerCall));
      for (const [k, f] of Object.entries(parts))
        breakdown[k]!.push(timeBatch(f, minMs / 3).msPerCall / audioSeconds);
    }
    const msPerSecond = (1000 / median(full)).toFixed(2);
    return {
      figures: [
        {
          bench: 'metrics',
          name: 'measureAudio, full metric set',
          metric: 'x real time',
          higherIsBetter: true,
          samples: full,
          baseline: { name: 'plain RMS loop', samples: base },
          note: `${msPerSecond} ms CPU per s of audio`,
        },
      ],
      details: {
        ms_cpu_per_second_of_audio_median: Object.fromEntries(
          Object.entries(breakdown).map(([k, xs]) => [k, Number(median(xs).toFixed(4))]),
        ),
        full_ms_per_second_of_audio: 1000 / median(full),
        segments: segs.length,
      },
    };
  },
};
