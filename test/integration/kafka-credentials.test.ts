// Issue 13: `npm start`, `npm run backup` and `npm run restore` against the stack's secured broker with
// no Kafka credentials, or with a wrong password, stop at once with a message naming the settings that
// give credentials (VOICELOOP_STACK_DIR, KAFKA_CREDENTIALS_FILE, KAFKA_SASL_*), not with kafkajs's errors.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { envWith } from '../../lib/settings.ts';
import { serviceEnv, testSettings } from '../helpers/runtime.ts';

const root = join(import.meta.dirname, '..', '..');

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; err: string }> {
  // The runner's environment without any Kafka credentials it holds.
  const base = Object.fromEntries(
    Object.entries(envWith()).filter(([k]) => !/^KAFKA_(SASL_|CREDENTIALS_FILE|PRINCIPAL)/.test(k)),
  );
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
      cwd: root,
      env: { ...base, ...env, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, err });
    });
  });
}

const commands: [string, string[]][] = [
  ['npm start', ['bin/start.ts']],
  ['npm run backup', ['bin/backup.ts', '--out', '/nonexistent/voiceloop-backup']],
  ['npm run restore', ['bin/restore.ts', '--from', '/nonexistent/voiceloop-backup']],
];

test('issue 13: start, backup and restore without Kafka credentials, or with a wrong password, say which settings give them', async () => {
  const cfg = testSettings('creds');
  assert.ok(cfg.kafka.auth.principals, 'the tests run against the secured stack, with its credentials file');
  // The stack's addresses, under a prefix of the test's own; KAFKA_BROKERS given, so the stack's own
  // credentials file is not picked up either.
  const { KAFKA_CREDENTIALS_FILE: _, ...env } = serviceEnv(cfg);
  for (const [name, args] of commands) {
    const none = await run(args, env);
    assert.equal(none.code, 1, `${name}: ${none.err}`);
    assert.match(none.err, /asks for SASL authentication and this process has no Kafka credentials/, name);
    for (const setting of ['VOICELOOP_STACK_DIR', 'KAFKA_CREDENTIALS_FILE', 'KAFKA_SASL_USERNAME'])
      assert.ok(none.err.includes(setting), `${name} names ${setting}: ${none.err}`);
    assert.doesNotMatch(none.err, /KafkaJS|at .*node_modules/, `${name}: no kafkajs error or stack trace`);
  }
  const wrong = await run(commands[0]![1], {
    ...env,
    KAFKA_SASL_USERNAME: 'api',
    KAFKA_SASL_PASSWORD: 'not-the-password',
  });
  assert.equal(wrong.code, 1, wrong.err);
  assert.match(
    wrong.err,
    /refused the credentials of principal api \(from KAFKA_SASL_USERNAME\/KAFKA_SASL_PASSWORD\)/,
  );
  assert.ok(wrong.err.includes('VOICELOOP_STACK_DIR'), wrong.err);
});
