// The profile generator: deterministic per (seed, index), always valid, and over 200 profiles it
// reaches every kind of impairment the format has at the stations where it applies.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadCatalog } from '../../../catalog/index.ts';
import { GENERATED_RATES, generateProfile } from '../../../stations/sim/generate.ts';
import { parseImpairments } from '../../../stations/sim/index.ts';

test('generated profiles: the same seed and index give the same profile; another index another', () => {
  assert.deepEqual(generateProfile(5, 3), generateProfile(5, 3));
  assert.notDeepEqual(generateProfile(5, 3).stations, generateProfile(5, 4).stations);
  assert.notDeepEqual(generateProfile(5, 3).stations, generateProfile(6, 3).stations);
});

test('generated profiles: every station of the catalog, valid by the loader, at a PESQ rate', () => {
  for (let i = 0; i < 50; i++) {
    const set = generateProfile(11, i);
    assert.deepEqual(
      set.stations.map((s) => s.stationId),
      loadCatalog()
        .stations.map((s) => s.id)
        .sort((a, b) => a - b),
    );
    // Round trip through the loader's own validation, as a profile file would go.
    const raw = {
      name: set.name,
      tenants: set.tenants,
      sample_rates: Object.fromEntries(set.stations.map((s) => [s.stationId, s.sampleRate])),
      stations: Object.fromEntries(set.stations.map(({ stationId, sampleRate, ...imp }) => [stationId, imp])),
    };
    assert.doesNotThrow(() => parseImpairments(raw));
    for (const s of set.stations) assert.ok((GENERATED_RATES as readonly number[]).includes(s.sampleRate));
  }
});

test('generated profiles: 200 of them cover every impairment kind, noise type, codec and both rates', () => {
  const seen = new Set<string>();
  const levels: number[] = [];
  for (let i = 0; i < 200; i++) {
    for (const s of generateProfile(2, i).stations) {
      levels.push(s.level_db);
      seen.add(`rate:${s.sampleRate}`);
      if (s.noise) seen.add(`noise:${s.noise.type}`);
      if (s.hum) seen.add(s.hum.freq_hz === 50 || s.hum.freq_hz === 60 ? 'hum:mains' : 'hum:other');
      if (s.dc_offset !== undefined) seen.add('dc');
      if (s.clip) seen.add('clip');
      if (s.echo) seen.add(`echo:${s.stationId}`);
      if (s.network) {
        seen.add(`codec:${s.network.codec}`);
        if (s.network.loss_pct > 10) seen.add('heavy-loss');
        if (s.network.jitter_ms > 100) seen.add('heavy-jitter');
      }
    }
  }
  for (const want of [
    'rate:8000',
    'rate:16000',
    'noise:white',
    'noise:pink',
    'noise:babble',
    'hum:mains',
    'hum:other',
    'dc',
    'clip',
    'echo:1',
    'echo:2',
    'echo:10',
    'codec:pcmu',
    'codec:linear',
    'heavy-loss',
    'heavy-jitter',
  ]) {
    assert.ok(seen.has(want), `never generated: ${want}`);
  }
  assert.ok(
    Math.min(...levels) < -50 && Math.max(...levels) > -8,
    `levels ${Math.min(...levels)}..${Math.max(...levels)}`,
  );
});
