import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CatalogError,
  DSP_BLOCKS,
  defaultsForStation,
  loadCatalog,
  parameterByName,
  parametersForStation,
  parseParameterCatalog,
  parseStationCatalog,
  stationById,
  validateParameterSet,
} from '../../../catalog/index.ts';

const { parameters: parameterCatalog, stations: stationCatalog } = loadCatalog();

test('catalog: every default lies within [min, max] and every max_step within the range', () => {
  assert.ok(parameterCatalog.length >= 12);
  for (const p of parameterCatalog) {
    assert.ok(
      p.min <= p.default && p.default <= p.max,
      `${p.name} default ${p.default} outside [${p.min}, ${p.max}]`,
    );
    assert.ok(p.max_step > 0 && p.max_step <= p.max - p.min, `${p.name} max_step ${p.max_step}`);
    assert.match(p.name, /^[a-z][a-z0-9_]*$/);
  }
});

test('catalog: every station has at least one parameter and the DESIGN §2 stations are all there', () => {
  assert.deepEqual(
    stationCatalog.map((s) => s.id),
    [1, 2, 3, 4, 9, 10, 11],
  );
  for (const s of stationCatalog) {
    assert.ok(parametersForStation(s.id).length > 0, `station ${s.id} has no parameters`);
    assert.deepEqual(
      Object.keys(defaultsForStation(s.id)).sort(),
      parametersForStation(s.id)
        .map((p) => p.name)
        .sort(),
    );
  }
});

test('catalog: jitter buffer only on network stations 2 and 10, echo canceller on 1, 2, 10, VAD on STT stations', () => {
  assert.deepEqual(parameterByName('jitter_buffer_ms')?.stations, [2, 10]);
  assert.deepEqual(parameterByName('echo_canceller_tail_ms')?.stations, [1, 2, 10]);
  assert.deepEqual(parameterByName('vad_threshold')?.stations, [3, 4, 11]);
  assert.deepEqual(
    stationCatalog.filter((s) => s.network).map((s) => s.id),
    [2, 10],
  );
  assert.deepEqual(stationById(4)?.stage_metrics, ['stt_confidence']);
  assert.deepEqual(stationById(9)?.stage_metrics, ['tts_latency_ms']);
  assert.deepEqual(stationById(11)?.stage_metrics, ['emotion_confidence']);
  assert.equal(stationById(10)?.leg, 'B');
  assert.equal(stationById(5), undefined);
});

test('catalog: only the declipper (its delay) is cold; echo tail (resized in place), high-pass and jitter buffer are hot', () => {
  const cold = parameterCatalog.filter((p) => !p.hot).map((p) => p.name);
  assert.deepEqual(cold, ['declip_enabled']);
  assert.equal(parameterByName('highpass_cutoff_hz')?.hot, true);
  assert.equal(parameterByName('jitter_buffer_ms')?.hot, true);
  assert.equal(parameterByName('echo_canceller_tail_ms')?.hot, true);
  // A cold parameter says why in its description, and so does the echo tail, the one hot filter size.
  assert.match(parameterByName('declip_enabled')?.description ?? '', /Cold: /);
  assert.match(parameterByName('echo_canceller_tail_ms')?.description ?? '', /Hot: a change resizes /);
});

test('catalog: defaults are the documented out-of-the-box values', () => {
  assert.deepEqual(defaultsForStation(2), {
    input_gain_db: 0,
    limiter_ceiling_dbfs: -1,
    jitter_buffer_ms: 60,
    echo_canceller_tail_ms: 64,
    declip_enabled: 0,
  });
  assert.equal(defaultsForStation(3)['agc_target_dbfs'], -26);
  assert.throws(() => defaultsForStation(5), /unknown station 5/);
});

test('validateParameterSet: a valid partial set passes, defaults pass with requireAll', () => {
  assert.deepEqual(validateParameterSet(3, { agc_target_dbfs: -20, compressor_ratio: 3 }), { ok: true });
  assert.deepEqual(validateParameterSet(1, defaultsForStation(1), { requireAll: true }), { ok: true });
  // Bounds are inclusive.
  assert.deepEqual(validateParameterSet(3, { highpass_cutoff_hz: 20, limiter_ceiling_dbfs: -0.1 }), {
    ok: true,
  });
});

