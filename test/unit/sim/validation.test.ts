import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  bundledImpairmentsPath,
  ImpairmentError,
  loadImpairments,
  parseImpairments,
} from '../../../stations/sim/index.ts';

function errorsOf(raw: unknown): Map<string, string> {
  try {
    parseImpairments(raw);
  } catch (err) {
    assert.ok(err instanceof ImpairmentError, 'err instanceof ImpairmentError');
    return new Map(err.errors.map((e) => [e.field, e.reason]));
  }
  assert.fail('expected an ImpairmentError');
}

test('impairments: the bundled profiles load and give every station of DESIGN §2 a problem', () => {
  for (const name of ['default', 'mild', 'harsh'] as const) {
    const set = loadImpairments(bundledImpairmentsPath(name));
    assert.equal(set.name, name);
    assert.deepEqual(
      set.stations.map((s) => s.stationId),
      [1, 2, 3, 4, 9, 10, 11],
    );
    for (const s of set.stations) {
      assert.ok([8000, 16000].includes(s.sampleRate), '[8000, 16000].includes(s.sampleRate)');
      const problems = [s.noise, s.hum, s.dc_offset, s.clip, s.echo, s.network].filter(
        (x) => x !== undefined,
      );
      assert.ok(problems.length > 0 || s.level_db !== -26, `${name} station ${s.stationId} has a problem`);
    }
  }
});

test('impairments: every bad field is named, all at once', () => {
  const errors = errorsOf({
    name: 'bad',
    sample_rates: { '1': 8000, '2': 7000, '5': 8000 },
    stations: {
      '1': {
        level_db: 'loud',
        noise: { type: 'brown', snr_db: 12 },
        hum: { freq_hz: 50, level_dbfs: -40, harmonics: [] },
        echo: { delay_ms: 80 },
      },
      '2': { network: { loss_pct: 120, burst_len: 0.5, jitter_ms: 40 } },
      '3': { network: { loss_pct: 1 }, reverb: 0.3 },
      '99': {},
    },
  });
  assert.match(errors.get('stations.1.level_db') ?? '', /number in \[-80, 6\], got "loud"/);
  assert.match(errors.get('stations.1.noise.type') ?? '', /one of "white", "pink", "babble", got "brown"/);
  assert.match(errors.get('stations.1.hum.harmonics') ?? '', /amplitudes/);
  assert.match(errors.get('stations.1.echo.gain_db') ?? '', /required/);
  assert.match(errors.get('stations.2.network.loss_pct') ?? '', /\[0, 50\], got 120/);
  assert.match(errors.get('stations.2.network.burst_len') ?? '', /\[1, 50\]/);
  assert.match(errors.get('sample_rates.2') ?? '', /\[8000, 48000\], got 7000/);
  assert.match(errors.get('stations.3.network') ?? '', /not a network station/);
  assert.match(errors.get('stations.3.reverb') ?? '', /unknown field/);
  assert.match(errors.get('sample_rates.3') ?? '', /required/);
  assert.match(errors.get('stations.99') ?? '', /not a station of the catalog/);
  assert.match(errors.get('sample_rates.5') ?? '', /no such station/);
});

test('impairments: top-level shape errors and unreadable files', () => {
  assert.match(errorsOf([]).get('(root)') ?? '', /must be an object/);
  const e = errorsOf({ stations: {}, sample_rates: {}, tenants: [] });
  assert.ok(e.has('name'), "e.has('name')");
  assert.ok(e.has('tenants'), "e.has('tenants')");
  const dir = mkdtempSync(join(tmpdir(), 'impairments-'));
  const file = join(dir, 'broken.json');
  writeFileSync(file, '{ "name": "x", ');
  assert.throws(
    () => loadImpairments(file),
    (err: unknown) => {
      assert.ok(err instanceof ImpairmentError, 'err instanceof ImpairmentError');
      assert.equal(err.errors[0]?.field, '(file)');
      assert.match(err.message, /broken\.json.*not valid JSON/);
      return true;
    },
  );
});
