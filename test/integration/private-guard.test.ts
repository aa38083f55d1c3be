// The private test servers do not outlive a killed test: a process that started a private PostgreSQL
// and a private S3Proxy is SIGKILLed (no cleanup runs), and within a few seconds neither server, nor
// any process of PostgreSQL's group, nor either folder is left (test/helpers/privateProcess.ts
// guardServer).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { defer, waitFor } from '../helpers/runtime.ts';

const root = join(import.meta.dirname, '..', '..');

/** Runs: listed in /proc and not a zombie waiting to be reaped. */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};
const groupAlive = (pgid: number) => {
  try {
    execFileSync('pgrep', ['-g', String(pgid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

test('a test process SIGKILLed with private servers running leaves no server and no folder behind', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/privateServerChild.ts'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const started = await waitFor(
    'the child to start its servers',
    async () => {
      if (child.exitCode !== null) throw new Error(`the child exited with ${child.exitCode}`);
      const line = out.split('\n').find((l) => l.startsWith('{'));
      return line
        ? (JSON.parse(line) as { servers: { name: string; pid: number; dir: string }[] })
        : undefined;
    },
    180_000,
    200,
  );
  const servers = started.servers;
  // Should this test fail, its servers still go.
  defer(t, () => {
    for (const s of servers) if (alive(s.pid)) process.kill(s.pid, 'SIGKILL');
  });
  for (const s of servers) {
    assert.ok(alive(s.pid), `${s.name} runs`);
    assert.ok(existsSync(s.dir), `${s.name}'s folder exists`);
  }

  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  const killedAt = Date.now();
  await waitFor(
    'every server and folder gone',
    async () => servers.every((s) => !alive(s.pid) && !existsSync(s.dir)) && !groupAlive(servers[0]!.pid),
    15_000,
    200,
  );
  console.log(`servers and folders gone ${Date.now() - killedAt} ms after the test process was killed`);
});
