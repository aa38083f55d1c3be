// The main job (issue 4): every role in one process, the simulated stations with their impairments,
// and the loop closing call by call — each segment is one iteration: the stations process and publish,
// the online optimizer decides, the change goes out on the config topic, the agents apply it before
// the next segment. Ends with the summary against the offline best and the ground truth.
import { hostname } from 'node:os';
import { parameterByName, stationById } from '../catalog/index.ts';
import { DEFAULT_POLICY } from '../config/safety.ts';
import type { DecisionOutcome } from '../consumers/online/index.ts';
import type { StationSnapshot } from '../contracts/generated.ts';
import { createStageEngines } from '../engines/index.ts';
import { callWer } from '../engines/stt/evaluate.ts';
import { pooledWer } from '../engines/stt/wer.ts';
import type { Logger } from '../lib/log.ts';
import type { Settings } from '../lib/settings.ts';
import type { CodecName } from '../media/rtp/codecs.ts';
import { startMediaThread } from '../media/rtp/mediaThread.ts';
import type { ReceptionFigures } from '../media/rtp/session.ts';
import type { QualityJudge } from '../quality/index.ts';
import { type App, type RoleName, type StartOptions, startApp } from '../runtime/app.ts';
import { type StationAgent, startStationAgent } from '../stations/agent/index.ts';
import type { StationInput } from '../stations/pipeline.ts';
import { loadImpairments, simulateCall } from '../stations/sim/index.ts';
import type { DemoArgs } from './args.ts';
import type { Progress } from './progress.ts';
import { legFigures, type RtpLeg, type RtpLegFigures, startRtpLeg } from './rtpLegs.ts';
import { judgeSets, yardstick } from './yardstick.ts';

export interface StationSummary {
  station_id: number;
  component: string;
  /**
   * Scores and reference qualities of parameter sets re-run on the same audio (each call's last
   * EVAL_SEGMENTS segments): the catalog defaults, each call's final set, the offline search's best.
   */
  default_score: number;
  final_score: number;
  best_offline_score: number;
  /** final / best offline. */
  ratio_to_best: number;
  /** Mean over calls of the first iteration whose score is within 5% of the offline best (1-based; null = never). */
  iterations_to_within_5pct: number | null;
  ref_quality_before_db: number | null;
  ref_quality_after_db: number | null;
  /** PESQ (MOS-LQO) and STOI of the defaults', final and best sets' output against the clean speech. */
  pesq_before: number | null;
  pesq_after: number | null;
  pesq_best: number | null;
  stoi_before: number | null;
  stoi_after: number | null;
  /** Live scores as the loop saw them: first iteration and last two, per call (content varies). */
  live_first_score: number;
  live_final_score: number;
  changes: number;
  rejected: number;
  rollbacks: number;
  /**
   * Station 4: the recognizer's WER on every utterance of the calls, re-run with the catalog defaults
   * and with each call's final set (null elsewhere or without transcripts).
   */
  wer_before: number | null;
  wer_after: number | null;
  /** Station 9: mean measured TTS latency (synthesis time to audio + chain delay) of the live snapshots. */
  tts_latency_ms: number | null;
  /** Per call and iteration: the running set's score on the call's yardstick audio. */
  trajectory: number[][];
  final_params: Record<string, number>;
  best_params: Record<string, number>;
}

export interface DemoSummary {
  started_at: string;
  machine: { host: string; node: string };
  args: Omit<DemoArgs, 'quiet' | 'serve'>;
  tenant_id: string;
  /** The operator console of the run's API (serving after the run only with --serve). */
  console_url: string | null;
  stations: StationSummary[];
  mean: {
    default_score: number;
    final_score: number;
    best_offline_score: number;
    ratio_to_best: number;
    ref_quality_before_db: number;
    ref_quality_after_db: number;
    pesq_before: number;
    pesq_after: number;
    stoi_before: number;
    stoi_after: number;
    /** Per call: the first iteration whose mean score (over stations) is within 5% of the mean best. */
    iterations_to_within_5pct: number[] | null;
    /** Per call and iteration: the mean over stations of the running sets' scores. */
    trajectory: number[][];
    /** Per call: the mean over stations of the best score on that call's audio. */
    best_per_call: number[];
  };
  /** The gateway stations' RTP legs, as their own RTCP counted them. */
  rtp: RtpLegFigures[];
  /** Applied parameters outside catalog bounds / steps between iterations beyond max_step (must be 0). */
  bounds_violations: number;
  max_step_violations: number;
  per_iteration: {
    call: number;
    iteration: number;
    scores: Record<string, number>;
    ref: Record<string, number | null>;
  }[];
}

