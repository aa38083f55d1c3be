// Who may do what on the broker (issue 13): the principals, their credentials file and their ACLs.
// Pure values and small file helpers, shared by the local stack (which creates the users and grants the
// ACLs), lib/settings.ts (which reads the credentials for the program's clients), the Docker path's
// script (test/unit checks it grants the same) and the tests' private brokers.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCatalog } from '../catalog/index.ts';
import type { TopicNames } from '../lib/settings.ts';

/** One station agent's principal: `station-<id>`, one per station of the catalog. */
export type StationPrincipal = `station-${number}`;
export const stationPrincipal = (stationId: number): StationPrincipal => `station-${stationId}`;

/**
 * The broker's principals. `admin` is the stack's super-user (it creates users, ACLs, topics for the
 * probes); the others are the program's roles. Each station of the catalog has its own principal
 * (`station-<id>`); `station` is kept for an agent process that serves several stations at once (it
 * may do what any station may) and for KAFKA_PRINCIPAL=station.
 */
export function principals(): readonly Principal[] {
  // Built on first use: the station principals come from the catalog, which is parsed by an explicit
  // call, never on import (lib/settings.ts imports this module).
  all ??= Object.freeze([
    'admin',
    'api',
    'persister',
    'online',
    'relay',
    'station',
    ...loadCatalog().stations.map((s) => stationPrincipal(s.id)),
    'maintenance',
    'test',
  ] as Principal[]);
  return all;
}
let all: readonly Principal[] | undefined;
export type Principal =
  | 'admin'
  | 'api'
  | 'persister'
  | 'online'
  | 'relay'
  | 'station'
  | StationPrincipal
  | 'maintenance'
  | 'test';

/** The program's principals (every one but the super-user), each a SCRAM-SHA-512 user. */
export const rolePrincipals = (): Exclude<Principal, 'admin'>[] =>
  principals().filter((p): p is Exclude<Principal, 'admin'> => p !== 'admin');

/** The per-station principals, in catalog order. */
export const stationPrincipals = (): StationPrincipal[] =>
  principals().filter((p): p is StationPrincipal => p.startsWith('station-'));

/**
 * The prefix of the config-feed groups an agent acting as `principal` may use: its own station's
 * (`<prefix>.agent.station-<id>.`), or any agent group for the shared `station` principal.
 */
export function agentGroupPrefix(prefix: string, principal: 'station' | StationPrincipal): string {
  return principal === 'station' ? `${prefix}.agent.` : `${prefix}.agent.${principal}.`;
}

/** The principal an agent process serving `stations` acts as: its station's, or `station` for several. */
export function agentPrincipal(stations: readonly number[]): 'station' | StationPrincipal {
  return stations.length === 1 ? stationPrincipal(stations[0]!) : 'station';
}

export const isPrincipal = (name: string): name is Principal =>
  (principals() as readonly string[]).includes(name);

/**
 * The super-user authenticates with PLAIN against users listed in the broker's own JAAS config, so it
 * works before any SCRAM user exists (SCRAM users live in the cluster metadata) and on the controller
 * listener, where KRaft cannot use SCRAM. Everyone else uses SCRAM-SHA-512.
 */
export const ADMIN_MECHANISM = 'plain';
export const ROLE_MECHANISM = 'scram-sha-512';

export type Credentials = Readonly<Record<Principal, string>>;

/** Where the local stack keeps the generated passwords: `<state>/kafka/credentials`, one `name=password` a line. */
export function credentialsFile(stateDir: string): string {
  return join(stateDir, 'kafka', 'credentials');
}

/**
 * Parses a credentials file's text into the passwords it holds, which may be fewer than principals() (a
 * file written before a principal existed); names the line in the error when a line is wrong.
 */
export function parseCredentialsFound(text: string, where: string): Partial<Record<Principal, string>> {
  const out: Partial<Record<Principal, string>> = {};
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const name = line.slice(0, eq);
    if (eq < 1 || !isPrincipal(name) || line.length === eq + 1) {
      throw new Error(
        `${where}:${i + 1}: expected <principal>=<password> with one of ${principals().join(', ')}`,
      );
    }
    out[name] = line.slice(eq + 1);
  }
  return out;
}

/** The principals `found` has no password for. */
export function missingPrincipals(found: Partial<Record<Principal, string>>): Principal[] {
  return principals().filter((p) => found[p] === undefined);
}

/** Parses a credentials file's text that must hold every principal; names what is missing. */
export function parseCredentials(text: string, where: string): Credentials {
  const out = parseCredentialsFound(text, where);
  const missing = missingPrincipals(out);
  if (missing.length > 0) {
    throw new Error(
      `${where} has no password for ${missing.join(', ')} (a file from before these principals existed: \`npm run stack:up\` adds them to the local stack's broker and file)`,
    );
  }
  return Object.freeze(out as Record<Principal, string>);
}

