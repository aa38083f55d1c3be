// The webhooks' pure rules: which URLs a subscription may name, the signature a receiver recomputes,
// and the retry schedule.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { sign, verify } from '../../../webhooks/sign.ts';
import { isPublicAddress, urlProblems } from '../../../webhooks/url.ts';
import { retryDelay } from '../../../webhooks/worker.ts';

test('subscription URLs: http(s) to public hosts only, unless private networks are allowed', () => {
  assert.deepEqual(urlProblems('https://hooks.example.com/voiceloop', false), []);
  for (const bad of [
    'http://127.0.0.1:8080/',
    'http://localhost/',
    'http://169.254.169.254/latest/meta-data',
    'http://10.1.2.3/',
    'http://192.168.0.1/',
    'http://[::1]/',
    'http://[fd00::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://intranet/',
  ])
    assert.ok(urlProblems(bad, false).length > 0, `${bad} accepted`);
  assert.deepEqual(urlProblems('http://127.0.0.1:8080/hook', true), []);
  assert.match(urlProblems('ftp://example.com/', true)[0]!, /not http or https/);
  assert.match(urlProblems('https://user:pw@example.com/', true)[0]!, /credentials/);
  assert.match(urlProblems('not a url', true)[0]!, /absolute http or https URL/);
  assert.match(urlProblems(`https://example.com/${'a'.repeat(3000)}`, true)[0]!, /at most 2048/);
});

test('public addresses', () => {
  for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700::1111']) assert.ok(isPublicAddress(a), a);
  for (const a of ['0.0.0.0', '100.64.0.1', '172.16.5.4', '224.0.0.1', 'fe80::1', '::', 'not-an-ip'])
    assert.ok(!isPublicAddress(a), a);
});

test('the signature is HMAC-SHA256 over "<timestamp>.<body>", checked in constant time with an age limit', () => {
  const body = '{"id":"e1"}';
  const ts = 1_700_000_000;
  const expected = `v1=${createHmac('sha256', 'k').update(`${ts}.${body}`).digest('hex')}`;
  assert.equal(sign('k', ts, body), expected);
  const now = ts * 1000;
  assert.ok(verify('k', String(ts), body, expected, now));
  assert.ok(!verify('k', String(ts), `${body} `, expected, now), 'a changed body');
  assert.ok(!verify('other', String(ts), body, expected, now), 'another secret');
  assert.ok(!verify('k', String(ts + 1), body, expected, now), 'another timestamp');
  assert.ok(!verify('k', String(ts), body, expected, now + 301_000), 'too old');
  assert.ok(!verify('k', undefined, body, expected, now));
});

test('retry delays double from the base, with jitter in [half, full], capped', () => {
  assert.equal(
    retryDelay(1, 1000, 60_000, () => 1),
    1000,
  );
  assert.equal(
    retryDelay(3, 1000, 60_000, () => 1),
    4000,
  );
  assert.equal(
    retryDelay(3, 1000, 60_000, () => 0),
    2000,
  );
  assert.equal(
    retryDelay(30, 1000, 60_000, () => 1),
    60_000,
  );
});