test('validateParameterSet: a switch takes only its values, and the reason says so', () => {
  assert.deepEqual(validateParameterSet(3, { rnnoise_enabled: 1, hum_canceller_enabled: 0 }), { ok: true });
  const r = validateParameterSet(3, { rnnoise_enabled: 0.42, hum_canceller_enabled: 0.5 });
  assert.equal(r.ok, false);
  const errors = r.ok ? [] : r.errors;
  assert.deepEqual(
    errors.map((e) => e.parameter),
    ['rnnoise_enabled', 'hum_canceller_enabled'],
  );
  assert.match(errors[0]!.reason, /0\.42 is not one of its values \(0, 1\)/);
});

test('validateParameterSet: unknown, foreign, non-finite and out-of-bounds parameters each get a reason naming the bound', () => {
  const r = validateParameterSet(3, {
    bogus_gain: 1,
    jitter_buffer_ms: 40,
    agc_target_dbfs: Number.NaN,
    agc_max_gain_db: Number.POSITIVE_INFINITY,
    highpass_cutoff_hz: 10,
    limiter_ceiling_dbfs: 0,
  });
  assert.equal(r.ok, false);
  if (r.ok) return;
  const by = Object.fromEntries(r.errors.map((e) => [e.parameter, e.reason]));
  assert.match(by['bogus_gain'] ?? '', /unknown parameter for station 3/);
  assert.match(by['jitter_buffer_ms'] ?? '', /does not apply to station 3 \(applies to stations 2, 10\)/);
  assert.match(by['agc_target_dbfs'] ?? '', /finite number, got NaN/);
  assert.match(by['agc_max_gain_db'] ?? '', /finite number, got Infinity/);
  assert.equal(by['highpass_cutoff_hz'], '10 Hz is below the minimum 20 Hz');
  assert.equal(by['limiter_ceiling_dbfs'], '0 dBFS is above the maximum -0.1 dBFS');
  assert.equal(r.errors.length, 6);
});

test('validateParameterSet: unknown station and missing parameters with requireAll', () => {
  const r = validateParameterSet(7, {});
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.errors[0]?.reason ?? '', /unknown station 7/);
  const m = validateParameterSet(4, { input_gain_db: 0 }, { requireAll: true });
  assert.equal(m.ok, false);
  if (!m.ok)
    assert.deepEqual(m.errors.map((e) => e.parameter).sort(), [
      'declip_enabled',
      'hum_canceller_enabled',
      'limiter_ceiling_dbfs',
      'rnnoise_attenuation_limit_db',
      'rnnoise_enabled',
      'vad_threshold',
    ]);
});

const good = {
  name: 'x_db',
  description: 'd',
  unit: 'dB',
  min: 0,
  max: 10,
  default: 5,
  max_step: 1,
  stations: [1],
  hot: true,
  block: 'input_gain',
};

test('parseParameterCatalog: a malformed entry throws naming the entry and the field', () => {
  assert.throws(() => parseParameterCatalog({}), CatalogError);
  assert.throws(
    () => parseParameterCatalog({ parameters: [good, { ...good, name: 'y_db', default: 11 }] }),
    /parameter #1 \(y_db\): field "default" must lie within \[0, 10\], got 11/,
  );
  assert.throws(
    () => parseParameterCatalog({ parameters: [{ ...good, unit: 'furlongs' }] }),
    /parameter #0 \(x_db\): field "unit" must be one of/,
  );
  assert.throws(
    () => parseParameterCatalog({ parameters: [{ ...good, min: '0' }] }),
    /field "min" must be a finite number/,
  );
  assert.throws(
    () => parseParameterCatalog({ parameters: [{ ...good, hot: 'yes' }] }),
    /field "hot" must be a boolean/,
  );
  assert.throws(() => parseParameterCatalog({ parameters: [{ ...good, max_step: 0 }] }), /field "max_step"/);
  assert.throws(() => parseParameterCatalog({ parameters: [good, good] }), /field "name" is a duplicate/);
  assert.throws(() => parseParameterCatalog({ parameters: [{ ...good, name: 'BadName' }] }), /snake_case/);
  assert.throws(() => parseParameterCatalog({ parameters: [{ ...good, stations: [] }] }), /field "stations"/);
});

