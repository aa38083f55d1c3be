// Issue 13, point 4, the pure part: the principals' credentials file, the ACL table (who may write what),
// the Docker path's copy of it, the broker's security settings, and how the program's settings pick a
// client's SASL credentials. The broker enforcing them is test/integration/kafka-acl.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCatalog } from '../../../catalog/index.ts';
import { kafkaSaslFor, loadSettings, topicNames } from '../../../lib/settings.ts';
import { processPrincipal, ROLE_PRINCIPAL } from '../../../runtime/app.ts';
import {
  aclCliLines,
  agentGroupPrefix,
  agentPrincipal,
  ensureCredentials,
  formatCredentials,
  missingPrincipals,
  parseCredentials,
  parseCredentialsFound,
  principals,
  roleAcls,
  scramFormatArgs,
  stationPrincipal,
  stationPrincipals,
} from '../../../stack/kafkaAuth.ts';
import { serverProperties } from '../../../stack/services/kafka.ts';

const t = topicNames('voiceloop');
const acls = roleAcls('voiceloop', t);
const allowed = (principal: string, operation: string, topic: string) =>
  acls.some(
    (r) =>
      r.principal === principal &&
      r.permission === 'allow' &&
      r.resource === 'topic' &&
      (r.operation === operation || r.operation === 'all') &&
      (r.pattern === 'literal' ? r.name === topic || r.name === '*' : topic.startsWith(r.name)),
  ) &&
  !acls.some(
    (r) =>
      r.principal === principal &&
      r.permission === 'deny' &&
      r.resource === 'topic' &&
      r.operation === operation &&
      r.name === topic,
  );

test('kafka ACLs: only the relay writes config and changes; a station writes snapshots and acks and reads config', () => {
  const writers = (topic: string) => principals().filter((p) => allowed(p, 'write', topic));
  assert.deepEqual(writers(t.config), ['relay']);
  assert.deepEqual(writers(t.changes), ['relay']);
  assert.deepEqual(writers(t.results), ['relay', 'test']);
  for (const topic of [t.snapshots, t.acks]) assert.ok(allowed('station', 'write', topic), topic);
  assert.ok(allowed('station', 'read', t.config));
  // What a station reads and writes, all of it.
  const station = acls.filter((r) => r.principal === 'station' && r.resource === 'topic');
  assert.deepEqual(
    station
      .filter((r) => r.operation === 'read' || r.operation === 'write')
      .map((r) => `${r.operation} ${r.name}`),
    [`write ${t.snapshots}`, `write ${t.acks}`, `read ${t.config}`],
  );
  // The super-user needs no ACL; nobody is granted anything on every topic but the tests' principal.
  assert.ok(!acls.some((r) => (r.principal as string) === 'admin'));
  assert.deepEqual([...new Set(acls.filter((r) => r.name === '*').map((r) => r.principal))], ['test']);
});

test('kafka principals: one per station of the catalog, with the shared station principal rights in its own groups', () => {
  const ids = loadCatalog().stations.map((x) => x.id);
  assert.deepEqual(stationPrincipals(), ids.map(stationPrincipal));
  assert.equal(agentPrincipal([3]), 'station-3');
  assert.equal(agentPrincipal([3, 4]), 'station');
  const topicRights = (p: string) =>
    acls
      .filter((r) => r.principal === p && r.resource === 'topic')
      .map((r) => `${r.operation} ${r.name} ${r.pattern}`);
  const groups = (p: string) => acls.filter((r) => r.principal === p && r.resource === 'group');
  for (const p of stationPrincipals()) {
    assert.deepEqual(topicRights(p), topicRights('station'), p);
    // Its own agent groups only: `voiceloop.agent.station-1.` is no prefix of station-10's groups.
    assert.deepEqual(
      [...new Set(groups(p).map((r) => `${r.name} ${r.pattern}`))],
      [`voiceloop.agent.${p}. prefixed`],
    );
  }
  assert.ok(
    !agentGroupPrefix('voiceloop', 'station-10').startsWith(agentGroupPrefix('voiceloop', 'station-1')),
  );
  // The persister: reads snapshots, writes dead letters, in its own groups; nothing else.
  assert.deepEqual(
    topicRights('persister').filter((r) => !/^(create|describe) /.test(r)),
    [`read ${t.snapshots} literal`, `write ${t.deadLetters} literal`],
  );
  assert.deepEqual(
    groups('persister').map((r) => `${r.operation} ${r.name}`),
    ['read voiceloop.persister', 'describe voiceloop.persister'],
  );
});

