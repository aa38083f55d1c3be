// The Deepgram adapter against a LOCAL server: Deepgram cannot be reached from here, so this test runs
// a real WebSocket server on loopback that speaks Deepgram's documented Listen v1 live protocol
// (GET /v1/listen with the query parameters, "Authorization: Token <key>", binary audio messages,
// {"type":"CloseStream"}, then Results and Metadata messages and a close). Its messages are written by
// us in the shapes Deepgram documents; they are not recordings of Deepgram. With DEEPGRAM_API_KEY (and
// no DEEPGRAM_URL) the same adapter talks to Deepgram itself.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { createDeepgram } from '../../engines/stt/deepgram.ts';
import { VoiceloopError } from '../../lib/errors.ts';
import { loadSettings } from '../../lib/settings.ts';

interface Seen {
  path: string;
  query: URLSearchParams;
  auth: string | undefined;
  audioBytes: number;
  firstSamples: number[];
  closeStream: boolean;
}

let server: WebSocketServer;
let url: string;
const seen: Seen[] = [];
/** What the server answers after CloseStream, per connection: set by each test. */
let script: (s: Seen) => object[] = () => [];

before(async () => {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => server.once('listening', () => r()));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  server.on('connection', (ws, req) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const s: Seen = {
      path: u.pathname,
      query: u.searchParams,
      auth: req.headers.authorization,
      audioBytes: 0,
      firstSamples: [],
      closeStream: false,
    };
    seen.push(s);
    if (s.auth !== 'Token test-key') {
      // Deepgram refuses a bad key when the socket opens.
      ws.close(1008, 'invalid credentials');
      return;
    }
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        const b = data as Buffer;
        for (let i = 0; i + 1 < b.length && s.firstSamples.length < 4; i += 2)
          s.firstSamples.push(b.readInt16LE(i));
        s.audioBytes += b.length;
        return;
      }
      const msg = JSON.parse(String(data)) as { type: string };
      if (msg.type === 'CloseStream') {
        s.closeStream = true;
        for (const m of script(s)) ws.send(JSON.stringify(m));
        ws.close(1000);
      }
    });
  });
});

after(() => {
  for (const c of server.clients) c.terminate();
  return new Promise<void>((r) => server.close(() => r()));
});

const results = (isFinal: boolean, words: [string, number, number, number][], start = 0) => ({
  type: 'Results',
  channel_index: [0, 1],
  duration: 1,
  start,
  is_final: isFinal,
  speech_final: isFinal,
  channel: {
    alternatives: [
      {
        transcript: words.map((w) => w[0]).join(' '),
        confidence: words.length ? Math.min(...words.map((w) => w[3])) : 0,
        words: words.map(([word, s, e, c]) => ({
          word,
          start: s,
          end: e,
          confidence: c,
          punctuated_word: word,
        })),
      },
    ],
  },
  metadata: {
    request_id: 'local-test',
    model_info: { name: 'local', version: '0', arch: 'none' },
    model_uuid: 'local',
  },
  from_finalize: false,
});

test('deepgram adapter: streams linear16 with the documented parameters and reads words and confidence from final results', async () => {
  script = (s) => [
    // An interim result the adapter must not count, then two final ones; Metadata closes the stream.
    results(false, [['plea', 0.1, 0.3, 0.4]]),
    results(true, [
      ['please', 0.1, 0.4, 0.9],
      ['enter', 0.45, 0.7, 0.8],
    ]),
    results(true, [['pound', 1.2, 1.5, 0.7]], 1),
    { type: 'Metadata', request_id: 'local-test', duration: s.audioBytes / 2 / 16000, channels: 1 },
  ];
  const dg = createDeepgram({ apiKey: 'test-key', url });
  const samples = Float32Array.from({ length: 16000 * 1.5 }, (_, i) => 0.25 * Math.sin(i / 7));
  const r = await dg.recognize(samples, 16000);
  const s = seen.at(-1)!;
  assert.equal(s.path, '/v1/listen');
  assert.equal(s.query.get('encoding'), 'linear16');
  assert.equal(s.query.get('sample_rate'), '16000');
  assert.equal(s.query.get('channels'), '1');
  assert.equal(s.audioBytes, samples.length * 2, 'every sample sent as 16-bit PCM');
  assert.deepEqual(
    s.firstSamples,
    [0, 1, 2, 3].map((i) => Math.round(0.25 * Math.sin(i / 7) * 32767)),
  );
  assert.ok(s.closeStream);
  assert.deepEqual(
    r.words.map((w) => w.word),
    ['please', 'enter', 'pound'],
  );
  assert.equal(r.words[1]!.startMs, 450);
  assert.ok(Math.abs(r.confidence! - 0.8) < 1e-9);
  assert.equal(r.text, 'please enter pound');
  await dg.close();
});

test('deepgram adapter: no final result is no confidence; a refused key is an ENGINE error, not a hang', async () => {
  script = () => [results(false, [['uh', 0, 0.2, 0.3]])];
  const dg = createDeepgram({ apiKey: 'test-key', url });
  const r = await dg.recognize(new Float32Array(1600), 16000);
  assert.equal(r.words.length, 0);
  assert.equal(r.confidence, null);
  const bad = createDeepgram({ apiKey: 'wrong-key', url, timeoutMs: 5000 });
  await assert.rejects(
    bad.recognize(new Float32Array(1600), 16000),
    (err: unknown) => err instanceof VoiceloopError,
  );
});

test('deepgram adapter: chosen by STT_PROVIDER, one variable (DEEPGRAM_API_KEY) away; missing key is a config error', () => {
  assert.equal(loadSettings({}).engines.stt.provider, 'pocketsphinx');
  assert.throws(
    () => loadSettings({ STT_PROVIDER: 'deepgram' }),
    /STT_PROVIDER=deepgram needs DEEPGRAM_API_KEY/,
  );
  assert.throws(
    () => loadSettings({ STT_PROVIDER: 'whisper' }),
    /STT_PROVIDER=whisper must be one of pocketsphinx, deepgram/,
  );
  const cfg = loadSettings({ STT_PROVIDER: 'deepgram', DEEPGRAM_API_KEY: 'k', DEEPGRAM_URL: url });
  assert.deepEqual(cfg.engines.stt.deepgram, { apiKey: 'k', url });
});
