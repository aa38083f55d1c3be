// Loaded into every test file's process by test/run.ts (`--import`). A file whose tests are done but
// whose process stays alive (a leaked socket, timer or child) used to hold the run until the 15-minute
// test timeout, with nothing in the output to say why: overload.test.ts did so once in CI
// (2026-12-03, both its tests passed), fault-kafka.test.ts once on a branch. Here, LEAK_GRACE_MS after
// the file's last test, a process still alive names what holds it (kinds, and the sockets' peers),
// appends that line to the run's leak log (test/run.ts prints it at the end) and exits with the tests'
// own outcome: a leak is reported, not turned into a pass or a failure of tests that passed.
import { appendFileSync } from 'node:fs';
import { relative } from 'node:path';
import { after } from 'node:test';
import { readTestEnv } from '../../lib/settings.ts';

// Counted from the start of the file's root `after` hooks (this one is registered first), so a file's own
// `after` (stopping a private broker) has this long too.
const LEAK_GRACE_MS = 60_000;

interface HandleLike {
  constructor?: { name?: string };
  remoteAddress?: string;
  remotePort?: number;
  localPort?: number;
  pid?: number;
  spawnfile?: string;
}

/** What keeps this process alive, in words: resource kinds with counts, and each socket's peer. */
export function describeActive(): string {
  const kinds = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  const detail: string[] = [];
  // process._getActiveHandles is undocumented but the only way to see a socket's peer or a child's pid.
  const handles =
    (process as unknown as { _getActiveHandles?: () => HandleLike[] })._getActiveHandles?.() ?? [];
  for (const h of handles) {
    if (h.remotePort !== undefined) detail.push(`socket to ${h.remoteAddress}:${h.remotePort}`);
    else if (h.pid !== undefined) detail.push(`child pid ${h.pid} (${h.spawnfile ?? '?'})`);
  }
  const summary = [...kinds].map(([k, n]) => `${k} x${n}`).join(', ');
  return detail.length ? `${summary}; ${detail.join(', ')}` : summary;
}

const env = readTestEnv();
if (env.inTestFile) {
  after(() => {
    setTimeout(() => {
      const file = relative(process.cwd(), process.argv[1] ?? '?');
      const line = `${file}: still running ${LEAK_GRACE_MS / 1000} s after its tests ended; held by ${describeActive()}`;
      console.error(`[leak] ${line}`);
      if (env.leakLog) appendFileSync(env.leakLog, `${line}\n`);
      process.exit(process.exitCode ?? 0);
    }, LEAK_GRACE_MS).unref();
  });
}