test('parseParameterCatalog: a discrete parameter lists its values, ascending, in bounds, the default among them', () => {
  const sw = { ...good, name: 'x_enabled', unit: 'ratio', min: 0, max: 1, default: 0, values: [0, 1] };
  assert.deepEqual(parseParameterCatalog({ parameters: [sw] })[0]!.values, [0, 1]);
  assert.equal(parseParameterCatalog({ parameters: [good] })[0]!.values, undefined);
  assert.equal(parameterByName('rnnoise_enabled')?.values?.join(','), '0,1', 'RNNoise is a switch');
  const bad: [unknown, RegExp][] = [
    [[1, 0], /field "values" must be ascending/],
    [[0, 2], /field "values" must lie within \[0, 1\], got 2/],
    [[1], /field "values" must offer at least two choices/],
    [[0.5, 1], /field "values" must include the default 0/],
    [[0, 0], /field "values" must not contain duplicates/],
    ['0,1', /field "values" must be an array/],
  ];
  for (const [values, re] of bad) {
    assert.throws(
      () => parseParameterCatalog({ parameters: [{ ...sw, values }] }),
      re,
      JSON.stringify(values),
    );
  }
});

test('parseStationCatalog: cross-checks blocks against parameters', () => {
  const params = parseParameterCatalog({ parameters: [good] });
  const station = {
    id: 1,
    component: 'c',
    position: 'p',
    leg: 'A',
    network: false,
    dsp_blocks: ['input_gain'],
    stage_metrics: [],
  };
  assert.equal(parseStationCatalog({ stations: [station] }, params).length, 1);
  assert.throws(
    () => parseStationCatalog({ stations: [{ ...station, dsp_blocks: [] }] }, params),
    /station #0 \(id 1\): field "dsp_blocks" must include "input_gain" \(parameter x_db\)/,
  );
  assert.throws(
    () => parseStationCatalog({ stations: [{ ...station, dsp_blocks: ['input_gain', 'agc'] }] }, params),
    /lists "agc" but no parameter drives it/,
  );
  assert.throws(() => parseStationCatalog({ stations: [{ ...station, leg: 'C' }] }, params), /field "leg"/);
  assert.throws(() => parseStationCatalog({ stations: [{ ...station, id: 2 }] }, params), /has no parameter/);
  assert.throws(
    () => parseStationCatalog({ stations: [{ ...station, network: true }] }, params),
    /jitter_buffer exactly when the station is a network station/,
  );
  assert.ok(DSP_BLOCKS.includes('vad'));
});

test('catalog objects are frozen: a consumer cannot change the bounds for everyone', () => {
  const p = parameterCatalog[0];
  assert.ok(p);
  assert.ok(Object.isFrozen(p));
  assert.ok(Object.isFrozen(p.stations));
  assert.ok(Object.isFrozen(parameterCatalog));
  assert.equal(loadCatalog(), loadCatalog(), 'loaded once: the same object every call');
});

test('catalog: the hum canceller is a hot switch, off by default, wherever a noise lever is (1, 3, 4, 9, 11)', () => {
  const p = parameterByName('hum_canceller_enabled');
  assert.ok(p);
  assert.deepEqual(
    { values: p.values, default: p.default, hot: p.hot, block: p.block, stations: p.stations },
    { values: [0, 1], default: 0, hot: true, block: 'hum_canceller', stations: [1, 3, 4, 9, 11] },
  );
  for (const s of p.stations) assert.equal(defaultsForStation(s)['hum_canceller_enabled'], 0);
  // Where RNNoise can be switched on, so can the canceller: over hum RNNoise costs PESQ, and the noise
  // rule reaches for the canceller first.
  assert.deepEqual(p.stations, parameterByName('rnnoise_enabled')?.stations);
});
