// Issue 9, "a valid contract": a bounded schemathesis run (PyPI, installed into the project's venv by
// stack/python.ts) against the live API on a real port, backed by the real stack. Property-based inputs
// derived from /openapi.json must never produce a 5xx or a response that violates the document.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EVENTS_OPERATION_ID } from '../../api/routes/changes.ts';
import { envWith, readTestEnv } from '../../lib/settings.ts';
import { startApp } from '../../runtime/app.ts';
import { ensurePython } from '../../stack/python.ts';
import { cleanupTopics, defer, testSettings, token, uniqueId } from '../helpers/runtime.ts';

const SCHEMATHESIS = 'schemathesis==4.32.5';

function run(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    // Its cache (.schemathesis/, .hypothesis/) goes to a scratch dir, not the checkout.
    const cwd = mkdtempSync(join(tmpdir(), 'voiceloop-fuzz-'));
    const p = spawn(cmd, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: envWith({ NO_COLOR: '1' }),
    });
    p.on('close', () => rmSync(cwd, { recursive: true, force: true }));
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out }));
  });
}

test('schemathesis finds no server error and no schema violation in a bounded run', async (t) => {
  const bin = await ensurePython([SCHEMATHESIS], (s) => console.log(`[python] ${s}`));
  const cfg = testSettings('fuzz', { PORT: '0' });
  cleanupTopics(t, cfg);
  const app = await startApp(cfg, ['api', 'relay'], { listen: true });
  defer(t, () => app.stop());
  const tenant = uniqueId('tn');
  const { code, out } = await run(`${bin}/st`, [
    'run',
    `${app.url}/openapi.json`,
    '--checks',
    'not_a_server_error,response_schema_conformance,content_type_conformance',
    // GET /v1/events is a server-sent event stream that never ends: a request to it could only time out,
    // which schemathesis reports as a failure. It is in the document (text/event-stream, its events
    // described); the console's browser test checks that a change arrives on it live.
    '--exclude-operation-id',
    EVENTS_OPERATION_ID,
    '--phases',
    'examples,coverage,fuzzing',
    '--max-examples',
    String(readTestEnv().fuzzExamples),
    // One worker: CPython 3.11's ast.parse is not thread-safe ("AST constructor recursion depth
    // mismatch" inside hypothesis, seen on a fresh clone), and that crash is the tool's, not the API's.
    '--workers',
    '1',
    '--request-timeout',
    '10',
    '--seed',
    '9',
    '--suppress-health-check',
    'all',
    '--warnings',
    'off',
    '-H',
    `Authorization: ${token(cfg, 'operator', tenant)}`,
  ]);
  console.log(out.split('\n').slice(-40).join('\n'));
  assert.equal(code, 0, `schemathesis reported failures:\n${out.slice(-6000)}`);
});