/** Wait after a change before the next segment: a little longer than the call-scope cool-down. */
const COOL_DOWN_GAP_MS = DEFAULT_POLICY.coolDownMs.call + 20;

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const meanOf = (xs: (number | null)[]) => mean(xs.filter((x): x is number => x !== null));

export async function runDemo(
  cfg: Readonly<Settings>,
  args: DemoArgs,
  progress: Progress,
  judge: QualityJudge,
  log?: Logger,
  /** Given the roles instead of stopping them, when the caller keeps them serving (--serve). */
  hold?: (app: App) => void,
): Promise<DemoSummary> {
  const impairments = loadImpairments(args.impairments);
  const stations = impairments.stations
    .map((p) => p.stationId)
    .filter((s) => stationById(s))
    .sort((a, b) => a - b);
  const tenant = `demo-${Date.now().toString(36)}`;
  const waiters = new Map<string, (o: DecisionOutcome) => void>();
  const early = new Map<string, DecisionOutcome>();

  progress.step('starting roles: API, persister, outbox relay, online optimizer');
  const app: App = await startListening(cfg, {
    ...(log ? { log } : {}),
    online: {
      explore: true,
      onDecision: (snap, out) => {
        const w = waiters.get(snap.snapshot_id);
        if (w) w(out);
        else early.set(snap.snapshot_id, out);
      },
    },
  });
  try {
    progress.step(`starting station agents ${stations.join(', ')}`);
    const engines = createStageEngines(cfg.engines);
    const agentRole = await startStationAgent(app.rt, {
      topics: cfg.topics,
      agentId: `demo-${hostname()}`,
      stations,
      keepReplayAudio: true,
      stageFor: engines.forStation,
    });
    const agents = new Map(stations.map((s) => [s, agentRole.station(s)]));
    const ttsLatencies: number[] = [];

    const waitDecision = (id: string, timeoutMs = 15_000) =>
      new Promise<DecisionOutcome>((resolve, reject) => {
        const got = early.get(id);
        if (got) {
          early.delete(id);
          return resolve(got);
        }
        const t = setTimeout(() => {
          waiters.delete(id);
          reject(new Error(`no online decision for snapshot ${id} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.set(id, (o) => {
          clearTimeout(t);
          waiters.delete(id);
          resolve(o);
        });
      });
    const waitApplied = async (agent: StationAgent, callId: string, version: number, timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      while (agent.effective(tenant, callId).version < version) {
        if (Date.now() > deadline)
          throw new Error(
            `station ${agent.stationId} did not apply config version ${version} within ${timeoutMs} ms`,
          );
        await new Promise((r) => setTimeout(r, 5));
      }
    };

    const scores = new Map<number, number[][]>(stations.map((s) => [s, []]));
    const counts = new Map(stations.map((s) => [s, { changes: 0, rejected: 0, rollbacks: 0 }]));
    const lastParams = new Map<number, Record<string, number>>();
    // Per station and call: the inputs of each segment and the parameters that processed it, for the
    // counterfactual evaluation at the end (every parameter set scored on the same audio).
    const history = new Map<number, { inputs: StationInput[]; params: Record<string, number>[] }[]>(
      stations.map((s) => [s, []]),
    );
    let boundsViolations = 0;
    let stepViolations = 0;
    const perIteration: DemoSummary['per_iteration'] = [];

    progress.start(stations, args.calls * args.segments);
    const media = startMediaThread((m) => app.rt.log.warn(m));
    const rtpCalls = new Map<number, ReceptionFigures[]>();
    const rtpCodec = new Map<number, CodecName>();
    const runCall = async (c: number): Promise<void> => {
      const call = simulateCall({ impairments, callIndex: c, seed: args.seed, segments: args.segments });
      const callId = `${tenant}-call-${c}`;
      for (const s of stations) {
        scores.get(s)![c] = [];
        history.get(s)![c] = { inputs: [], params: [] };
      }
      // The gateway stations take this call as real RTP on loopback, paced in real time.
      const legs = new Map<number, RtpLeg>();
      for (const s of stations)
        if (stationById(s)!.network) legs.set(s, await startRtpLeg(media, s, call.segments));
      const prevParams = new Map<number, Record<string, number>>();
      try {
        for (const seg of call.segments) {
          let lastChangeAt = 0;
          const row: DemoSummary['per_iteration'][number] = {
            call: c,
            iteration: seg.index + 1,
            scores: {},
            ref: {},
          };
          await Promise.all(
            stations.map(async (s) => {
              const simInput = seg.inputs.get(s);
              if (!simInput) return;
              const leg = legs.get(s);
              const input = leg ? await leg.segment(seg.index, simInput) : simInput;
              const agent = agents.get(s)!;
              const channel = stationById(s)!.leg;
              const res = await agent.processSegment(
                { tenantId: tenant, callId, channel, codec: 'pcmu', labels: input.labels },
                { index: seg.index, startMs: seg.startMs, endMs: seg.endMs },
                input,
              );
              leg?.sendOutput(res.output);
              // Safety audit of what actually ran: inside the catalog bounds, steps within max_step.
              for (const [name, v] of Object.entries(res.params)) {
                const spec = parameterByName(name);
                if (!spec) continue;
                if (v < spec.min - 1e-9 || v > spec.max + 1e-9) boundsViolations++;
                const prev = prevParams.get(s)?.[name];
                if (prev !== undefined && Math.abs(v - prev) > spec.max_step + 1e-9) stepViolations++;
              }
              prevParams.set(s, res.params);
              const h = history.get(s)![c]!;
              h.inputs.push(input);
              h.params.push({ ...res.params });
              if (c === args.calls - 1) lastParams.set(s, res.params);
              if (res.snapshot.metrics.tts_latency_ms !== null)
                ttsLatencies.push(res.snapshot.metrics.tts_latency_ms);
              const out = await waitDecision(res.snapshot.snapshot_id);
              const score = out.decision.score.score;
              scores.get(s)![c]!.push(score);
              row.scores[s] = score;
              row.ref[s] = res.snapshot.metrics.reference_seg_snr_db;
              const k = counts.get(s)!;
              if (out.change) {
                lastChangeAt = Date.now();
                if (out.change.status === 'applied') {
                  if (out.rolledBack !== null || out.decision.rollback) k.rollbacks++;
                  else k.changes++;
                  await waitApplied(agent, callId, out.change.record!.version);
                } else k.rejected++;
              }
              progress.update(s, {
                call: c + 1,
                iteration: seg.index + 1,
                score,
                ref: res.snapshot.metrics.reference_seg_snr_db,
                converged: out.state.converged,
              });
            }),
          );
          perIteration.push(row);
          // A live segment lasts its real second; after a change the next segment waits out the
          // call-scope cool-down before it can lead to another.
          const rest = lastChangeAt + COOL_DOWN_GAP_MS - Date.now();
          if (rest > 0) await new Promise((r) => setTimeout(r, rest));
        }
      } finally {
        for (const [s, leg] of legs) {
          const fig = await leg.close();
          if (fig) rtpCalls.set(s, [...(rtpCalls.get(s) ?? []), fig]);
          rtpCodec.set(s, leg.codec);
        }
      }
      for (const a of agents.values()) a.endCall(tenant, callId);
    };
    // Calls run side by side (each paced in real time on its RTP legs), as a live gateway carries them.
    try {
      await Promise.all(Array.from({ length: args.calls }, (_, c) => runCall(c)));
    } finally {
      await media.stop();
    }
    perIteration.sort((a, b) => a.call - b.call || a.iteration - b.iteration);
    progress.stop();

    progress.step(
      `counterfactual evaluation: every parameter set re-run on the same audio; offline search for each station's best (${args.searchBudget} evaluations each)`,
    );
    const summaries: StationSummary[] = [];
    const trajectories = new Map<number, number[][]>();
    const bestPerCall = new Map<number, number[]>();
    for (const s of stations) {
      const y = yardstick(s, history.get(s)!, args.searchBudget, args.seed);
      const q = await judgeSets(judge, s, y.audio, {
        defaults: [y.defaults],
        final: history.get(s)!.map((h) => h.params.at(-1)!),
        best: [y.best.params],
      });
      trajectories.set(s, y.trajectory);
      bestPerCall.set(s, y.bestPerCall);
      const calls = history.get(s)!;
      const defaults = y.defaults;
      let werBefore: number | null = null;
      let werAfter: number | null = null;
      if (stationById(s)!.stage_metrics.includes('stt_confidence')) {
        progress.step(
          `station ${s}: the recognizer (${engines.recognizer.name}) on every utterance, defaults vs final sets`,
        );
        const before = [];
        const afterT = [];
        for (const h of calls) {
          before.push(...(await callWer(engines.recognizer, s, defaults, h.inputs)));
          afterT.push(...(await callWer(engines.recognizer, s, h.params.at(-1)!, h.inputs)));
        }
        werBefore = pooledWer(before);
        werAfter = pooledWer(afterT);
      }
      summaries.push({
        station_id: s,
        component: stationById(s)!.component,
        default_score: y.defaultScore,
        final_score: y.finalScore,
        best_offline_score: y.bestScore,
        ratio_to_best: y.finalScore / y.bestScore,
        iterations_to_within_5pct: y.reachedAt.every((i) => i !== null)
          ? mean(y.reachedAt as number[])
          : null,
        ref_quality_before_db: y.refBefore,
        ref_quality_after_db: y.refAfter,
        pesq_before: q['defaults']!.pesq,
        pesq_after: q['final']!.pesq,
        pesq_best: q['best']!.pesq,
        stoi_before: q['defaults']!.stoi,
        stoi_after: q['final']!.stoi,
        live_first_score: mean(scores.get(s)!.map((xs) => xs[0]!)),
        live_final_score: mean(scores.get(s)!.map((xs) => mean(xs.slice(-2)))),
        ...counts.get(s)!,
        wer_before: werBefore,
        wer_after: werAfter,
        tts_latency_ms:
          stationById(s)!.stage_metrics.includes('tts_latency_ms') && ttsLatencies.length > 0
            ? mean(ttsLatencies)
            : null,
        trajectory: y.trajectory,
        final_params: lastParams.get(s) ?? {},
        best_params: y.best.params,
      });
    }
    await engines.close();
    await agentRole.stop();
    const refB = summaries.map((x) => x.ref_quality_before_db).filter((x): x is number => x !== null);
    const refA = summaries.map((x) => x.ref_quality_after_db).filter((x): x is number => x !== null);
    const m = {
      default_score: mean(summaries.map((x) => x.default_score)),
      final_score: mean(summaries.map((x) => x.final_score)),
      best_offline_score: mean(summaries.map((x) => x.best_offline_score)),
      ratio_to_best: 0,
      ref_quality_before_db: mean(refB),
      ref_quality_after_db: mean(refA),
      pesq_before: meanOf(summaries.map((x) => x.pesq_before)),
      pesq_after: meanOf(summaries.map((x) => x.pesq_after)),
      stoi_before: meanOf(summaries.map((x) => x.stoi_before)),
      stoi_after: meanOf(summaries.map((x) => x.stoi_after)),
    };
    m.ratio_to_best = m.final_score / m.best_offline_score;
    // The mean over stations of the running sets' scores, per call and iteration, against 95% of the
    // mean best: the first iteration of each call where the whole pipeline is within 5% of the best.
    const meanTrajectory = Array.from({ length: args.calls }, (_, c) =>
      Array.from({ length: args.segments }, (_, i) =>
        mean(stations.map((s) => trajectories.get(s)![c]![i] ?? Number.NaN)),
      ),
    );
    const meanBestPerCall = Array.from({ length: args.calls }, (_, c) =>
      mean(stations.map((s) => bestPerCall.get(s)![c]!)),
    );
    const meanReached = meanTrajectory.map((xs, c) => xs.findIndex((x) => x >= 0.95 * meanBestPerCall[c]!));
    return {
      started_at: new Date().toISOString(),
      machine: { host: hostname(), node: process.version },
      args: {
        impairments: args.impairments,
        calls: args.calls,
        segments: args.segments,
        seed: args.seed,
        json: args.json,
        searchBudget: args.searchBudget,
      },
      tenant_id: tenant,
      console_url: app.url ? `${app.url}/console/` : null,
      stations: summaries,
      mean: {
        ...m,
        iterations_to_within_5pct: meanReached.every((i) => i >= 0) ? meanReached.map((i) => i + 1) : null,
        trajectory: meanTrajectory,
        best_per_call: meanBestPerCall,
      },
      bounds_violations: boundsViolations,
      max_step_violations: stepViolations,
      per_iteration: perIteration,
      rtp: [...rtpCodec].map(([s, codec]) => legFigures(s, codec, rtpCalls.get(s) ?? [])),
    };
  } finally {
    // With --serve the roles go on serving the console; the caller stops them.
    if (hold) hold(app);
    else await app.stop();
  }
}

/** The API on its configured port (another demo may hold it: then on any free port), every role in process. */
async function startListening(cfg: Readonly<Settings>, opts: StartOptions): Promise<App> {
  const roles: RoleName[] = ['api', 'persister', 'relay', 'online'];
  try {
    return await startApp(cfg, roles, { ...opts, listen: true });
  } catch (err) {
    if ((err as { code?: string }).code !== 'EADDRINUSE') throw err;
    return startApp({ ...cfg, api: { ...cfg.api, port: 0 } }, roles, { ...opts, listen: true });
  }
}

export type { StationSnapshot };
