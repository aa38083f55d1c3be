import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { measureAudio } from '../../../audio/metrics/audio.ts';
import { networkMetrics } from '../../../audio/metrics/network.ts';
import { mulberry32, whiteNoise } from '../../../audio/metrics/random.ts';
import { mixAtSnr, setRms, speechLike } from './fixtures.ts';

interface AvroField {
  name: string;
  type: unknown;
}
interface AvroRecord {
  type: 'record';
  name: string;
  fields: AvroField[];
}

/** Every record schema nested anywhere in an avro schema, by name. */
function records(schema: unknown, out = new Map<string, AvroRecord>()): Map<string, AvroRecord> {
  if (Array.isArray(schema)) for (const s of schema) records(s, out);
  else if (schema && typeof schema === 'object') {
    const s = schema as Partial<AvroRecord>;
    if (s.type === 'record' && s.name && s.fields) {
      out.set(s.name, s as AvroRecord);
      for (const f of s.fields) records(f.type, out);
    }
  }
  return out;
}

const avsc = records(
  JSON.parse(
    readFileSync(join(import.meta.dirname, '../../../avro/StationSnapshot.avsc'), 'utf8'),
  ) as unknown,
);

test('measureAudio produces exactly the AudioMetrics fields of StationSnapshot.avsc, all finite doubles', () => {
  const fields = avsc.get('AudioMetrics')!.fields;
  const speech = mixAtSnr(
    setRms(speechLike({ sampleRate: 16000, seconds: 3, seed: 1 }), 0.05),
    whiteNoise(mulberry32(2), 48000, 1),
    20,
  );
  const m = measureAudio(speech, 16000);
  assert.deepEqual(Object.keys(m).sort(), fields.map((f) => f.name).sort());
  for (const f of fields) {
    assert.equal(f.type, 'double');
    assert.ok(Number.isFinite(m[f.name as keyof typeof m]), f.name);
  }
});

test('networkMetrics produces exactly the NetworkMetrics fields of StationSnapshot.avsc', () => {
  const fields = avsc.get('NetworkMetrics')!.fields;
  const m = networkMetrics({
    loss: { lossRatio: 0.01, burstRatio: 1.5 },
    jitterMs: 12,
    networkDelayMs: 40,
    jitterBufferDelayMs: 60,
    jitterBufferFill: 0.5,
  });
  assert.deepEqual(Object.keys(m).sort(), fields.map((f) => f.name).sort());
  for (const v of Object.values(m)) assert.ok(Number.isFinite(v));
});

test('measureAudio on noisy speech: every metric in its expected range', () => {
  const fs = 16000;
  const speech = setRms(speechLike({ sampleRate: fs, seconds: 5, seed: 4 }), 0.05);
  const m = measureAudio(mixAtSnr(speech, whiteNoise(mulberry32(8), speech.length, 1), 15), fs);
  assert.ok(Math.abs(m.rms_dbfs - (20 * Math.log10(0.05 * Math.sqrt(1 + 10 ** -1.5)) + 3.01)) < 0.1);
  assert.ok(m.peak_dbfs > m.rms_dbfs && m.peak_dbfs < 0);
  assert.ok(m.loudness_lufs > -40 && m.loudness_lufs < -15);
  assert.ok(m.active_speech_level_dbov > m.rms_dbfs - 3.01, 'active level above the long-term level');
  assert.ok(Math.abs(m.snr_db - 15) < 3);
  assert.ok(m.noise_floor_dbfs < m.rms_dbfs - 10);
  assert.ok(m.speech_activity > 0.5 && m.speech_activity <= 1);
  assert.ok(m.spectral_flatness > 0 && m.spectral_flatness < 0.5);
  assert.ok(m.hum_ratio < 0.01);
});
