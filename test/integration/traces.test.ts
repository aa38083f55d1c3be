// Issue 12 point 5 across the real Kafka and PostgreSQL: the SDK's in-memory exporter collects the
// spans of a run in which a station agent's snapshot makes the online optimizer change a parameter,
// and one trace holds the whole path — snapshot publish -> decide -> change -> outbox publish ->
// config apply on the agent — linked through the traceparent header on each Kafka record and the
// traceparent the change path stores on its outbox rows; the persister's span hangs off the same
// publish. The same provider also exports over OTLP/HTTP to a receiver on loopback, as it does when
// OTEL_EXPORTER_OTLP_ENDPOINT is set.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startTracing } from '../../lib/tracing.ts';
import { parseImpairments, simulateCall } from '../../stations/sim/index.ts';
import { startLoop } from '../helpers/loop.ts';
import { defer, uniqueId, waitFor } from '../helpers/runtime.ts';

const STATION = 4;

/** A quiet feed to STT: the online optimizer raises the input gain (as in online-loop.test.ts). */
function quietCall(segments: number) {
  const impairments = parseImpairments({
    name: 'traces-test',
    tenants: ['t'],
    sample_rates: { [STATION]: 16000 },
    stations: { [STATION]: { level_db: -36, noise: { type: 'white', snr_db: 45 } } },
  });
  return simulateCall({ impairments, callIndex: 0, seed: 8, segments, segmentMs: 2000 }).segments.map(
    (s) => s.inputs.get(STATION)!,
  );
}

/** A loopback OTLP/HTTP receiver: counts the span names it is sent (JSON encoding). */
async function otlpReceiver() {
  const names: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        for (const m of body.matchAll(/"name":"([a-z ]+)"/g)) names.push(m[1]!);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, names, close: () => new Promise((r) => server.close(r)) };
}

/** The chain of span names from `span` up to its trace's root. */
function ancestry(span: ReadableSpan, byId: Map<string, ReadableSpan>): string[] {
  const names = [span.name];
  let parent = span.parentSpanContext?.spanId;
  while (parent && byId.has(parent)) {
    const p = byId.get(parent)!;
    names.push(p.name);
    parent = p.parentSpanContext?.spanId;
  }
  return names;
}

test('one trace shows a snapshot causing a change and the agent applying it', async (t) => {
  const exporter = new InMemorySpanExporter();
  const receiver = await otlpReceiver();
  defer(t, () => receiver.close());
  const stopTracing = startTracing(receiver.url, 'voiceloop-test', [new SimpleSpanProcessor(exporter)]);
  defer(t, stopTracing);

  const { agent, tenant, advance, segment } = await startLoop(t, {
    label: 'traces',
    roles: ['persister', 'relay', 'online'],
    station: STATION,
  });
  const callId = uniqueId('call');

  let changed: { snapshotId: string; version: number } | undefined;
  for (const [i, input] of quietCall(6).entries()) {
    const { res, out } = await segment(callId, i, 2000, input);
    advance(300);
    if (out.change?.status === 'applied') {
      changed = { snapshotId: res.snapshot.snapshot_id, version: out.change.record!.version };
      break;
    }
  }
  assert.ok(changed, 'the online optimizer changed nothing on a quiet feed');
  await waitFor('the agent to apply the change', async () =>
    agent.effective(tenant, callId).version >= changed!.version ? true : undefined,
  );

  // The agent's apply span of that version, and its ancestry back to the snapshot that caused it.
  const applied = await waitFor('the agent apply span', async () => {
    const spans = exporter.getFinishedSpans();
    const publish = spans.find(
      (s) => s.name === 'snapshot publish' && s.attributes['voiceloop.snapshot_id'] === changed!.snapshotId,
    );
    if (!publish) return undefined;
    const trace = publish.spanContext().traceId;
    const apply = spans.find((s) => s.name === 'config apply' && s.spanContext().traceId === trace);
    return apply
      ? { publish, apply, spans: spans.filter((s) => s.spanContext().traceId === trace) }
      : undefined;
  });
  const byId = new Map(applied.spans.map((s) => [s.spanContext().spanId, s] as const));
  assert.deepEqual(ancestry(applied.apply, byId), [
    'config apply',
    'outbox publish',
    'change',
    'decide',
    'snapshot publish',
  ]);
  const change = applied.spans.find((s) => s.name === 'change')!;
  assert.equal(change.attributes['voiceloop.config_version'], changed.version);
  assert.equal(change.attributes['voiceloop.status'], 'applied');
  assert.equal(applied.apply.attributes['voiceloop.config_key'], `${STATION}/call/${tenant}/${callId}`);
  const persist = applied.spans.find((s) => s.name === 'snapshot persist');
  assert.ok(persist, 'the persister span is in the same trace');
  assert.equal(persist.parentSpanContext?.spanId, applied.publish.spanContext().spanId);

  // The OTLP/HTTP exporter sent the spans to the receiver on loopback.
  await waitFor('spans at the OTLP/HTTP receiver', async () =>
    ['snapshot publish', 'decide', 'change', 'outbox publish', 'config apply'].every((n) =>
      receiver.names.includes(n),
    )
      ? true
      : undefined,
  );
});
