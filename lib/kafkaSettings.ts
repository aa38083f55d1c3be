// How the program's Kafka clients authenticate (issue 13). Takes the environment as a value:
// lib/settings.ts stays the one reader of process.env and calls this with it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ADMIN_MECHANISM,
  principals as allPrincipals,
  type Credentials,
  credentialsFile,
  isPrincipal,
  type Principal,
  parseCredentialsFound,
  ROLE_MECHANISM,
} from '../stack/kafkaAuth.ts';
import { VoiceloopError } from './errors.ts';

type Env = Record<string, string | undefined>;

function given(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** SASL settings of one Kafka client (kafkajs's shape). */
export interface KafkaSasl {
  mechanism: 'scram-sha-512' | 'scram-sha-256' | 'plain';
  username: string;
  password: string;
}

/**
 * How the program's Kafka clients authenticate (issue 13), first that applies:
 * - `given`: KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (or _FILE): every client of the process.
 * - `principals`: a credentials file (KAFKA_CREDENTIALS_FILE, default the local stack's
 *   `<state>/kafka/credentials` when it exists): each role's clients use their own principal, or
 *   every client `principal` (KAFKA_PRINCIPAL) when set.
 * - neither: no SASL (a broker without authentication, such as a stack started before issue 13).
 */
export interface KafkaAuth {
  given: KafkaSasl | null;
  /** The file's passwords; a principal it lacks fails when a client acting as it is made. */
  principals: { file: string; credentials: Partial<Credentials> } | null;
  principal: Principal | null;
}

const SASL_MECHANISMS = ['scram-sha-512', 'scram-sha-256', 'plain'] as const;

/** The local stack's state folder (VOICELOOP_STACK_DIR, default .stack in the checkout). */
function stackStateDir(env: Env): string {
  return given(env, 'VOICELOOP_STACK_DIR') ?? join(import.meta.dirname, '..', '.stack');
}

export function kafkaAuth(env: Env): KafkaAuth {
  const mechanism = (given(env, 'KAFKA_SASL_MECHANISM') ?? 'scram-sha-512') as KafkaSasl['mechanism'];
  if (!SASL_MECHANISMS.includes(mechanism)) {
    throw new VoiceloopError(
      'CONFIG_INVALID',
      `KAFKA_SASL_MECHANISM=${mechanism} must be one of ${SASL_MECHANISMS.join(', ')}`,
    );
  }
  const username = given(env, 'KAFKA_SASL_USERNAME');
  const password = given(env, 'KAFKA_SASL_PASSWORD');
  if ((username === undefined) !== (password === undefined)) {
    throw new VoiceloopError(
      'CONFIG_INVALID',
      'KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE) go together: give both or neither',
    );
  }
  const principalRaw = given(env, 'KAFKA_PRINCIPAL');
  if (principalRaw !== undefined && !isPrincipal(principalRaw)) {
    throw new VoiceloopError(
      'CONFIG_INVALID',
      `KAFKA_PRINCIPAL=${principalRaw} must be one of ${allPrincipals().join(', ')}`,
    );
  }
  const explicitFile = given(env, 'KAFKA_CREDENTIALS_FILE');
  // The local stack's file only stands for the local stack, not for brokers named by KAFKA_BROKERS.
  const stackFile =
    given(env, 'KAFKA_BROKERS') === undefined ? credentialsFile(stackStateDir(env)) : undefined;
  const file = explicitFile ?? (stackFile && existsSync(stackFile) ? stackFile : undefined);
  let principals: KafkaAuth['principals'] = null;
  if (file !== undefined && username === undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new VoiceloopError(
        'CONFIG_INVALID',
        `KAFKA_CREDENTIALS_FILE=${file} cannot be read: ${(err as Error).message}`,
      );
    }
    try {
      principals = { file, credentials: parseCredentialsFound(text, file) };
    } catch (err) {
      throw new VoiceloopError('CONFIG_INVALID', (err as Error).message);
    }
  }
  return {
    given: username !== undefined ? { mechanism, username, password: password! } : null,
    principals,
    principal: (principalRaw as Principal | undefined) ?? null,
  };
}

/**
 * The SASL settings of a client acting for `principal` (null: no SASL). The process's KAFKA_PRINCIPAL,
 * when set, stands for every role of the process; explicit credentials stand for everything.
 */
export function kafkaSaslFor(cfg: { kafka: { auth: KafkaAuth } }, principal: Principal): KafkaSasl | null {
  const a = cfg.kafka.auth;
  if (a.given) return a.given;
  if (!a.principals) return null;
  const name = a.principal ?? principal;
  const password = a.principals.credentials[name];
  if (password === undefined) {
    throw new VoiceloopError(
      'CONFIG_INVALID',
      `${a.principals.file} has no password for principal ${name} (a file from before that principal existed: \`npm run stack:up\` adds the missing ones to the local stack's broker and file)`,
    );
  }
  return { mechanism: name === 'admin' ? ADMIN_MECHANISM : ROLE_MECHANISM, username: name, password };
}
