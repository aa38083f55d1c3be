import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parametersForStation, validateParameterSet } from '../../../catalog/index.ts';
import { randomSet } from '../../../eval/profile.ts';
import { createRng } from '../../../optimizer/core/index.ts';

test('eval random sets: inside every range, a switch only at its values, and a set the chain accepts', () => {
  const rng = createRng(7);
  for (const station of [1, 2, 3, 4, 9, 10, 11]) {
    const seen = new Map<string, Set<number>>();
    for (let i = 0; i < 40; i++) {
      const set = randomSet(station, () => rng.next());
      assert.deepEqual(
        validateParameterSet(station, set, { requireAll: true }),
        { ok: true },
        JSON.stringify(set),
      );
      for (const [k, v] of Object.entries(set)) seen.set(k, (seen.get(k) ?? new Set()).add(v));
    }
    for (const p of parametersForStation(station)) {
      const values = [...seen.get(p.name)!];
      if (p.values) assert.deepEqual(values.sort(), [...p.values].sort(), `${p.name} drew ${values}`);
      else assert.ok(values.length > 20, `${p.name}: ${values.length} distinct draws`);
    }
  }
});