export function formatCredentials(c: Partial<Record<Principal, string>>): string {
  const lines = principals()
    .filter((p) => c[p] !== undefined)
    .map((p) => `${p}=${c[p]}`);
  return `# Kafka principals of the local stack (generated; SCRAM-SHA-512 users, admin is PLAIN)\n${lines.join('\n')}\n`;
}

/** Reads the file when it exists (every principal required); undefined when it does not. */
export function readCredentials(file: string): Credentials | undefined {
  if (!existsSync(file)) return undefined;
  return parseCredentials(readFileSync(file, 'utf8'), file);
}

/** The passwords the file holds (possibly not every principal's); undefined when it does not exist. */
export function readCredentialsFound(file: string): Partial<Record<Principal, string>> | undefined {
  if (!existsSync(file)) return undefined;
  return parseCredentialsFound(readFileSync(file, 'utf8'), file);
}

export const newPassword = (): string => randomBytes(18).toString('base64url');

/** Writes the file readable by the owner only (a new file, then renamed over the old one). */
export function writeCredentials(file: string, c: Partial<Record<Principal, string>>): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, formatCredentials(c), { mode: 0o600 });
  renameSync(tmp, file);
}

/**
 * The stack's credentials: read, with a random (URL-safe) password generated for every principal the
 * file lacks (all of them when there is no file), written readable by the owner only. Only for a
 * broker that has not been formatted yet (or the Docker path, which adds missing users at start): on a
 * running broker the users must exist before their passwords are in the file (services/kafka.ts).
 */
export function ensureCredentials(file: string): Credentials {
  const found = readCredentialsFound(file) ?? {};
  const missing = missingPrincipals(found);
  if (missing.length === 0) return Object.freeze(found as Credentials);
  const made = { ...found, ...Object.fromEntries(missing.map((p) => [p, newPassword()])) };
  writeCredentials(file, made);
  return Object.freeze(made as Credentials);
}

/** `kafka-storage format --add-scram` arguments: one SCRAM-SHA-512 user per program principal in `c`. */
export function scramFormatArgs(c: Partial<Record<Principal, string>>): string[] {
  return rolePrincipals()
    .filter((p) => c[p] !== undefined)
    .flatMap((p) => ['--add-scram', `SCRAM-SHA-512=[name=${p},password=${c[p]}]`]);
}