test('kafka credentials: a file from before a principal existed is read, and says which are missing', () => {
  const old = parseCredentialsFound('admin=a\napi=b\nstation=c\n', 'f');
  assert.deepEqual(old, { admin: 'a', api: 'b', station: 'c' });
  assert.deepEqual(missingPrincipals(old).slice(0, 3), ['persister', 'online', 'relay']);
  assert.ok(missingPrincipals(old).includes('station-11'));
  assert.throws(() => parseCredentials('admin=a\n', 'f'), /f has no password for api, persister/);
  // ensureCredentials fills in only what is missing and keeps the passwords the file had.
  const dir = mkdtempSync(join(tmpdir(), 'kafka-creds-'));
  try {
    const file = join(dir, 'credentials');
    writeFileSync(file, formatCredentials(old));
    const full = ensureCredentials(file);
    assert.equal(full.api, 'b');
    assert.deepEqual(missingPrincipals(full), []);
    assert.equal(statSync(file).mode & 0o777, 0o600);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kafka ACLs: the Docker path grants the same list (stack/docker/kafka-acls.txt)', () => {
  const file = join(import.meta.dirname, '..', '..', '..', 'stack', 'docker', 'kafka-acls.txt');
  assert.deepEqual(
    readFileSync(file, 'utf8').trim().split('\n'),
    aclCliLines(acls),
    'regenerate stack/docker/kafka-acls.txt from aclCliLines(roleAcls("voiceloop", …))',
  );
});

test('kafka credentials: written once, owner-only, and read back; a wrong file names the problem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kafka-creds-'));
  try {
    const file = join(dir, 'credentials');
    const made = ensureCredentials(file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(ensureCredentials(file), made);
    assert.equal(new Set(Object.values(made)).size, principals().length);
    assert.deepEqual(parseCredentials(formatCredentials(made), 'x'), made);
    assert.throws(() => parseCredentials('admin=a\n', 'f'), /f has no password for api/);
    assert.throws(() => parseCredentials('nobody=a\n', 'f'), /f:1: expected <principal>=<password>/);
    // The program's principals are SCRAM users; the super-user is not (PLAIN, from the broker's JAAS).
    const args = scramFormatArgs(made);
    assert.equal(args.filter((a) => a === '--add-scram').length, principals().length - 1);
    assert.ok(!args.some((a) => a.includes('name=admin')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kafka broker: secured settings turn on SASL on both listeners, the authorizer, no access without an ACL', () => {
  const at = { host: '127.0.0.1', port: 1, controller: 2, dataDir: '/d' };
  const props = (s: string) =>
    Object.fromEntries(
      s
        .trim()
        .split('\n')
        .map((l) => l.split(/=(.*)/s, 2)),
    );
  const open = props(serverProperties(at));
  assert.equal(open['authorizer.class.name'], undefined);
  const secured = props(serverProperties({ ...at, adminPassword: 'pw"x' }));
  assert.equal(secured['listener.security.protocol.map'], 'BROKER:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT');
  assert.equal(secured['authorizer.class.name'], 'org.apache.kafka.metadata.authorizer.StandardAuthorizer');
  assert.equal(secured['allow.everyone.if.no.acl.found'], 'false');
  assert.equal(secured['super.users'], 'User:admin');
  assert.match(secured['listener.name.broker.plain.sasl.jaas.config']!, /password="pw\\"x"/);
});

test('kafka settings: each role its own principal from the credentials file, or one for all, or none', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kafka-settings-'));
  try {
    const file = join(dir, 'credentials');
    const creds = ensureCredentials(file);
    const base = { KAFKA_CREDENTIALS_FILE: file };
    const cfg = loadSettings(base);
    assert.deepEqual(kafkaSaslFor(cfg, 'station'), {
      mechanism: 'scram-sha-512',
      username: 'station',
      password: creds.station,
    });
    assert.equal(kafkaSaslFor(cfg, 'admin')?.mechanism, 'plain');
    // KAFKA_PRINCIPAL: every client of the process acts as that principal (the tests').
    assert.equal(kafkaSaslFor(loadSettings({ ...base, KAFKA_PRINCIPAL: 'test' }), 'relay')?.username, 'test');
    // Explicit credentials stand for everything; the password may come from a file.
    writeFileSync(join(dir, 'pw'), 'from-a-file\n');
    const given = loadSettings({
      ...base,
      KAFKA_SASL_USERNAME: 'relay-7',
      KAFKA_SASL_PASSWORD_FILE: join(dir, 'pw'),
      KAFKA_SASL_MECHANISM: 'scram-sha-256',
    });
    assert.deepEqual(kafkaSaslFor(given, 'station'), {
      mechanism: 'scram-sha-256',
      username: 'relay-7',
      password: 'from-a-file',
    });
    // No credentials anywhere (an unauthenticated broker named by KAFKA_BROKERS): no SASL.
    assert.equal(kafkaSaslFor(loadSettings({ KAFKA_BROKERS: '127.0.0.1:1' }), 'api'), null);
    assert.throws(() => loadSettings({ KAFKA_SASL_USERNAME: 'x' }), /go together/);
    assert.throws(() => loadSettings({ KAFKA_PRINCIPAL: 'root' }), /KAFKA_PRINCIPAL=root must be one of/);
    assert.throws(() => loadSettings({ KAFKA_CREDENTIALS_FILE: join(dir, 'none') }), /cannot be read/);
    // A file without a principal loads; a client acting as that principal is refused by name.
    writeFileSync(join(dir, 'old'), 'admin=a\napi=b\n');
    const old = loadSettings({ KAFKA_CREDENTIALS_FILE: join(dir, 'old') });
    assert.equal(kafkaSaslFor(old, 'api')?.password, 'b');
    assert.throws(() => kafkaSaslFor(old, 'station-3'), /has no password for principal station-3/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kafka principals of the roles: the process client acts as its first role', () => {
  assert.equal(ROLE_PRINCIPAL.relay, 'relay');
  assert.equal(ROLE_PRINCIPAL.persister, 'persister');
  assert.equal(processPrincipal(['online', 'relay']), 'relay');
  assert.equal(processPrincipal(['maintenance']), 'maintenance');
  assert.equal(processPrincipal(['online', 'persister']), 'persister');
});
