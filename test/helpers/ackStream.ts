// A small real stream for role-consumer tests: the run's acks topic on the real broker and registry,
// and `publish(from, to)` sends one agent's acks of versions from..to (test/helpers/fixtures.ts).
import type { TestContext } from 'node:test';
import { createLogger } from '../../lib/log.ts';
import { bootstrapStation } from '../../runtime/bootstrap.ts';
import { createProducer } from '../../streams/kafka.ts';
import { configAck } from './fixtures.ts';
import { cleanupTopics, defer, testSettings, uniqueId } from './runtime.ts';

export async function ackStream(t: TestContext, label: string) {
  const cfg = testSettings(label);
  cleanupTopics(t, cfg);
  const rt = await bootstrapStation(cfg, { log: createLogger('silent') });
  defer(t, () => rt.close());
  const codec = rt.registry.codec('ConfigAck');
  const producer = createProducer(rt.kafka);
  await producer.connect();
  defer(t, () => producer.disconnect());
  const agent = uniqueId('agent');
  const publish = async (from: number, to: number) => {
    const messages = [];
    for (let v = from; v <= to; v++) messages.push({ key: agent, value: codec.encode(configAck(agent, v)) });
    await producer.send({ topic: cfg.topics.acks, acks: -1, messages });
  };
  return { cfg, rt, codec, publish };
}
