// A service that loses the race for its port at start (another process holds it for a moment, as an
// outgoing connection's ephemeral local port once held s3proxy's 39000 in CI) is launched again; one
// whose port stays taken fails after the retries, naming the bind error. Real processes, real sockets.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { host } from '../../../stack/layout.ts';
import { portOpen, stop } from '../../../stack/proc.ts';
import { BIND_RETRIES, ensureService, pidFileOf, runningPid, type Service } from '../../../stack/service.ts';

// Listens on the port given, answers, and exits (as servers do) when the port is taken.
const serverScript = `
const net = require('node:net');
const port = process.argv[1];
net.createServer((s) => s.end()).on('error', (e) => { console.error('listen failed: ' + e.message); process.exit(1); })
  .listen(Number(port), ${JSON.stringify(host)}, () => console.log('listening on ' + port));
`;

// Holds a port the way an outgoing connection does: bound, not listening, so nothing answers there
// and a server's bind fails with EADDRINUSE. (Node binds its own client sockets with SO_REUSEADDR,
// which a listening server may share, so the holder is a plain socket in Python, as on this machine.)
interface Holder {
  port: number;
  release(): void;
}

function holdPort(): Promise<Holder> {
  const script =
    'import socket,sys\ns=socket.socket()\ns.bind((sys.argv[1],0))\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()';
  const child = spawn('python3', ['-c', script, host], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', (d: Buffer) =>
      resolve({ port: Number(String(d).trim()), release: () => child.kill() }),
    );
  });
}

function testService(port: number, dir: string): Service {
  const marker = `voiceloop-bind-retry-test-${process.pid}-${port}`;
  return {
    name: marker,
    port,
    program: basename(process.execPath),
    marker,
    logFile: join(dir, 'server.log'),
    startTimeoutMs: 10_000,
    stopSignal: 'SIGTERM',
    stopTimeoutMs: 2_000,
    prepare: async () => {},
    command: () => ({
      command: process.execPath,
      args: ['-e', serverScript, String(port), marker],
      cwd: dir,
    }),
    answers: () => portOpen(host, port, 500),
    ready: () => portOpen(host, port, 500),
  };
}

async function withService(fn: (svc: Service, holder: Holder) => Promise<void>): Promise<void> {
  const holder = await holdPort();
  const dir = mkdtempSync(join(tmpdir(), 'bind-retry-'));
  const svc = testService(holder.port, dir);
  try {
    await fn(svc, holder);
  } finally {
    holder.release();
    const pid = runningPid(svc);
    if (pid !== undefined) await stop(pid, svc, svc.stopSignal, svc.stopTimeoutMs);
    rmSync(pidFileOf(svc), { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

const launches = (svc: Service) => readFileSync(svc.logFile, 'utf8').split('starting: ').length - 1;

test('a server whose port is taken for a moment at start is launched again and comes up', async () => {
  await withService(async (svc, holder) => {
    const lines: string[] = [];
    // The port is freed once the first launch has failed on it; the relaunch a second later binds.
    await ensureService(svc, (line) => {
      lines.push(line);
      if (line.includes('launching it again')) holder.release();
    });
    assert.ok(await portOpen(host, svc.port), 'the relaunched server answers');
    assert.ok(runningPid(svc) !== undefined, 'and is ours');
    assert.equal(launches(svc), 2, lines.join('\n'));
    const retry = lines.find((l) => l.includes('launching it again'));
    assert.ok(retry, lines.join('\n'));
    assert.match(retry, /EADDRINUSE/);
    assert.match(retry, /attempt 2 of 3/);
  });
});

test('a port that stays taken fails the start after the retries, with the bind error', async () => {
  await withService(async (svc) => {
    const lines: string[] = [];
    await assert.rejects(
      ensureService(svc, (line) => lines.push(line)),
      (err: Error) => {
        assert.equal(err.name, 'StartError');
        assert.match(err.message, /exited while starting/);
        assert.match(err.message, /EADDRINUSE/);
        return true;
      },
    );
    assert.equal(launches(svc), BIND_RETRIES + 1, lines.join('\n'));
  });
});

test('a server that crashes at start for another reason is not launched again', async () => {
  await withService(async (svc, holder) => {
    holder.release();
    const crashing: Service = {
      ...svc,
      command: () => ({ ...svc.command(), args: ['-e', 'process.exit(3)', String(svc.port), svc.marker] }),
    };
    await assert.rejects(
      ensureService(crashing, () => {}),
      /exited while starting/,
    );
    assert.equal(launches(svc), 1);
  });
});
