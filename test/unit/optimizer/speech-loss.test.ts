import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation } from '../../../catalog/index.ts';
import { decide } from '../../../optimizer/core/index.ts';
import { snap } from './snapshots.ts';

const params = { ...defaultsForStation(3), noise_suppression_db: 24 };

function firstDecision(speechLossDb: number | null) {
  return decide({
    snapshot: snap(3, { speech_loss_db: speechLossDb }),
    current: params,
    state: null,
    now: 0,
  });
}

test('controller: a chain cutting into the words (speech loss over 6 dB) backs the gate and suppressor off', () => {
  const cut = firstDecision(9);
  const ns = cut.proposals.find((p) => p.name === 'noise_suppression_db');
  const gate = cut.proposals.find((p) => p.name === 'noise_gate_threshold_dbfs');
  assert.ok(ns && ns.new < 24, cut.analysis);
  assert.ok(gate && gate.new < -70, cut.analysis);
  assert.match(ns.reason, /removes 9\.0 dB of the speech it is given/);
  // What a suppressor ordinarily loses (under 6 dB), or no reading at all, leaves them alone.
  for (const v of [2, null]) {
    const calm = firstDecision(v);
    assert.equal(
      calm.proposals.find((p) => p.name === 'noise_suppression_db' || p.name === 'noise_gate_threshold_dbfs'),
      undefined,
      `speech loss ${v}: ${calm.analysis}`,
    );
  }
});
