// Dead letters (DESIGN §4): the original key and bytes, untouched, with why and where from in headers,
// so a record can be inspected and replayed once the cause is fixed.
import type { KafkaMessage, Producer } from 'kafkajs';
import { VoiceloopError, wrapIo } from '../lib/errors.ts';

export const DLQ_HEADERS = {
  code: 'x-error-code',
  message: 'x-error-message',
  topic: 'x-original-topic',
  partition: 'x-original-partition',
  offset: 'x-original-offset',
  group: 'x-consumer-group',
  failedAt: 'x-failed-at',
} as const;

export async function sendToDeadLetter(
  producer: Producer,
  dlqTopic: string,
  src: { topic: string; partition: number; message: KafkaMessage; group: string },
  err: unknown,
): Promise<void> {
  const code = err instanceof VoiceloopError ? err.code : 'UNKNOWN';
  const message = err instanceof Error ? err.message : String(err);
  try {
    await producer.send({
      topic: dlqTopic,
      acks: -1,
      messages: [
        {
          key: src.message.key,
          value: src.message.value,
          headers: {
            ...src.message.headers,
            [DLQ_HEADERS.code]: code,
            [DLQ_HEADERS.message]: message.slice(0, 4000),
            [DLQ_HEADERS.topic]: src.topic,
            [DLQ_HEADERS.partition]: String(src.partition),
            [DLQ_HEADERS.offset]: src.message.offset,
            [DLQ_HEADERS.group]: src.group,
            [DLQ_HEADERS.failedAt]: new Date().toISOString(),
          },
        },
      ],
    });
  } catch (e) {
    throw wrapIo('KAFKA', `dead-lettering ${src.topic}/${src.partition}@${src.message.offset}`, e);
  }
}
