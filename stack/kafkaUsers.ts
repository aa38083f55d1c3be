// Principals added to a broker that already runs (issue 13): a credentials file and SCRAM user list
// made before a principal existed lack it. A fresh format adds every user at once (scramFormatArgs);
// a running broker gets the missing ones from Kafka's own ConfigCommand, run from the stack's jars as
// the super-user (kafkajs cannot alter SCRAM credentials). Used by the local stack on every `up`
// (services/kafka.ts) and by the tests' private brokers.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Credentials,
  jaasString,
  missingPrincipals,
  newPassword,
  type Principal,
  readCredentialsFound,
  writeCredentials,
} from './kafkaAuth.ts';
import { run } from './proc.ts';

export interface KafkaTool {
  /** The java binary. */
  java: string;
  /** The Kafka jars, `<dir>/*`. */
  classpath: string;
  /** A folder for the tool's admin settings file (removed after). */
  workDir: string;
}

/** Creates (or sets the password of) SCRAM-SHA-512 users through `broker`, as the PLAIN super-user. */
export async function addScramUsers(
  tool: KafkaTool,
  broker: string,
  adminPassword: string,
  users: readonly (readonly [string, string])[],
): Promise<void> {
  if (users.length === 0) return;
  const props = join(tool.workDir, `admin-${process.pid}-${Date.now()}.properties`);
  writeFileSync(
    props,
    `security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password=${jaasString(adminPassword)};\n`,
    { mode: 0o600 },
  );
  try {
    for (const [name, password] of users) {
      await run(
        tool.java,
        [
          '-cp',
          tool.classpath,
          'kafka.admin.ConfigCommand',
          '--bootstrap-server',
          broker,
          '--command-config',
          props,
          '--alter',
          '--add-config',
          `SCRAM-SHA-512=[password=${password}]`,
          '--entity-type',
          'users',
          '--entity-name',
          name,
        ],
        { cwd: tool.workDir },
      ).catch((err: unknown) => {
        const msg = (err as Error).message.replace(/password=[^\]\s]*/g, 'password=***');
        throw new Error(`adding the SCRAM user ${name} on ${broker}: ${msg}`);
      });
    }
  } finally {
    rmSync(props, { force: true });
  }
}

/**
 * Adds the principals the credentials file lacks to a running broker: new passwords, the SCRAM users
 * created first, then the file rewritten (owner-only) with them, so the file never names a user the
 * broker does not know. Returns the principals added (none when the file has every one).
 */
export async function addMissingPrincipals(
  tool: KafkaTool,
  broker: string,
  file: string,
): Promise<Principal[]> {
  const found = readCredentialsFound(file);
  if (!found) throw new Error(`${file} does not exist: no credentials to add principals to`);
  if (found.admin === undefined) throw new Error(`${file} has no password for admin`);
  const missing = missingPrincipals(found);
  if (missing.length === 0) return [];
  const added = missing.map((p) => [p, newPassword()] as const);
  await addScramUsers(tool, broker, found.admin, added);
  writeCredentials(file, { ...found, ...Object.fromEntries(added) } as Credentials);
  return missing;
}
