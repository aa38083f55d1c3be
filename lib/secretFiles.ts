// Credentials from NAME or NAME_FILE (issue 13). Takes the environment as a value: lib/settings.ts
// stays the one reader of process.env and calls this first.
import { readFileSync } from 'node:fs';
import { VoiceloopError } from './errors.ts';

type Env = Record<string, string | undefined>;

function given(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

/**
 * Credentials an operator keeps out of the environment's listing: each may be given as NAME or as
 * NAME_FILE, the path of a file holding it (the Docker and Kubernetes secrets convention); a trailing
 * newline is dropped. Both at once, or a file that cannot be read, is an error naming the variable.
 */
export const SECRET_VARS = [
  'API_TOKEN_SECRET',
  'DATABASE_URL',
  'S3_ACCESS_KEY_ID',
  'S3_SECRET_ACCESS_KEY',
  'DEEPGRAM_API_KEY',
  'HUME_API_KEY',
  'ARI_PASSWORD',
  'KAFKA_SASL_PASSWORD',
] as const;

export function withFileSecrets(
  env: Env,
  read: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): Env {
  const out: Env = { ...env };
  for (const name of SECRET_VARS) {
    const file = given(env, `${name}_FILE`);
    if (file === undefined) continue;
    if (given(env, name) !== undefined)
      throw new VoiceloopError('CONFIG_INVALID', `${name} and ${name}_FILE are both set: give one`);
    let value: string;
    try {
      value = read(file).replace(/\r?\n$/, '');
    } catch (err) {
      throw new VoiceloopError(
        'CONFIG_INVALID',
        `${name}_FILE=${file} cannot be read: ${(err as Error).message}`,
      );
    }
    if (value === '') throw new VoiceloopError('CONFIG_INVALID', `${name}_FILE=${file} is empty`);
    out[name] = value;
  }
  return out;
}
