// The controller against the synthetic plants, run the way the station agent runs parameters: hot
// ones apply at the next segment, cold ones (high-pass, jitter buffer) at the next call. Within about
// five snapshots of a call it must get within 5% of the best score an offline search over the catalog
// finds for what the call can change; cold fixes land on the following call.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation, parameterByName, parametersForStation } from '../../../catalog/index.ts';
import type { StationSnapshot } from '../../../contracts/generated.ts';
import {
  type ControllerState,
  decide,
  markApplied,
  scoreSnapshot,
  searchBest,
} from '../../../optimizer/core/index.ts';
import { type Impairment, JITTERY_LINE, networkPlant, plant, QUIET_NOISY_HUMMING } from './plant.ts';

type Plant = (params: Readonly<Record<string, number>>, version: number, index: number) => StationSnapshot;

const isHot = (name: string) => parameterByName(name)?.hot ?? true;

/** `calls` calls of `perCall` snapshots; the published config persists from call to call. */
function runCalls(station: number, model: Plant, calls: number, perCall: number, explore = false) {
  let config = defaultsForStation(station);
  let version = 0;
  const perCallScores: number[][] = [];
  let converged = false;
  let effective = config;
  for (let call = 0; call < calls; call++) {
    effective = { ...config };
    let state: ControllerState | null = null;
    const scores: number[] = [];
    for (let i = 0; i < perCall; i++) {
      const d = decide({
        snapshot: model(effective, version, i),
        current: effective,
        state,
        now: i * 3000,
        explore,
        seed: 1,
      });
      scores.push(d.score.score);
      state = d.state;
      converged = d.nextIteration.converged;
      const set = d.rollback ? d.rollback.to : Object.fromEntries(d.proposals.map((p) => [p.name, p.new]));
      if (Object.keys(set).length === 0) continue;
      config = { ...config, ...set };
      for (const [k, v] of Object.entries(set)) if (isHot(k)) effective = { ...effective, [k]: v };
      state = markApplied(state, ++version);
    }
    perCallScores.push(scores);
  }
  return { config, perCallScores, converged, final: chainScore(model(effective, version, 99)) };
}

/** The score the controller tunes by (without the input's and the line's factors), as the demo's search. */
function chainScore(s: StationSnapshot): number {
  return scoreSnapshot(s, undefined, { input: false }).score;
}

function offlineBest(station: number, model: Plant, fixed: Readonly<Record<string, number>> = {}) {
  const specs = parametersForStation(station).filter((p) => !(p.name in fixed));
  return searchBest((p) => chainScore(model({ ...p, ...fixed }, 0, 0)), specs, {
    seed: 7,
    budget: 600,
  });
}

const trace = (r: { perCallScores: number[][] }) =>
  r.perCallScores.map((c) => c.map((s) => s.toFixed(1)).join(' -> ')).join(' | ');

test('closed loop: a quiet, noisy caller (hot levers) reaches 95% of the offline best within 6 snapshots', () => {
  const imp: Impairment = { ...QUIET_NOISY_HUMMING, hum: 0 };
  const model: Plant = (p, v, i) => plant(imp, p, v, i);
  const best = offlineBest(3, model);
  const run = runCalls(3, model, 1, 6);
  assert.ok(run.perCallScores[0]![0]! < 0.9 * best.score, `impairment too mild: ${trace(run)}`);
  assert.ok(
    run.final >= 0.95 * best.score,
    `${trace(run)}; final ${run.final.toFixed(1)} vs offline ${best.score.toFixed(1)}`,
  );
});

test('closed loop: hum is fixed by a cold high-pass queued in the first call and in effect in the second', () => {
  const model: Plant = (p, v, i) => plant(QUIET_NOISY_HUMMING, p, v, i);
  const best = offlineBest(3, model);
  const run = runCalls(3, model, 2, 6);
  assert.ok(run.config['highpass_cutoff_hz']! > 60, 'no high-pass change was queued');
  // Within the first call, the best reachable without the cold lever.
  const hotBest = offlineBest(3, model, { highpass_cutoff_hz: 60 });
  assert.ok(
    run.perCallScores[0]![5]! >= 0.95 * hotBest.score,
    `${trace(run)} vs in-call best ${hotBest.score.toFixed(1)}`,
  );
  assert.ok(
    run.final >= 0.95 * best.score,
    `${trace(run)}; final ${run.final.toFixed(1)} vs offline ${best.score.toFixed(1)}`,
  );
});

test('closed loop: a jittery RTP leg grows its (cold) jitter buffer one safe step per call to 95% of the best', () => {
  const model: Plant = (p, v, i) => networkPlant(JITTERY_LINE, p, v, i);
  const best = offlineBest(2, model);
  const run = runCalls(2, model, 4, 3);
  assert.ok(run.perCallScores[0]![0]! < 0.9 * best.score, `impairment too mild: ${trace(run)}`);
  assert.ok(
    run.final >= 0.95 * best.score,
    `${trace(run)}; final ${run.final.toFixed(1)} vs offline ${best.score.toFixed(1)}`,
  );
});

test('closed loop: with exploration on, a long call converges and stays near the best', () => {
  const model: Plant = (p, v, i) => plant(QUIET_NOISY_HUMMING, p, v, i);
  const best = offlineBest(3, model);
  const run = runCalls(3, model, 2, 14, true);
  assert.ok(run.converged, `did not converge: ${trace(run)}`);
  assert.ok(
    run.final >= 0.95 * best.score,
    `${trace(run)}; final ${run.final.toFixed(1)} vs offline ${best.score.toFixed(1)}`,
  );
});