/** A JAAS config string value, quoted and escaped. */
export const jaasString = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * The broker's security settings: both listeners SASL_PLAINTEXT (loopback only), SCRAM-SHA-512 and
 * PLAIN (the super-user's) on the client listener, PLAIN on the controller listener, KRaft's standard
 * authorizer with `admin` as the only super-user and no access where no ACL allows it.
 */
export function securityProperties(adminPassword: string): Record<string, string> {
  const plain = `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password=${jaasString(adminPassword)} user_admin=${jaasString(adminPassword)};`;
  return {
    'listener.name.broker.sasl.enabled.mechanisms': 'SCRAM-SHA-512,PLAIN',
    'listener.name.broker.plain.sasl.jaas.config': plain,
    'listener.name.broker.scram-sha-512.sasl.jaas.config':
      'org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'listener.name.controller.sasl.enabled.mechanisms': 'PLAIN',
    'listener.name.controller.plain.sasl.jaas.config': plain,
    'sasl.mechanism.inter.broker.protocol': 'PLAIN',
    'sasl.mechanism.controller.protocol': 'PLAIN',
    'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'super.users': 'User:admin',
    'allow.everyone.if.no.acl.found': 'false',
  };
}

export type AclResource = 'topic' | 'group';
export type AclOperation = 'read' | 'write' | 'create' | 'delete' | 'describe' | 'all';

export interface AclRule {
  principal: Exclude<Principal, 'admin'>;
  permission: 'allow' | 'deny';
  operation: AclOperation;
  resource: AclResource;
  /** `*` with pattern literal is every resource of the type. */
  name: string;
  pattern: 'literal' | 'prefixed';
}

/**
 * The ACLs of one deployment (one topic prefix). Everyone of the program may create and describe the
 * deployment's topics (each role ensures the topics it uses exist, with the program's own settings; a
 * topic's existence is no access to its records). Then:
 * - api (API, persister, experiments, batch runs, webhooks): writes snapshots and dead letters, reads
 *   snapshots and dead letters, any of the deployment's groups (read, describe, delete).
 * - online: reads snapshots in its groups (`<prefix>.online-optimizer…`), writes dead letters, reads
 *   config in its config view's groups (`<prefix>.online-view.…`).
 * - relay: writes config, changes and optimizer results; the only one that may write config and changes.
 * - persister: reads snapshots in its groups (`<prefix>.persister…`), writes dead letters.
 * - station-<id> (one per station): writes snapshots and acks, reads config in its own groups
 *   (`<prefix>.agent.station-<id>.…`, agentGroupPrefix), so it cannot join another station's group.
 * - station (an agent process serving several stations): the same in any `<prefix>.agent.` group.
 * - maintenance: reads config (the backup) in `<prefix>.backup.` groups.
 * - test: everything on every topic and group (the tests' own prefixes), except writing this
 *   deployment's config and changes (a deny wins over any allow).
 */
export function roleAcls(prefix: string, t: TopicNames): AclRule[] {
  const rule = (
    principal: AclRule['principal'],
    operation: AclOperation,
    resource: AclResource,
    name: string,
    pattern: AclRule['pattern'] = 'literal',
    permission: AclRule['permission'] = 'allow',
  ): AclRule => ({ principal, permission, operation, resource, name, pattern });
  const program = rolePrincipals().filter((p) => p !== 'test');
  return [
    ...program.flatMap((p) => [
      rule(p, 'create', 'topic', `${prefix}.`, 'prefixed'),
      rule(p, 'describe', 'topic', `${prefix}.`, 'prefixed'),
    ]),
    rule('api', 'write', 'topic', t.snapshots),
    rule('api', 'read', 'topic', t.snapshots),
    rule('api', 'write', 'topic', t.deadLetters),
    rule('api', 'read', 'topic', t.deadLetters),
    ...(['read', 'describe', 'delete'] as const).map((op) =>
      rule('api', op, 'group', `${prefix}.`, 'prefixed'),
    ),
    rule('online', 'read', 'topic', t.snapshots),
    rule('online', 'write', 'topic', t.deadLetters),
    // Prefixed: the demo decides in a per-run group `<prefix>.online-optimizer.<run>`.
    rule('online', 'read', 'group', `${prefix}.online-optimizer`, 'prefixed'),
    rule('online', 'describe', 'group', `${prefix}.online-optimizer`, 'prefixed'),
    // Its view of the effective configuration follows the config topic in a fresh group per start.
    rule('online', 'read', 'topic', t.config),
    rule('online', 'read', 'group', `${prefix}.online-view.`, 'prefixed'),
    rule('online', 'describe', 'group', `${prefix}.online-view.`, 'prefixed'),
    rule('relay', 'write', 'topic', t.config),
    rule('relay', 'write', 'topic', t.changes),
    rule('relay', 'write', 'topic', t.results),
    rule('persister', 'read', 'topic', t.snapshots),
    rule('persister', 'write', 'topic', t.deadLetters),
    rule('persister', 'read', 'group', `${prefix}.persister`, 'prefixed'),
    rule('persister', 'describe', 'group', `${prefix}.persister`, 'prefixed'),
    ...(['station', ...stationPrincipals()] as const).flatMap((p) => [
      rule(p, 'write', 'topic', t.snapshots),
      rule(p, 'write', 'topic', t.acks),
      rule(p, 'read', 'topic', t.config),
      ...(['read', 'describe', 'delete'] as const).map((op) =>
        rule(p, op, 'group', agentGroupPrefix(prefix, p), 'prefixed'),
      ),
    ]),
    rule('maintenance', 'read', 'topic', t.config),
    ...(['read', 'describe', 'delete'] as const).map((op) =>
      rule('maintenance', op, 'group', `${prefix}.backup.`, 'prefixed'),
    ),
    rule('test', 'all', 'topic', '*'),
    rule('test', 'all', 'group', '*'),
    rule('test', 'write', 'topic', t.config, 'literal', 'deny'),
    rule('test', 'write', 'topic', t.changes, 'literal', 'deny'),
  ];
}

const OPERATION_NAME: Record<AclOperation, string> = {
  read: 'Read',
  write: 'Write',
  create: 'Create',
  delete: 'Delete',
  describe: 'Describe',
  all: 'All',
};

/**
 * The rules as `kafka-acls.sh --add` arguments, one line per principal and resource (its operations
 * together): what the Docker path's start script grants (stack/docker/kafka-acls.txt; a unit test keeps
 * that file equal to this).
 */
export function aclCliLines(rules: AclRule[]): string[] {
  const lines = new Map<string, string[]>();
  for (const r of rules) {
    const head = `--${r.permission}-principal User:${r.principal} --${r.resource} ${r.name} --resource-pattern-type ${r.pattern}`;
    lines.set(head, [...(lines.get(head) ?? []), `--operation ${OPERATION_NAME[r.operation]}`]);
  }
  return [...lines].map(([head, ops]) => `${head} ${ops.join(' ')}`);
}
