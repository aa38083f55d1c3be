// The Hume adapter against a LOCAL server: Hume cannot be reached from here, so this test runs a real
// WebSocket server on loopback that speaks Hume's documented streaming expression-measurement protocol
// (GET /v0/stream/models with the X-Hume-Api-Key header; a JSON publish message {"data": base64 file,
// "models": {"prosody": {}}, "payload_id"}; replies with prosody predictions, a warning, or an error).
// Its replies are written by us in the shapes Hume documents; they are not recordings of Hume. With
// EMOTION_PROVIDER=hume and HUME_API_KEY (no HUME_URL) the same adapter talks to Hume itself.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { decodeWav } from '../../domain/wav.ts';
import { createHumeEmotionStage, prosodyConfidence } from '../../engines/emotion/hume.ts';
import { VoiceloopError } from '../../lib/errors.ts';
import { loadSettings } from '../../lib/settings.ts';

let server: WebSocketServer;
let url: string;
let connections = 0;
let closed = 0;
const received: {
  path: string;
  key: string | undefined;
  samples: Float32Array;
  rate: number;
  models: object;
}[] = [];

before(async () => {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => server.once('listening', () => r()));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/v0/stream`;
  server.on('connection', (ws, req) => {
    connections++;
    ws.on('close', () => closed++);
    const key = req.headers['x-hume-api-key'] as string | undefined;
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { data: string; models: object; payload_id: string };
      if (key !== 'hume-key') {
        ws.send(JSON.stringify({ error: 'Invalid API key', code: 'E0300', payload_id: msg.payload_id }));
        return;
      }
      const wav = decodeWav(Buffer.from(msg.data, 'base64'));
      assert.ok(wav, 'a 16-bit mono WAV');
      received.push({
        path: new URL(req.url ?? '/', 'http://x').pathname,
        key,
        samples: wav.samples,
        rate: wav.sampleRate,
        models: msg.models,
      });
      const energy = wav.samples.reduce((a, v) => a + v * v, 0) / wav.samples.length;
      if (energy < 1e-8) {
        ws.send(
          JSON.stringify({ warning: 'No speech detected.', code: 'W0105', payload_id: msg.payload_id }),
        );
        return;
      }
      // Two stretches of speech, each with a score per emotion (three of Hume's 48 shown).
      const emotions = (top: number) => [
        { name: 'Calmness', score: top },
        { name: 'Interest', score: top / 2 },
        { name: 'Boredom', score: 0.05 },
      ];
      ws.send(
        JSON.stringify({
          payload_id: msg.payload_id,
          prosody: {
            predictions: [
              { time: { begin: 0, end: 0.4 }, emotions: emotions(0.6) },
              { time: { begin: 0.5, end: 0.9 }, emotions: emotions(0.4) },
            ],
          },
        }),
      );
    });
  });
});

after(() => {
  for (const c of server.clients) c.terminate();
  return new Promise<void>((r) => server.close(() => r()));
});

const segment = (amp: number) => Float32Array.from({ length: 16000 }, (_, i) => amp * Math.sin(i / 5));
const ctx = (callKey: string, output: Float32Array) => ({
  callKey,
  input: { stationId: 11, sampleRate: 16000, samples: output },
  output,
  latencySamples: 0,
});

test('hume adapter: each segment goes as a WAV to the prosody model on one stream per call; confidence from the predictions', async (t) => {
  const stage = createHumeEmotionStage({ apiKey: 'hume-key', url });
  t.after(() => stage.close());
  const before = connections;
  const a = await stage.measure(ctx('call-1', segment(0.3)));
  const b = await stage.measure(ctx('call-1', segment(0.2)));
  assert.equal(connections - before, 1, 'one stream for the call');
  assert.equal(a.metrics.emotion_confidence, 0.5, 'mean of the top scores 0.6 and 0.4');
  assert.equal(a.labels['emotion_source'], 'hume');
  assert.equal(b.metrics.emotion_confidence, 0.5);
  const r = received.at(-1)!;
  assert.equal(r.path, '/v0/stream/models');
  assert.deepEqual(r.models, { prosody: {} });
  assert.equal(r.rate, 16000);
  assert.equal(r.samples.length, 16000);
  assert.ok(Math.abs(r.samples[100]! - 0.2 * Math.sin(20)) < 1e-4, 'the segment itself, 16-bit');
  // Silence: Hume warns there is no speech; no confidence, and the snapshot says why.
  const quiet = await stage.measure(ctx('call-1', new Float32Array(16000)));
  assert.equal(quiet.metrics.emotion_confidence, null);
  assert.equal(quiet.labels['emotion_warning'], 'W0105');
  const closedBefore = closed;
  stage.endCall('call-1');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(closed - closedBefore, 1, 'the call ended: its stream is closed');
});

test('hume adapter: an error reply is an ENGINE error naming Hume and its code', async (t) => {
  const stage = createHumeEmotionStage({ apiKey: 'wrong', url });
  t.after(() => stage.close());
  await assert.rejects(stage.measure(ctx('call-2', segment(0.3))), (err: unknown) => {
    assert.ok(err instanceof VoiceloopError && err.code === 'ENGINE');
    assert.match(err.message, /hume: Invalid API key \(E0300\)/);
    return true;
  });
});

test('emotion provider: a model by default (labelled), hume one variable away; prosody confidence is the mean top score', () => {
  assert.equal(loadSettings({}).engines.emotion.provider, 'model');
  assert.throws(() => loadSettings({ EMOTION_PROVIDER: 'hume' }), /EMOTION_PROVIDER=hume needs HUME_API_KEY/);
  assert.equal(
    loadSettings({ EMOTION_PROVIDER: 'hume', HUME_API_KEY: 'k' }).engines.emotion.hume.apiKey,
    'k',
  );
  assert.equal(prosodyConfidence({ prosody: { predictions: [] } }), null);
  assert.equal(
    prosodyConfidence({ prosody: { predictions: [{ emotions: [{ name: 'Joy', score: 0.7 }] }] } }),
    0.7,
  );
});
