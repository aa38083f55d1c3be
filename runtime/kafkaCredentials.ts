// Before `npm start`, `npm run backup` or `npm run restore` connects its Kafka clients: a broker that
// asks for SASL while this process has no credentials, or refuses the ones it has, is said in words
// naming the settings that give them (the demo, the agent and the tests learn the same from
// ensureStack); without this check kafkajs fails later with its own errors. A broker that does not
// answer at all is left to the clients' own retries and messages.
import type { SASLOptions } from 'kafkajs';
import { VoiceloopError } from '../lib/errors.ts';
import { kafkaSaslFor } from '../lib/kafkaSettings.ts';
import type { Settings } from '../lib/settings.ts';
import type { Principal } from '../stack/kafkaAuth.ts';
import { kafkaAnswers, kafkaWantsSasl } from '../stack/probes.ts';

const HOW =
  'Set VOICELOOP_STACK_DIR to the state folder of the stack that started the broker (the one holding kafka/credentials, e.g. VOICELOOP_STACK_DIR=/work/main/.stack), or KAFKA_CREDENTIALS_FILE to a credentials file, or KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE)';

/** Throws CONFIG_INVALID when the broker wants credentials this process lacks or refuses its own. */
export async function checkKafkaCredentials(cfg: Readonly<Settings>, principal: Principal): Promise<void> {
  const brokers = [...cfg.kafka.brokers];
  const sasl = kafkaSaslFor(cfg, principal);
  if (!sasl) {
    if (await kafkaWantsSasl(brokers).catch(() => false)) {
      throw new VoiceloopError(
        'CONFIG_INVALID',
        `Kafka at ${brokers.join(',')} asks for SASL authentication and this process has no Kafka credentials. ${HOW}.`,
      );
    }
    return;
  }
  try {
    await kafkaAnswers(brokers, { ...sasl } as SASLOptions);
  } catch (err) {
    if ((err as Error).name !== 'KafkaJSSASLAuthenticationError') return;
    const from = cfg.kafka.auth.given
      ? 'KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD'
      : `${cfg.kafka.auth.principals?.file ?? 'the credentials file'}`;
    throw new VoiceloopError(
      'CONFIG_INVALID',
      `Kafka at ${brokers.join(',')} refused the credentials of principal ${sasl.username} (from ${from}): ${(err as Error).message}. ${HOW}.`,
    );
  }
}
