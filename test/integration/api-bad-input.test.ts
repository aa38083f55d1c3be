// Issue 2, "Done when": kinds of bad API input each get a 400 naming the problem, and nothing reaches
// Kafka or the object store.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { audioKey } from '../../domain/audioKeys.ts';
import { startApp } from '../../runtime/app.ts';
import { pcmTone, snapshotInput } from '../helpers/fixtures.ts';
import { cleanupTopics, defer, testSettings, token, uniqueId } from '../helpers/runtime.ts';

type Snapshot = Record<string, unknown> & ReturnType<typeof snapshotInput>;

/** Kinds of bad snapshot request, each with what its 400 must name; `good()` is a valid body. */
function badRequests(
  tenant: string,
  good: () => Snapshot,
  pcm: string,
): { name: string; body: unknown; expect: RegExp; raw?: boolean }[] {
  return [
    { name: 'missing field', body: (({ call_id, ...rest }) => rest)(good()), expect: /call_id/ },
    { name: 'wrong type', body: { ...good(), station_id: '2' }, expect: /station_id.*integer/ },
    { name: 'unknown station', body: { ...good(), station_id: 5 }, expect: /station_id.*unknown station 5/ },
    {
      name: 'oversize PCM',
      body: { ...good(), audio: { pcm_base64: pcmTone(3).toString('base64'), sample_rate: 16000 } },
      expect: /pcm_base64.*limit/,
    },
    {
      name: 'bad base64',
      body: { ...good(), audio: { pcm_base64: 'AAA*bad*', sample_rate: 16000 } },
      expect: /pcm_base64.*base64/,
    },
    {
      name: 'odd PCM byte count',
      body: {
        ...good(),
        audio: { pcm_base64: Buffer.from([1, 2, 3]).toString('base64'), sample_rate: 16000 },
      },
      expect: /odd byte count/,
    },
    {
      name: 'unsupported sample rate',
      body: { ...good(), audio: { pcm_base64: pcm, sample_rate: 44100 } },
      expect: /sample_rate/,
    },
    { name: 'unknown field', body: { ...good(), colour: 'red' }, expect: /colour/ },
    {
      name: 'ratio out of range',
      body: (() => {
        const b = good();
        b.metrics.audio.clipping_ratio = 2;
        return b;
      })(),
      expect: /clipping_ratio.*\[0, 1\]/,
    },
    {
      name: 'segment ends before it starts',
      body: { ...good(), segment: { index: 0, start_ms: 500, end_ms: 100 } },
      expect: /segment\.end_ms/,
    },
    { name: 'bad channel', body: { ...good(), channel: 'C' }, expect: /channel/ },
    { name: 'unsafe call id', body: { ...good(), call_id: '../../etc' }, expect: /call_id/ },
    {
      name: 'both inline PCM and storage key',
      body: { ...good(), audio: { pcm_base64: pcm, storage_key: 'x', sample_rate: 16000 } },
      expect: /exactly one/,
    },
    {
      name: 'storage key that does not exist',
      body: {
        ...good(),
        audio: {
          storage_key: audioKey(tenant, 'a'.repeat(64)),
          sha256: 'a'.repeat(64),
          size_bytes: 3200,
          sample_rate: 16000,
        },
      },
      expect: /no such object/,
    },
    {
      name: "another tenant's storage key",
      body: {
        ...good(),
        audio: {
          storage_key: audioKey('other', 'b'.repeat(64)),
          sha256: 'b'.repeat(64),
          size_bytes: 3200,
          sample_rate: 16000,
        },
      },
      expect: /this tenant's key/,
    },
    { name: 'body that is not JSON', body: '{"tenant_id": ', expect: /JSON/i, raw: true },
  ];
}

test('bad snapshot requests get a 400 that names the problem and write nothing', async (t) => {
  const cfg = testSettings('badinput', { MAX_PCM_BYTES: String(64 * 1024) });
  cleanupTopics(t, cfg);
  const app = await startApp(cfg, ['api'], { listen: false });
  defer(t, () => app.stop());
  const tenant = uniqueId('tn');
  const auth = token(cfg, 'station', tenant);
  const good = (): Snapshot => structuredClone(snapshotInput({ tenant, call: `${tenant}-c1` })) as Snapshot;
  const pcm = pcmTone(0.1).toString('base64');

  for (const c of badRequests(tenant, good, pcm)) {
    const res = await app.api!.inject({
      method: 'POST',
      url: '/v1/stations/snapshot',
      headers: { authorization: auth, 'content-type': 'application/json' },
      payload: c.raw ? (c.body as string) : JSON.stringify(c.body),
    });
    assert.equal(res.statusCode, 400, `${c.name}: expected 400, got ${res.statusCode} ${res.body}`);
    assert.match(res.json().message, c.expect, `${c.name}: ${res.body}`);
  }

  // Authorization: no token is refused with 401; a viewer and a station of another tenant with 403.
  for (const [name, headers, status] of [
    ['no token', {}, 401],
    ['viewer', { authorization: token(cfg, 'viewer', tenant) }, 403],
    ['other tenant', { authorization: token(cfg, 'station', 'someone-else') }, 403],
  ] as const) {
    const res = await app.api!.inject({
      method: 'POST',
      url: '/v1/stations/snapshot',
      headers,
      payload: good(),
    });
    assert.equal(res.statusCode, status, `${name}: ${res.body}`);
  }

  // Nothing reached Kafka and nothing was uploaded.
  const admin = app.rt.kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(cfg.topics.snapshots);
  await admin.disconnect();
  assert.equal(
    offsets.reduce((s, p) => s + Number(p.high), 0),
    0,
  );
  const listed = await app.rt.s3.send(
    new ListObjectsV2Command({ Bucket: cfg.s3.bucket, Prefix: `audio/v1/${tenant}/` }),
  );
  assert.equal(listed.KeyCount ?? 0, 0);

  // And the same request, made valid, is accepted: the cases failed for their own reason.
  const ok = await app.api!.inject({
    method: 'POST',
    url: '/v1/stations/snapshot',
    headers: { authorization: auth },
    payload: { ...good(), audio: { pcm_base64: pcm, sample_rate: 16000 } },
  });
  assert.equal(ok.statusCode, 202, ok.body);
});
